"""Names and numbers as the notations write them.

- the name syntax that every reader and printer shares: a plain name is a letter followed by
  letters or digits; anything else is written in backquotes; `RESERVED_NAMES` are never tensors;
- `format_number`: the one number formatter (coefficients, exponents, sizes in drawings);
- `format_positions`: 1-based positions as the bracket notation writes them (``12``, ``{10,11}``);
- `NameTable`: the unique printed name of every leaf (and named sub-expression) of an
  expression, and `leaves`, the table as a dict for ``parse(e.to_bracket(), **leaves(e))``;
  with ``share=True`` it also names the shared sub-expressions of an expression too large to
  write out (`SHARE_LIMIT`), which the printers then write once each, as definitions."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

import numpy as np

from ..expr import Constant, Delta, Expr, Leaf, Ones, Variable, Zero, walk
from ..functions import registered
from ..network import einsum_letters

__all__ = [
    "RESERVED_NAMES",
    "NameTable",
    "Names",
    "bind",
    "format_number",
    "format_positions",
    "index_letters",
    "is_name_char",
    "is_name_start",
    "is_plain_name",
    "latex_escape",
    "latex_name",
    "leaves",
    "quote",
]

#: Names the notation reserves: ``I`` is the identity (Delta) tensor; ``pow{p}`` is x**p.
RESERVED_NAMES = frozenset({"I", "pow"})

#: sub-expressions printed as names, e.g. ``{softmax(x): "s"}``
Names = Mapping[Expr, str]

#: An expression whose text, with every shared sub-expression written out at each of its uses,
#: would hold more node occurrences than this is printed with definitions (``t1 = ...`` lines,
#: then the expression): the gradient of an L-layer net written out holds about L^3 of them
#: (62 million characters at L = 200), written with definitions about 30 L.
SHARE_LIMIT = 5000
#: shared sub-expressions of at most this many node occurrences are written out at each use
_SMALL = 4

DIGITS = "0123456789"


def is_name_start(ch: str) -> bool:
    return ch.isalpha()


def is_name_char(ch: str) -> bool:
    return ch.isalpha() or ch in DIGITS


def is_plain_name(name: str) -> bool:
    """A name that the notation can write without backquotes: a letter, then letters or digits."""
    return bool(name) and is_name_start(name[0]) and all(is_name_char(ch) for ch in name)


def quote(name: str) -> str:
    """A name as the ASCII notations write it: bare, or in backquotes when it is not a plain name
    or could be read as something else (I, a function name)."""
    if is_plain_name(name) and name not in RESERVED_NAMES and name not in registered():
        return name
    return f"`{name}`"


_LATEX_ESCAPES = {ch: "\\" + ch for ch in "#$%&_{}"} | {"\\": r"\backslash ", "~": r"\sim ", "^": r"\wedge "}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def latex_name(name: str) -> str:
    return name if is_plain_name(name) else r"\text{" + latex_escape(name) + "}"


# ---------------------------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------------------------
def _exact(x: float) -> str:
    """A real number that reads back to the same float: 2, -0.5, 0.1, 1e+20."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "1e999" if x > 0 else "-1e999"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def _short(x: float) -> str:
    """A real number for the eye: 6 significant digits, a fraction where that is shorter and
    exact (-1/6, 2/3)."""
    text = f"{x:g}"
    if len(text.lstrip("-").replace(".", "").lstrip("0")) > 4 and math.isfinite(x):
        fraction = Fraction(x).limit_denominator(100)
        if fraction.denominator > 1 and abs(float(fraction) - x) <= 1e-12 * max(1.0, abs(x)):
            return f"{fraction.numerator}/{fraction.denominator}"
    return text


def format_number(x: Any, style: str = "exact") -> str:
    """A coefficient or an exponent as text, in one of three styles.

    - ``"exact"`` (bracket and matrix notation, read back by the readers): ``2``, ``-0.5``,
      ``0.1``, ``1e+20``; a complex number as ``(1+2j)``;
    - ``"latex"``: the same, with ``\\frac{1}{3}`` where a short fraction is exact;
    - ``"short"`` (drawings): 6 significant digits, ``-1/6`` where the decimal would be long,
      a complex number as ``(1+2j)``."""
    if style not in ("exact", "latex", "short"):
        raise ValueError(f"format_number: unknown style {style!r} (exact, latex or short)")
    if isinstance(x, complex):
        if x.imag == 0 and style == "short":
            return _short(x.real)
        if style == "short":
            return f"({x.real:g}{x.imag:+g}j)"
        return "(" + repr(x).strip("()") + ")"
    x = float(x)
    if style == "short":
        return _short(x)
    if style == "latex" and math.isfinite(x) and x != int(x):
        f = Fraction(x).limit_denominator(1000)
        if f.denominator != 1 and abs(float(f) - x) <= 1e-12 * abs(x):
            return rf"\frac{{{f.numerator}}}{{{f.denominator}}}"
    return _exact(x)


def format_positions(positions: Sequence[int]) -> str:
    """1-based positions as a portion writes them: digits (``12``) or ``{10,11}``."""
    if positions and all(p <= 9 for p in positions):
        return "".join(map(str, positions))
    return "{" + ",".join(map(str, positions)) + "}"


def index_letters(count: int) -> list[str]:
    """Index names for index notation, the paper's order (i, j, k, ...; then upper case), and
    ``{e52}``-style long names past the 52 letters."""
    letters = einsum_letters(52)
    lower, upper = letters[:26], letters[26:]
    alphabet = lower[8:] + lower[:8] + upper[8:] + upper[:8]
    return [alphabet[k] if k < len(alphabet) else f"{{e{k}}}" for k in range(count)]


def bind(tensors: Mapping[str, Any], caller: str) -> dict[str, Expr]:
    """The names a reader knows: tnet expressions as given, numeric arrays as
    `Constant(name, array)`."""
    out: dict[str, Expr] = {}
    for name, value in tensors.items():
        if isinstance(value, Expr):
            out[name] = value
            continue
        arr = np.asarray(value)
        if arr.dtype.kind not in "biufc":
            raise TypeError(
                f"{caller}: {name} must be a tnet expression or a numeric array, got {type(value).__name__}"
            )
        out[name] = Constant(name, arr)
    return out


# ---------------------------------------------------------------------------------------------
# the printed names of an expression's leaves
# ---------------------------------------------------------------------------------------------
class NameTable:
    """A unique printed name for every named leaf (and every sub-expression the caller names).

    `of[e]` is the name of e, `leaves[name]` the expression, `fixed` the sub-expressions
    named by the caller (printed by name, not expanded). With `share`, `defined` lists the
    shared sub-expressions named here because the whole would be too large to write out
    (children before parents; they are in `of` and `fixed` too, not in `leaves`)."""

    def __init__(self, roots: Sequence[Expr], names: Names | None = None, share: bool = False) -> None:
        self.of: dict[Expr, str] = {}
        self.leaves: dict[str, Expr] = {}
        self.fixed: set[Expr] = set()
        self.defined: list[Expr] = []
        for expr, name in (names or {}).items():
            if not isinstance(expr, Expr) or not isinstance(name, str) or not name:
                raise TypeError("names maps tnet expressions to non-empty str names")
            self._claim(expr, name)
            self.fixed.add(expr)
        seen: set[Expr] = set()
        stack = list(reversed(list(roots)))
        while stack:
            e = stack.pop()
            if e in seen:
                continue
            seen.add(e)
            if e in self.fixed:
                continue
            if isinstance(e, Leaf) and not isinstance(e, (Delta, Ones, Zero)):
                self._claim(e, (e.name if isinstance(e, (Variable, Constant)) else "") or e.label)
            stack.extend(reversed(e.children))
        if share:
            self._name_shared(roots)

    def _name_shared(self, roots: Sequence[Expr]) -> None:
        """Name t1, t2, ... (another letter if a leaf is called so) every sub-expression used
        twice or more and larger than `_SMALL`, when the roots written out would exceed
        `SHARE_LIMIT`: then every other sub-expression is written once, or is small."""
        order = walk(roots, within=lambda x: x not in self.fixed)
        size: dict[Expr, int] = {}
        uses: dict[Expr, int] = {}
        for e in order:
            below = e in self.fixed or isinstance(e, Leaf)
            size[e] = 1 + (0 if below else sum(size[c] for c in e.children))
            if not below:
                for c in e.children:
                    uses[c] = uses.get(c, 0) + 1
        if sum(size[r] for r in roots) <= SHARE_LIMIT:
            return
        letter = next((p for p in "tuvwpqrs" if not any(_numbered(name, p) for name in self.leaves)), "t")
        number = 0
        for e in order:
            if uses.get(e, 0) > 1 and size[e] > _SMALL and e not in self.fixed:
                number += 1
                while f"{letter}{number}" in self.leaves:
                    number += 1
                self.defined.append(e)
                self.of[e] = f"{letter}{number}"
                self.fixed.add(e)

    @contextmanager
    def written_out(self, e: Expr) -> Iterator[str]:
        """While it lasts, e (a shared sub-expression) is no name, so that a printer writes its
        definition; yields its name."""
        name = self.of.pop(e)
        self.fixed.discard(e)
        try:
            yield name
        finally:
            self.of[e] = name
            self.fixed.add(e)

    def _claim(self, e: Expr, base: str) -> None:
        base = " ".join(base.replace("`", "'").split()) or "?"
        name, k = base, 2
        while (name in self.leaves and self.leaves[name] is not e) or name == "I":  # unquoted I is the identity
            name, k = f"{base}#{k}", k + 1
        self.leaves[name] = e
        self.of[e] = name


def _numbered(name: str, letter: str) -> bool:
    return name.startswith(letter) and name[1:].isdigit()


def leaves(e: Expr | Sequence[Expr], names: Names | None = None) -> dict[str, Expr]:
    """The names the printers give to the leaves of `e` (and to the sub-expressions named in
    `names`), mapped to those expressions: ``parse(e.to_bracket(), **leaves(e))`` is e."""
    roots = [e] if isinstance(e, Expr) else list(e)
    return dict(NameTable(roots, names).leaves)
