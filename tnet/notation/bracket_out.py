"""Bracket notation out, in ASCII (`to_bracket`, read back by `parse`) and in the paper's LaTeX
look (`to_latex`).

One printer lays out every product term (an edge with several legs is a fused group ``[...]``,
a summed edge carries a bar, the output dimensions come in order); a style (`ASCII` or `LATEX`)
decides how each piece is written."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from ..expr import Apply, Call, Delta, Expr, Ones, Zero, walk
from ..functions import Function, PowerFunction, registered
from ..network import Network, as_terms
from .names import Names, NameTable, format_number, format_positions, index_letters, latex_escape, latex_name, quote

__all__ = ["ASCII", "LATEX", "to_bracket", "to_latex"]


class _Ascii:
    """How the ASCII bracket notation writes each piece (what `parse` reads back)."""

    imaginary = "j"
    scalar_one = "1.0"  # a bare 1 is the all-ones vector
    index_bar = " | "
    line_break = "\n"  # between the definitions of shared sub-expressions and the expression

    def number(self, x: float) -> str:
        return format_number(x)

    def name(self, name: str) -> str:
        return quote(name)

    def zero(self, shape: Sequence[Any]) -> str:
        return "0 " + " ".join(f"1{{{s}}}" for s in shape) if shape else "0"

    def subexpression(self, inner: str) -> str:
        return f"({inner})"

    def function(self, fn: Function, axes: tuple[int, ...], caret: str | None, arg: str, arg_named: bool) -> str:
        """f^P(arg) for P = `axes`; `caret` is P as written after ^, None when not shown."""
        shown = "" if caret is None else "^" + caret
        if isinstance(fn, PowerFunction):
            return f"pow{{{format_number(fn.exponent)}}}{shown}({arg})"
        return f"{fn.name}{shown}({arg})"

    def ones(self, size: Any, bare: bool) -> str:
        return "1" if bare else f"1{{{size}}}"

    def delta(self, size: Any, order: int, bare: bool) -> str:
        if bare:
            return "I"
        return f"I{{{size}}}" if order == 2 else f"I{{{size},{order}}}"

    def portion(self, text: str, positions: Sequence[int]) -> str:
        return text + "_" + (format_positions(positions) if positions else "{}")

    def bar(self, text: str) -> str:
        return "~" + text

    def indexed(self, text: str, indices: str) -> str:
        return text + ("_" + indices if indices else "")


class _Latex(_Ascii):
    """The paper's look: \\overline for bars, subscripts, \\mathbf{1}, X^{-1}, \\frac{1}{2}."""

    imaginary = "i"
    scalar_one = "1"
    index_bar = r" \mid "
    line_break = " \\\\\n"
    functions = frozenset({"tanh", "exp", "log", "sin", "cos", "det"})  # LaTeX has a command for them

    def number(self, x: float) -> str:
        return format_number(x, "latex")

    def name(self, name: str) -> str:
        return latex_name(name)

    def zero(self, shape: Sequence[Any]) -> str:
        return "0"

    def subexpression(self, inner: str) -> str:
        return rf"\left({inner}\right)"

    def function(self, fn: Function, axes: tuple[int, ...], caret: str | None, arg: str, arg_named: bool) -> str:
        shown = "" if caret is None else "^{" + caret.strip("{}") + "}"
        if fn.name == "inv" and registered().get("inv") is fn and not axes:
            return f"{arg}^{{-1}}" if arg_named else rf"\left({arg}\right)^{{-1}}"
        if isinstance(fn, PowerFunction):
            p = format_number(fn.exponent)
            if caret is not None:
                return rf"\operatorname{{pow}}_{{{p}}}{shown}({arg})"
            return rf"{{({arg})}}^{{\odot {p}}}"
        name = "\\" + fn.name if fn.name in self.functions else rf"\operatorname{{{latex_escape(fn.name)}}}"
        return rf"{name}{shown}({arg})"

    def ones(self, size: Any, bare: bool) -> str:
        return r"\mathbf{1}"

    def delta(self, size: Any, order: int, bare: bool) -> str:
        return "I" if order == 2 else r"\delta"

    def portion(self, text: str, positions: Sequence[int]) -> str:
        return text + ("_{" + format_positions(positions).strip("{}") + "}" if positions else "")

    def bar(self, text: str) -> str:
        return r"\overline{" + text + "}"

    def indexed(self, text: str, indices: str) -> str:
        return text + ("_{" + indices + "}" if indices else "")


ASCII = _Ascii()
LATEX = _Latex()


class _Occ:
    """One node occurrence as printed: its atom text, dimensions and legs."""

    __slots__ = ("kind", "text", "ndim", "legs", "size", "order", "needs_portion")

    def __init__(self, kind: str, text: str, ndim: int, legs: tuple, needs_portion: bool = False) -> None:
        self.kind = kind  # "tensor", "ones" or "delta"
        self.text = text  # for 1 and I: decided per term by reserved_texts
        self.ndim = ndim
        self.legs = legs
        self.needs_portion = needs_portion  # a sub-expression always shows its portion
        self.size: Any = None
        self.order = 2


class _Portion:
    __slots__ = ("occ", "positions", "barred")

    def __init__(self, occ: int, positions: list[int], barred: bool = False) -> None:
        self.occ = occ
        self.positions = positions
        self.barred = barred


class _Bracket:
    __slots__ = ("members",)

    def __init__(self, members: list[_Portion]) -> None:
        self.members = members

    def occs(self) -> list[int]:
        return [m.occ for m in self.members]


def _item_occs(item: _Portion | _Bracket) -> set[int]:
    return {item.occ} if isinstance(item, _Portion) else set(item.occs())


class _BracketPrinter:
    """Bracket notation of any expression: sums of product terms with coefficients, each term
    printed from its network (an edge with several legs is a fused group, a summed edge carries
    a bar), functions applied to arguments, nested sums and products as sub-expressions."""

    def __init__(self, names: NameTable, style: _Ascii) -> None:
        self.names = names
        self.style = style
        self.memo: dict[Expr, str] = {}

    # -- expressions -------------------------------------------------------------------------
    def definition(self, d: Expr) -> str:
        """``name = text``: the definition of a sub-expression the name table shares (its own
        text written out, not its name); from then on d is printed as its name."""
        fixed = self.names.fixed
        with self.names.written_out(d) as name:
            for sub in walk([d], within=lambda x: x not in fixed)[:-1]:
                self.expr(sub)
            return f"{self.style.name(name)} = {self._expr(d)}"

    def top(self, e: Expr) -> str:
        """The text of e. Its sub-expressions are printed first, children before parents, so
        that printing any one of them finds its children's text in `memo`: the printer never
        recurses deeper than one expression, however deep the graph. What lies below a
        sub-expression the caller named is not printed."""
        fixed = self.names.fixed
        for sub in walk([e], within=lambda x: x not in fixed):
            self.expr(sub)
        return self.expr(e)

    def expr(self, e: Expr) -> str:
        text = self.memo.get(e)
        if text is None:
            text = self._expr(e)
            self.memo[e] = text
        return text

    def _expr(self, e: Expr) -> str:
        style = self.style
        if e in self.names.fixed:
            return style.name(self.names.of[e])
        if isinstance(e, Zero):
            return style.zero(e.shape)
        parts: list[tuple[float, bool, str]] = []  # (real coefficient, imaginary?, product)
        for c, net in as_terms(e):
            body = self.product(net)
            if isinstance(c, complex):
                if c.real:
                    parts.append((c.real, False, body))
                if c.imag:
                    parts.append((c.imag, True, body))
            else:
                parts.append((c, False, body))
        if not parts:
            return style.zero(e.shape)
        out = []
        for k, (c, imaginary, body) in enumerate(parts):
            mag = abs(c)
            if imaginary:
                coef = style.number(mag) + style.imaginary
            elif mag == 1:
                coef = "" if body else style.scalar_one
            else:
                coef = style.number(mag)
            piece = coef + (" " if coef and body else "") + body
            if k == 0:
                out.append(("-" if c < 0 else "") + piece)
            else:
                out.append((" - " if c < 0 else " + ") + piece)
        return "".join(out)

    # -- atoms ---------------------------------------------------------------------------------
    def occurrence(self, node: Expr, legs: tuple) -> _Occ:
        if node in self.names.of:
            return _Occ("tensor", self.style.name(self.names.of[node]), node.ndim, legs)
        if isinstance(node, Delta):
            occ = _Occ("delta", "I", node.order, legs)
            occ.size, occ.order = node.size, node.order
            return occ
        if isinstance(node, Apply):
            return _Occ("tensor", self.function(node), node.ndim, legs)
        if isinstance(node, Call):
            args = ", ".join(self.expr(a) for a in node.args)
            return _Occ("tensor", self.style.function(node.fn, (), None, args, False), node.ndim, legs)
        return _Occ("tensor", self.style.subexpression(self.expr(node)), node.ndim, legs, needs_portion=True)

    def function(self, e: Apply) -> str:
        """f^P(X): the positions P are shown unless f applies to its argument the ordinary way
        (element-wise for a scalar function, to the last dimensions otherwise)."""
        show = e.axes != tuple(range(e.arg.ndim)) if e.fn.core_ndim == 0 else bool(e.axes)
        caret = (format_positions([a + 1 for a in e.axes]) if e.axes else "{}") if show else None
        return self.style.function(e.fn, e.axes, caret, self.expr(e.arg), e.arg in self.names.of)

    def reserved_texts(self, occs: list[_Occ], sizes: Sequence[Any]) -> None:
        """Decide how 1 and I are written in this term: bare where a named tensor shares one of
        their dimensions (the parser infers the size), with their size otherwise."""
        inferable = {e for o in occs if o.kind == "tensor" for e in o.legs}
        for o in occs:
            if o.kind == "ones":
                o.text = self.style.ones(sizes[o.legs[0]], o.legs[0] in inferable)
            elif o.kind == "delta":
                bare = o.order == 2 and any(e in inferable for e in o.legs)
                o.text = self.style.delta(o.size, o.order, bare)

    # -- one product term -------------------------------------------------------------------------
    def product(self, net: Network) -> str:
        occs: list[_Occ] = []
        for node, leg in zip(net.nodes, net.legs):
            if isinstance(node, Ones):
                for e in leg:
                    occs.append(_Occ("ones", "1", 1, (e,)))
            else:
                occs.append(self.occurrence(node, tuple(leg)))
        self.reserved_texts(occs, net.sizes)
        legs_on: list[list[tuple[int, int]]] = [[] for _ in range(net.num_edges)]
        for i, o in enumerate(occs):
            for axis, e in enumerate(o.legs):
                legs_on[e].append((i, axis + 1))
        for layout in ("near", "first", "last"):
            items = self.order_members(self.layout(net, occs, legs_on, layout))
            if self.reads_back(items, occs):
                if self.repeats_long_atoms(items, occs):
                    break  # index notation writes each tensor once
                return self.render_items(items, occs)
        return self.index_notation(net, occs)

    @staticmethod
    def repeats_long_atoms(items: list[_Portion | _Bracket], occs: list[_Occ], limit: int = 60) -> bool:
        """Whether the layout writes a long sub-expression or function application more than once
        (once per portion), which makes nested terms grow exponentially."""
        count: Counter = Counter()
        for item in items:
            for p in [item] if isinstance(item, _Portion) else item.members:
                count[p.occ] += 1
        repeated = sum((n - 1) * len(occs[i].text) for i, n in count.items() if n > 1 and "(" in occs[i].text)
        return repeated > limit

    def layout(self, net: Network, occs: list[_Occ], legs_on: list, how: str) -> list[_Portion | _Bracket]:
        """Output dimensions in order (bare portions or fused groups), summed dimensions placed
        next to the first output group that shares a tensor with them (or first, or last),
        scalars at the end."""
        out_items: list[_Portion | _Bracket] = []
        for e in net.output:
            legs = legs_on[e]
            if len(legs) == 1:
                item: _Portion | _Bracket = _Portion(legs[0][0], [legs[0][1]])
            else:
                item = _Bracket([_Portion(i, [p]) for i, p in legs])
            prev = out_items[-1] if out_items else None
            if isinstance(item, _Portion) and isinstance(prev, _Portion) and prev.occ == item.occ:
                prev.positions += item.positions
                continue
            if (
                isinstance(item, _Bracket)
                and isinstance(prev, _Bracket)
                and prev.occs() == item.occs()
                and all(m.positions[0] == pm.positions[-1] + 1 for pm, m in zip(prev.members, item.members))
            ):
                for pm, m in zip(prev.members, item.members):
                    pm.positions += m.positions
                continue
            out_items.append(item)
        out_set = set(net.output)
        summed: dict[tuple, _Portion | _Bracket] = {}
        for e in range(net.num_edges):
            legs = legs_on[e]
            if e in out_set or not legs:
                continue
            sig = tuple(i for i, _ in legs)
            if sig in summed:
                found = summed[sig]
                members = [found] if isinstance(found, _Portion) else found.members
                for m, (_, p) in zip(members, legs):
                    m.positions.append(p)
                continue
            if len(legs) == 1:
                summed[sig] = _Portion(legs[0][0], [legs[0][1]], barred=True)
            else:
                summed[sig] = _Bracket([_Portion(i, [p], barred=(k == 0)) for k, (i, p) in enumerate(legs)])
        scalars: list[_Portion | _Bracket] = [_Portion(i, []) for i, o in enumerate(occs) if o.ndim == 0]
        sums = list(summed.values())
        if how == "first":
            return sums + out_items + scalars
        if how == "last":
            return out_items + sums + scalars
        after: dict[int, list] = defaultdict(list)
        tail = []
        for s in sums:
            occ_set = _item_occs(s)
            for k, item in enumerate(out_items):
                if occ_set & _item_occs(item):
                    after[k].append(s)
                    break
            else:
                tail.append(s)
        seq: list[_Portion | _Bracket] = []
        for k, item in enumerate(out_items):
            seq.append(item)
            seq.extend(after[k])
        return seq + tail + scalars

    @staticmethod
    def order_members(items: list[_Portion | _Bracket]) -> list[_Portion | _Bracket]:
        """Inside each bracket, occurrences already read come first (in the order they were
        read), so that the parser's first-fit rule finds them; the bar moves to the first member."""
        seen: dict[int, int] = {}
        for item in items:
            if isinstance(item, _Bracket):
                barred = any(m.barred for m in item.members)
                item.members.sort(key=lambda m: seen.get(m.occ, len(seen)))
                for k, m in enumerate(item.members):
                    m.barred = barred and k == 0
            for occ in [item.occ] if isinstance(item, _Portion) else item.occs():
                seen.setdefault(occ, len(seen))
        return items

    @staticmethod
    def reads_back(items: list[_Portion | _Bracket], occs: list[_Occ]) -> bool:
        """Whether the parser's rule (each portion goes to the first occurrence of its tensor that
        does not have those positions yet) gives every portion back to its own occurrence."""
        found: dict[str, list[list]] = {}
        bound: set[int] = set()
        for item in items:
            for p in [item] if isinstance(item, _Portion) else item.members:
                o = occs[p.occ]
                if o.kind == "ones" or o.ndim == 0:
                    continue
                wanted = set(p.positions)
                candidates = found.setdefault(o.text, [])
                for cand in candidates:
                    if not cand[0] & wanted:
                        break
                else:
                    cand = [set(), None]
                    candidates.append(cand)
                if cand[1] is None:
                    if p.occ in bound:
                        return False
                    cand[1] = p.occ
                    bound.add(p.occ)
                elif cand[1] != p.occ:
                    return False
                cand[0] |= wanted
        return True

    def render_portion(self, p: _Portion, occs: list[_Occ]) -> str:
        o = occs[p.occ]
        text = o.text
        whole = p.positions == list(range(1, o.ndim + 1))
        if o.kind != "ones" and (o.needs_portion or not whole):
            text = self.style.portion(text, p.positions)
        return self.style.bar(text) if p.barred else text

    def render_items(self, items: list[_Portion | _Bracket], occs: list[_Occ]) -> str:
        out = ""
        prev = None
        for item in items:
            if isinstance(item, _Portion):
                text = self.render_portion(item, occs)
            else:
                text = "[" + " ".join(self.render_portion(m, occs) for m in item.members) + "]"
            if prev is not None and not isinstance(prev, _Bracket) and not isinstance(item, _Bracket):
                out += " "
            out += text
            prev = item
        return out

    def index_notation(self, net: Network, occs: list[_Occ]) -> str:
        """(A_ij B_jk | ik): every product term can be written so (sec. 2.1)."""
        order: dict[int, int] = {}
        for o in occs:
            for e in o.legs:
                order.setdefault(e, len(order))
        letters = index_letters(len(order))
        factors = [self.style.indexed(o.text, "".join(letters[order[e]] for e in o.legs)) for o in occs]
        out = "".join(letters[order[e]] for e in net.output)
        bar = self.style.index_bar
        return "(" + " ".join(factors) + (bar + out if out else bar.rstrip()) + ")"


def _printed(e: Expr, names: Names | None, style: _Ascii) -> str:
    printer = _BracketPrinter(NameTable([e], names, share=True), style)
    lines = [printer.definition(d) for d in printer.names.defined]
    return style.line_break.join([*lines, printer.top(e)])


def to_bracket(e: Expr, names: Names | None = None) -> str:
    """ASCII general bracket notation (sec. 2.3) that `tnet.parse` reads back.

    ``parse(to_bracket(e), **leaves(e))`` evaluates to the same values as e. `names` optionally
    names sub-expressions (they are then printed as those names). An expression too large to
    write out (`names.SHARE_LIMIT`: a deep net's gradient) is written as lines ``t1 = ...``
    defining its shared sub-expressions, children first, then the expression, which uses them
    by name; `tnet.parse` reads such lines too."""
    return _printed(e, names, ASCII)


def to_latex(e: Expr, names: Names | None = None) -> str:
    r"""The bracket notation in the paper's look: ``A_{1}[\overline{A_{2}} B_{1}]B_{2}``, with
    \overline for bars (sums), [ ] for fused groups and subscripts for portions. Definitions of
    shared sub-expressions (see `to_bracket`) end with a LaTeX line break, ``\\``."""
    return _printed(e, names, LATEX)
