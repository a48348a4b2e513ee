"""MathML out: `to_mathml(e, notation)` typesets an expression as presentation MathML, which
browsers render natively (nothing is fetched), in matrix notation (what `to_matrix` prints) or in
the paper's bracket notation (what `to_latex` prints).

Both printed forms are linear texts of names, numbers, operators, groups and scripts, so one
small translator turns either into MathML: a name is `<mi>`, a number `<mn>`, an operator `<mo>`;
``^x`` and ``_x`` attach a superscript or subscript to what precedes them (``^T``, ``^-1``,
``^⊙0.5`` and ``softmax^1`` in matrix notation, ``^{...}`` and ``_{...}`` in LaTeX);
``\\overline{...}`` is a bar, ``\\frac{a}{b}`` a fraction, ``\\mathbf{1}`` a bold one; in matrix
notation ``1{n}`` and ``I{n}`` write their size as a subscript."""

from __future__ import annotations

from html import escape

from ..expr import Expr
from .bracket_out import to_latex
from .matrix_out import to_matrix
from .names import Names

__all__ = ["latex_to_mathml", "matrix_to_mathml", "to_mathml"]

#: LaTeX commands tnet prints that stand for one operator or name
_SYMBOLS = {
    "odot": ("mo", "⊙"),
    "oslash": ("mo", "⊘"),
    "otimes": ("mo", "⊗"),
    "cdot": ("mo", "·"),
    "mid": ("mo", "|"),
    "left": ("", ""),
    "right": ("", ""),
    "delta": ("mi", "δ"),
    "infty": ("mi", "∞"),
}
_FUNCTIONS = frozenset({"tanh", "exp", "log", "sin", "cos", "det", "tr"})
_OPERATORS = "+-⊙⊘·|,=<>~"
_FENCES = "()[]"


class _Translator:
    """A cursor over a printed formula that emits MathML elements; `latex` chooses how braces
    and backslashes read."""

    def __init__(self, text: str, latex: bool) -> None:
        self.text, self.latex = text, latex
        self.pos = 0
        self.n = len(text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.n else ""

    def row(self, stop: str = "") -> str:
        """Elements up to the closing character `stop` (consumed) or the end, as one <mrow>."""
        items: list[str] = []
        while self.pos < self.n:
            ch = self.peek()
            if stop and ch == stop:
                self.pos += 1
                break
            if ch.isspace():
                run = self.pos
                while self.peek().isspace():
                    self.pos += 1
                if self.pos - run >= 2:  # a wide gap, as between the parts of a formula
                    items.append('<mspace width="1em"/>')
            elif ch in "^_" and items:
                self.pos += 1
                items[-1] = self.script(items[-1], "msup" if ch == "^" else "msub")
            elif ch == "{" and items and not self.latex:  # 1{n}, I{n,k}, pow{p}: the size as a subscript
                self.pos += 1
                items[-1] = f"<msub>{items[-1]}{self.row('}')}</msub>"
            else:
                items.append(self.item())
        return "<mrow>" + "".join(items) + "</mrow>"

    def script(self, base: str, tag: str) -> str:
        """The argument of ^ or _ after `base`: a braced group, or one token (with a leading
        sign, and ⊙ before an exponent, as matrix notation writes them)."""
        if self.peek() == "{":
            self.pos += 1
            return f"<{tag}>{base}{self.row('}')}</{tag}>"
        parts = []
        while self.peek() in ("-", "+", "⊙") and self.peek():
            parts.append(f"<mo>{escape('−' if self.peek() == '-' else self.peek())}</mo>")
            self.pos += 1
        parts.append(self.item())
        return f"<{tag}>{base}<mrow>{''.join(parts)}</mrow></{tag}>"

    def item(self) -> str:
        """One element at the position (consumed)."""
        ch = self.peek()
        start = self.pos
        if ch == "{":
            self.pos += 1
            return self.row("}")
        if ch == "\\":
            return self.command()
        if ch.isdigit() or (ch == "." and self.text[self.pos + 1 : self.pos + 2].isdigit()):
            while self.peek() and (self.peek().isdigit() or self.peek() == "."):
                self.pos += 1
            if self.peek() in ("e", "E") and self.text[self.pos + 1 : self.pos + 2] in ("+", "-"):
                self.pos += 2
                while self.peek().isdigit():
                    self.pos += 1
            if self.peek() == "j":
                self.pos += 1
            return f"<mn>{escape(self.text[start : self.pos])}</mn>"
        if ch.isalpha():
            while self.peek() and (self.peek().isalnum() or self.peek() in "_") and not (self.peek() == "_"):
                self.pos += 1
            name = self.text[start : self.pos]
            return f"<mi>{escape(name)}</mi>"
        if ch == "`":
            close = self.text.find("`", self.pos + 1)
            close = self.n - 1 if close == -1 else close
            self.pos = close + 1
            return f"<mi>{escape(self.text[start + 1 : close])}</mi>"
        if ch == '"':
            close = self.text.find('"', self.pos + 1)
            close = self.n - 1 if close == -1 else close
            self.pos = close + 1
            return f"<ms>{escape(self.text[start + 1 : close])}</ms>"
        self.pos += 1
        if ch in _FENCES:
            return f'<mo fence="true" stretchy="false">{escape(ch)}</mo>'
        if ch in _OPERATORS:
            return f"<mo>{escape('−' if ch == '-' else ch)}</mo>"
        return f"<mo>{escape(ch)}</mo>"

    def command(self) -> str:
        """A LaTeX command at the position (consumed)."""
        self.pos += 1
        start = self.pos
        while self.peek().isalpha():
            self.pos += 1
        name = self.text[start : self.pos]
        if not name:  # \{ \} \_ \\ and the like: the character itself
            ch = self.peek()
            self.pos += 1
            return f"<mo>{escape(ch)}</mo>" if ch in "{}|" else f"<mi>{escape(ch)}</mi>"
        if name == "overline":
            return f'<mover accent="true">{self.item()}<mo>‾</mo></mover>'
        if name == "frac":
            return f"<mfrac>{self.item()}{self.item()}</mfrac>"
        if name == "mathbf":
            return f'<mstyle mathvariant="bold">{self.item()}</mstyle>'
        if name in ("operatorname", "text", "mathrm"):
            inner = self.group_text()
            return f"<mi>{escape(inner)}</mi>"
        if name in _FUNCTIONS:
            return f"<mi>{name}</mi>"
        tag, text = _SYMBOLS.get(name, ("mi", name))
        return f"<{tag}>{escape(text)}</{tag}>" if tag else ""

    def group_text(self) -> str:
        """The raw text of a braced group (consumed), LaTeX escapes removed."""
        if self.peek() != "{":
            return ""
        depth, start = 0, self.pos
        while self.pos < self.n:
            ch = self.peek()
            self.pos += 1
            if ch == "\\":
                self.pos += 1
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    break
        inner = self.text[start + 1 : self.pos - 1]
        return inner.replace("\\", "")


def _math(row: str, display: bool) -> str:
    mode = ' display="block"' if display else ""
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML"{mode}>{row}</math>'


def _lines(texts: list[str], latex: bool) -> str:
    """One row, or a table of left-aligned rows: the definitions of a large expression's shared
    sub-expressions, then the expression."""
    rows = [_Translator(text, latex=latex).row() for text in texts]
    if len(rows) == 1:
        return rows[0]
    return '<mtable columnalign="left">' + "".join(f"<mtr><mtd>{r}</mtd></mtr>" for r in rows) + "</mtable>"


def matrix_to_mathml(text: str, display: bool = True) -> str:
    """A formula in matrix notation (as `to_matrix` prints it) as a <math> element; a text of
    several lines (definitions, then the formula) as a table of rows."""
    return _math(_lines(text.split("\n"), latex=False), display)


def latex_to_mathml(text: str, display: bool = True) -> str:
    """A formula in the LaTeX that `to_latex` prints as a <math> element; lines that end with
    ``\\\\`` (definitions, then the formula) as a table of rows."""
    return _math(_lines(text.split(" \\\\\n"), latex=True), display)


def to_mathml(e: Expr, notation: str = "matrix", names: Names | None = None, display: bool = True) -> str:
    """The expression as presentation MathML: ``notation="matrix"`` (as `to_matrix` prints it)
    or ``"bracket"`` (the paper's bracket notation, as `to_latex` prints it)."""
    if notation == "matrix":
        return matrix_to_mathml(to_matrix(e, names=names), display)
    if notation == "bracket":
        return latex_to_mathml(to_latex(e, names=names), display)
    raise ValueError(f"to_mathml: unknown notation {notation!r} (matrix or bracket)")
