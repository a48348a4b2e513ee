"""The paper's notation, out and in.

- `describe(e)`: the one-line description used by repr().
- `to_bracket(e)`: ASCII general bracket notation (sec. 2.3) that `tnet.parse` reads back, e.g.
  ``A_1[~A_2 B_1]B_2`` for A @ B and ``[G_1 B_1][B_2 W_1][~G_2 W_2]`` for expression 48.
- `to_latex(e)`: the same in the paper's look: ``A_{1}[\\overline{A_{2}} B_{1}]B_{2}``.
- `to_matrix(e)`: matrix notation where the network allows it (``2 a a^T X``,
  ``-(X^-T A^T B^T X^-T)``, ``diag(s) - s s^T``), einsum form otherwise.
- `eval_matrix(text, **arrays)`: evaluates the matrix notation that `to_matrix` prints.
- `leaves(e)`: the names that the printers use, for ``parse(e.to_bracket(), **leaves(e))``.
- `parse` (from tnet/parse.py): bracket or index notation in.

docs/notation.md documents the syntax."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import ParseError
from .expr import Apply, Constant, Delta, Expr, Leaf, Network, Ones, Sum, Variable, Zero
from .network import as_terms
from .parse import RESERVED_NAMES, is_plain_name, parse

__all__ = ["describe", "eval_matrix", "leaves", "parse", "to_bracket", "to_latex", "to_matrix"]


def describe(e: Expr) -> str:
    """A one-line description of an expression, for repr()."""
    shape = "(" + ", ".join(str(s) for s in e.shape) + ("," if e.ndim == 1 else "") + ")"
    if isinstance(e, (Variable, Constant)):
        return f"{type(e).__name__}({e.name!r}, shape={shape})"
    if isinstance(e, Delta):
        return f"Delta({e.size!r}, order={e.order})"
    if isinstance(e, (Ones, Zero)):
        return f"{type(e).__name__}{shape}"
    if isinstance(e, Network):
        return f"Network[{e.label}, shape={shape}, coef={e.coef:g}]"
    if isinstance(e, Sum):
        return f"Sum[{len(e.terms_)} terms, shape={shape}]"
    if isinstance(e, Apply):
        return f"Apply[{e.fn.name}, axes={list(e.axes)}, shape={shape}]"
    return f"{type(e).__name__}{shape}"


# ---------------------------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------------------------
Names = Mapping[Expr, str]


class _Names:
    """A unique printed name for every named leaf (and every sub-expression the caller names)."""

    def __init__(self, roots: Sequence[Expr], names: Names | None = None) -> None:
        self.of: dict[int, str] = {}
        self.leaves: dict[str, Expr] = {}
        self.fixed: set[int] = set()
        for expr, name in (names or {}).items():
            if not isinstance(expr, Expr) or not isinstance(name, str) or not name:
                raise TypeError("names maps tnet expressions to non-empty str names")
            self._claim(expr, name)
            self.fixed.add(id(expr))
        seen: set[int] = set()
        stack = list(reversed(list(roots)))
        while stack:
            e = stack.pop()
            if id(e) in seen:
                continue
            seen.add(id(e))
            if id(e) in self.fixed:
                continue
            if isinstance(e, Leaf) and not isinstance(e, (Delta, Ones, Zero)):
                self._claim(e, getattr(e, "name", None) or e.label)
            stack.extend(reversed(e.children))

    def _claim(self, e: Expr, base: str) -> None:
        base = " ".join(base.replace("`", "'").split()) or "?"
        name, k = base, 2
        while (name in self.leaves and self.leaves[name] is not e) or name == "I":  # unquoted I is the identity
            name, k = f"{base}#{k}", k + 1
        self.leaves[name] = e
        self.of[id(e)] = name


def leaves(e: Expr | Sequence[Expr], names: Names | None = None) -> dict[str, Expr]:
    """The names the printers give to the leaves of `e` (and to the sub-expressions named in
    `names`), mapped to those expressions: ``parse(e.to_bracket(), **leaves(e))`` is e."""
    roots = [e] if isinstance(e, Expr) else list(e)
    return dict(_Names(roots, names).leaves)


def _quote(name: str) -> str:
    """A name as the notation writes it: bare, or in backquotes when it is not a plain name or
    could be read as something else (I, a function name)."""
    from .functions import registered

    if is_plain_name(name) and name not in RESERVED_NAMES and name not in registered():
        return name
    return f"`{name}`"


def _fmt_real(x: float) -> str:
    if math.isinf(x):
        return "1e999"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def _fmt_positions(positions: Sequence[int]) -> str:
    if positions and all(p <= 9 for p in positions):
        return "".join(map(str, positions))
    return "{" + ",".join(map(str, positions)) + "}"


_LATEX_FUNCTIONS = {"tanh", "exp", "log", "sin", "cos", "det"}
_LATEX_ESCAPES = {ch: "\\" + ch for ch in "#$%&_{}"} | {"\\": r"\backslash ", "~": r"\sim ", "^": r"\wedge "}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def _latex_name(name: str) -> str:
    if is_plain_name(name):
        return name
    return r"\text{" + _latex_escape(name) + "}"


# ---------------------------------------------------------------------------------------------
# bracket notation out (ASCII and LaTeX)
# ---------------------------------------------------------------------------------------------
class _Occ:
    """One node occurrence as printed: its atom text, dimensions and legs."""

    __slots__ = ("kind", "base", "ndim", "legs", "size", "order", "needs_portion", "text")

    def __init__(self, kind: str, base: str, ndim: int, legs: tuple, needs_portion: bool = False) -> None:
        self.kind = kind  # "tensor", "ones" or "delta"
        self.base = base
        self.ndim = ndim
        self.legs = legs
        self.needs_portion = needs_portion  # a sub-expression always shows its portion
        self.size: Any = None
        self.order = 2
        self.text = base


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

    def __init__(self, names: _Names, latex: bool) -> None:
        self.names = names
        self.latex = latex
        self.memo: dict[int, str] = {}

    # -- expressions -------------------------------------------------------------------------
    def expr(self, e: Expr) -> str:
        text = self.memo.get(id(e))
        if text is None:
            text = self._expr(e)
            self.memo[id(e)] = text
        return text

    def _expr(self, e: Expr) -> str:
        if id(e) in self.names.fixed:
            return self.name(self.names.of[id(e)])
        if isinstance(e, Zero):
            if self.latex or not e.shape:
                return "0"
            return "0 " + " ".join(f"1{{{s}}}" for s in e.shape)
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
            return self._expr(Zero(*e.shape))
        out = []
        for k, (c, imaginary, body) in enumerate(parts):
            mag = abs(c)
            if imaginary:
                coef = self.number(mag) + ("j" if not self.latex else "i")
            elif mag == 1 and body:
                coef = ""
            elif mag == 1:
                coef = "1.0" if not self.latex else "1"
            else:
                coef = self.number(mag)
            piece = coef + (" " if coef and body else "") + body
            if k == 0:
                out.append(("-" if c < 0 else "") + piece)
            else:
                out.append((" - " if c < 0 else " + ") + piece)
        return "".join(out)

    def number(self, x: float) -> str:
        if self.latex and not x == int(x):
            f = Fraction(x).limit_denominator(1000)
            if f.denominator != 1 and abs(float(f) - x) <= 1e-12 * abs(x):
                return rf"\frac{{{f.numerator}}}{{{f.denominator}}}"
        return _fmt_real(x)

    def name(self, name: str) -> str:
        return _latex_name(name) if self.latex else _quote(name)

    # -- atoms ---------------------------------------------------------------------------------
    def occurrence(self, node: Expr, legs: tuple) -> _Occ:
        if id(node) in self.names.of:
            return _Occ("tensor", self.name(self.names.of[id(node)]), node.ndim, legs)
        if isinstance(node, Delta):
            occ = _Occ("delta", "I", node.order, legs)
            occ.size, occ.order = node.size, node.order
            return occ
        if isinstance(node, Apply):
            return _Occ("tensor", self.function(node), node.ndim, legs)
        inner = self.expr(node)
        text = rf"\left({inner}\right)" if self.latex else f"({inner})"
        return _Occ("tensor", text, node.ndim, legs, needs_portion=True)

    def function(self, e: Apply) -> str:
        from .functions import registered

        fn = e.fn
        exponent = getattr(fn, "exponent", None)
        if fn.core_ndim == 0:
            show = e.axes != tuple(range(e.arg.ndim))
        else:
            show = bool(e.axes)
        positions = _fmt_positions([a + 1 for a in e.axes]) if e.axes else "{}"
        arg = self.expr(e.arg)
        if self.latex:
            caret = "^{" + positions.strip("{}") + "}" if show else ""
            if fn.name == "inv" and registered().get("inv") is fn and not e.axes:
                if id(e.arg) in self.names.of:
                    return f"{arg}^{{-1}}"
                return rf"\left({arg}\right)^{{-1}}"
            if exponent is not None and registered().get(fn.name) is not fn:
                if show:
                    return rf"\operatorname{{pow}}_{{{_fmt_real(exponent)}}}{caret}({arg})"
                return rf"{{({arg})}}^{{\odot {_fmt_real(exponent)}}}"
            name = "\\" + fn.name if fn.name in _LATEX_FUNCTIONS else rf"\operatorname{{{_latex_escape(fn.name)}}}"
            return rf"{name}{caret}({arg})"
        caret = "^" + positions if show else ""
        if exponent is not None and registered().get(fn.name) is not fn:
            return f"pow{{{_fmt_real(exponent)}}}{caret}({arg})"
        return f"{fn.name}{caret}({arg})"

    def reserved_texts(self, occs: list[_Occ], sizes: Sequence[Any]) -> None:
        """Decide how 1 and I are written in this term: bare where a named tensor shares one of
        their dimensions (the parser infers the size), with their size otherwise."""
        inferable = {e for o in occs if o.kind == "tensor" for e in o.legs}
        for o in occs:
            if o.kind == "ones":
                bare = o.legs[0] in inferable
                if self.latex:
                    o.text = r"\mathbf{1}"
                else:
                    o.text = "1" if bare else f"1{{{sizes[o.legs[0]]}}}"
            elif o.kind == "delta":
                bare = o.order == 2 and any(e in inferable for e in o.legs)
                if self.latex:
                    o.text = "I" if o.order == 2 else r"\delta"
                elif bare:
                    o.text = "I"
                else:
                    o.text = f"I{{{o.size}}}" if o.order == 2 else f"I{{{o.size},{o.order}}}"

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
        if o.kind == "ones" or (whole and not o.needs_portion):
            pass
        elif self.latex:
            if p.positions:
                text += (
                    "_{" + ",".join(map(str, p.positions)) + "}"
                    if any(x > 9 for x in p.positions)
                    else ("_{" + "".join(map(str, p.positions)) + "}")
                )
        else:
            text += "_" + (_fmt_positions(p.positions) if p.positions else "{}")
        if p.barred:
            return r"\overline{" + text + "}" if self.latex else "~" + text
        return text

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
        letters = "ijklmnopqrstuvwxyzabcdefgh"
        letters += letters.upper()
        order: dict[int, str] = {}
        for o in occs:
            for e in o.legs:
                if e not in order:
                    k = len(order)
                    order[e] = letters[k] if k < len(letters) else f"{{e{k}}}"
        factors = []
        for o in occs:
            sub = "".join(order[e] for e in o.legs)
            if self.latex:
                factors.append(o.text + ("_{" + sub + "}" if sub else ""))
            else:
                factors.append(o.text + ("_" + sub if sub else ""))
        out = "".join(order[e] for e in net.output)
        bar = r" \mid " if self.latex else " | "
        return "(" + " ".join(factors) + (bar + out if out else bar.rstrip()) + ")"


def to_bracket(e: Expr, names: Names | None = None) -> str:
    """ASCII general bracket notation (sec. 2.3) that `tnet.parse` reads back.

    ``parse(to_bracket(e), **leaves(e))`` evaluates to the same values as e. `names` optionally
    names sub-expressions (they are then printed as those names)."""
    return _BracketPrinter(_Names([e], names), latex=False).expr(e)


def to_latex(e: Expr, names: Names | None = None) -> str:
    r"""The bracket notation in the paper's look: ``A_{1}[\overline{A_{2}} B_{1}]B_{2}``, with
    \overline for bars (sums), [ ] for fused groups and subscripts for portions."""
    return _BracketPrinter(_Names([e], names), latex=True).expr(e)


# ---------------------------------------------------------------------------------------------
# matrix notation out
# ---------------------------------------------------------------------------------------------
# Ranks: 0 scalar, 1 column vector, -1 row vector, 2 matrix, n >= 3 an n-dimensional tensor.
def _rows_cols(rank: int) -> tuple[bool, bool]:
    return {0: (False, False), 1: (True, False), -1: (False, True)}.get(rank, (True, True))


class _Mat:
    rank = 0
    atomic = True

    def t(self) -> _Mat:
        if self.rank == 0:
            return self
        return _T(self)

    def render(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def wrapped(self) -> str:
        return self.render() if self.atomic else "(" + self.render() + ")"


class _Sym(_Mat):
    def __init__(self, text: str, rank: int, transposed: bool = False) -> None:
        self.text, self.rank, self.transposed = text, rank, transposed

    def t(self) -> _Mat:
        if self.rank == 0:
            return self
        return _Sym(self.text, -self.rank if abs(self.rank) == 1 else self.rank, not self.transposed)

    def render(self) -> str:
        return self.text + ("^T" if self.transposed else "")


class _Num(_Mat):
    def __init__(self, value: Any) -> None:
        self.value = value

    def render(self) -> str:
        return "1.0" if self.value == 1 else _fmt_number(self.value)  # a bare 1 is the ones vector


class _OnesM(_Mat):
    """The all-ones vector: bare 1 where a neighbour in a product gives its size, else 1{n}."""

    def __init__(self, size: Any, bare: bool = False, rank: int = 1) -> None:
        self.size, self.bare, self.rank = size, bare, rank

    def t(self) -> _Mat:
        return _OnesM(self.size, self.bare, -self.rank)

    def render(self) -> str:
        return ("1" if self.bare else f"1{{{self.size}}}") + ("^T" if self.rank == -1 else "")


class _Ident(_Mat):
    def __init__(self, size: Any, order: int = 2) -> None:
        self.size, self.order = size, order
        self.rank = 2 if order == 2 else order

    def t(self) -> _Mat:
        return self

    def render(self) -> str:
        return f"I{{{self.size}}}" if self.order == 2 else f"I{{{self.size},{self.order}}}"


class _Inv(_Mat):
    def __init__(self, arg: _Mat, transposed: bool = False) -> None:
        self.arg, self.transposed, self.rank = arg, transposed, 2

    def t(self) -> _Mat:
        return _Inv(self.arg, not self.transposed)

    def render(self) -> str:
        mark = "^-T" if self.transposed else "^-1"
        if isinstance(self.arg, _Sym) and not self.arg.transposed:
            return self.arg.text + mark
        return "(" + self.arg.render() + ")" + mark


class _Func(_Mat):
    def __init__(self, name: str, arg: _Mat, rank: int, caret: str = "", symmetric: bool = False) -> None:
        self.name, self.arg, self.rank, self.caret, self.symmetric = name, arg, rank, caret, symmetric

    def t(self) -> _Mat:
        return self if self.symmetric or self.rank == 0 else _T(self)

    def render(self) -> str:
        return f"{self.name}{self.caret}({self.arg.render()})"


class _Pow(_Mat):
    def __init__(self, arg: _Mat, p: float) -> None:
        self.arg, self.p, self.rank = arg, p, arg.rank

    def render(self) -> str:
        return f"{self.arg.wrapped()}^⊙{_fmt_real(self.p)}"


class _T(_Mat):
    def __init__(self, arg: _Mat) -> None:
        self.arg = arg
        self.rank = -arg.rank if abs(arg.rank) == 1 else arg.rank

    def t(self) -> _Mat:
        return self.arg

    def render(self) -> str:
        return self.arg.wrapped() + "^T"


class _Einsum(_Mat):
    def __init__(self, spec: str, args: list[_Mat], rank: int) -> None:
        self.spec, self.args, self.rank = spec, args, rank

    def render(self) -> str:
        return f'einsum("{self.spec}", ' + ", ".join(a.render() for a in self.args) + ")"


class _Prod(_Mat):
    """A chain of matrix products (juxtaposition); scalar sub-chains stay grouped."""

    atomic = False

    def __init__(self, factors: list[_Mat]) -> None:
        self.factors = factors
        kinds = [_rows_cols(f.rank) for f in factors if f.rank != 0]
        rows = kinds[0][0] if kinds else False
        cols = kinds[-1][1] if kinds else False
        self.rank = {(False, False): 0, (True, False): 1, (False, True): -1}.get((rows, cols), 2)

    def t(self) -> _Mat:
        return _prod([f.t() for f in reversed(self.factors)])

    def render(self) -> str:
        return " ".join(f.wrapped() if not isinstance(f, (_Sym, _Inv)) else f.render() for f in self.factors)


class _Had(_Mat):
    atomic = False

    def __init__(self, terms: list[_Mat]) -> None:
        self.terms = terms
        self.rank = terms[0].rank

    def render(self) -> str:
        return " ⊙ ".join(
            t.render() if t.atomic or isinstance(t, (_Sym, _Inv)) else "(" + t.render() + ")" for t in self.terms
        )


class _Scale(_Mat):
    atomic = False

    def __init__(self, c: Any, arg: _Mat) -> None:
        while isinstance(arg, _Scale):
            c, arg = c * arg.c, arg.arg
        self.c, self.arg, self.rank = c, arg, arg.rank

    def t(self) -> _Mat:
        return _Scale(self.c, self.arg.t())

    def render(self) -> str:
        return _Add([(self.c, self.arg)]).render(lone=True)


class _Add(_Mat):
    atomic = False

    def __init__(self, terms: list[tuple[Any, _Mat]]) -> None:
        self.terms = terms
        self.rank = terms[0][1].rank

    def render(self, lone: bool = False) -> str:
        out = []
        for k, (c, a) in enumerate(self.terms):
            if isinstance(a, _Scale):
                c, a = c * a.c, a.arg
            negative = not isinstance(c, complex) and c < 0
            mag = abs(c) if not isinstance(c, complex) else c
            body = a.render()
            if isinstance(a, (_Add, _Had)) or (isinstance(a, _Scale)):
                body = "(" + body + ")"
            if mag == 1:
                text = body
                if lone and negative and not (a.atomic or isinstance(a, (_Sym, _Inv))) and len(self.terms) == 1:
                    text = "(" + body + ")"
            else:
                text = _fmt_number(mag) + " " + body
            if k == 0:
                out.append(("-" if negative else "") + text)
            else:
                out.append((" - " if negative else " + ") + text)
        return "".join(out)


def _fmt_number(x: Any) -> str:
    if isinstance(x, complex):
        return "(" + repr(x).strip("()") + ")"
    return _fmt_real(float(x))


def _pull_scales(items: list[_Mat]) -> tuple[Any, list[_Mat]]:
    """The coefficients (and plain numbers) among the factors, multiplied, and the rest."""
    c: Any = 1
    out = []
    for f in items:
        while isinstance(f, _Scale):
            c, f = c * f.c, f.arg
        if isinstance(f, _Num) and len(items) > 1:
            c = c * f.value
            continue
        out.append(f)
    return c, out or [_Num(1.0)]


def _prod(factors: list[_Mat]) -> _Mat:
    """A product chain: nested chains flattened (scalar ones kept grouped), identities dropped,
    coefficients moved to the front."""
    c, factors = _pull_scales(factors)
    if c != 1:
        return _Scale(c, _prod(factors))
    flat: list[_Mat] = []
    for f in factors:
        if isinstance(f, _Prod) and f.rank != 0:
            flat.extend(f.factors)
        else:
            flat.append(f)
    # scalars commute: they go first, so that a bare 1 stays next to the factor it sums with
    flat = [f for f in flat if f.rank == 0] + [f for f in flat if f.rank != 0]
    if len(flat) > 1:
        kept = [f for f in flat if not (isinstance(f, _Ident) and f.order == 2)]
        if any(f.rank != 0 for f in kept) or (kept and not any(isinstance(f, _Ident) for f in flat)):
            flat = kept
    # a bare 1 needs the factor it sums with next to it (an identity dropped above may have been it)
    for k, f in enumerate(flat):
        if isinstance(f, _OnesM) and f.bare:
            if f.rank == 1:
                ok = k > 0 and flat[k - 1].rank in (2, -1)
            else:
                ok = k + 1 < len(flat) and flat[k + 1].rank in (2, 1)
            if not ok:
                flat[k] = _OnesM(f.size, False, f.rank)
    if len(flat) == 1:
        return flat[0]
    return _Prod(flat)


def _had(terms: list[_Mat]) -> _Mat:
    c, terms = _pull_scales(terms)
    if c != 1:
        return _Scale(c, _had(terms))
    flat: list[_Mat] = []
    for t in terms:
        flat.extend(t.terms if isinstance(t, _Had) else [t])
    return flat[0] if len(flat) == 1 else _Had(flat)


def _rank_of(e: Expr) -> int:
    return e.ndim


class _MatrixPrinter:
    """Matrix notation: a product term whose dimensions each join at most two tensors is a chain
    of matrix products with transposes (traces for cycles, outer products for two vectors); fused
    dimensions become Hadamard products and diag(v); anything else is written in einsum form."""

    def __init__(self, names: _Names) -> None:
        self.names = names
        self.memo: dict[int, _Mat] = {}

    def expr(self, e: Expr) -> _Mat:
        found = self.memo.get(id(e))
        if found is None:
            found = self._expr(e)
            self.memo[id(e)] = found
        return found

    def _expr(self, e: Expr) -> _Mat:
        if id(e) in self.names.of:
            return _Sym(_quote(self.names.of[id(e)]), _rank_of(e))
        if isinstance(e, Zero):
            return self.zero(e)
        terms: list[tuple[Any, _Mat]] = []
        for c, net in as_terms(e):
            a = self.term(net)
            if isinstance(a, _Scale):
                c, a = c * a.c, a.arg
            terms.append((c, a))
        if not terms:
            return self.zero(Zero(*e.shape))
        if len(terms) == 1:
            c, a = terms[0]
            if c == 1:
                return a
            return _Num(c * a.value) if isinstance(a, _Num) else _Scale(c, a)
        return _Add(terms)

    def zero(self, e: Expr) -> _Mat:
        if e.ndim == 0:
            return _Num(0)
        ones: list[_Mat] = [_OnesM(s) for s in e.shape]
        if e.ndim == 1:
            return _Scale(0, ones[0])
        if e.ndim == 2:
            return _Scale(0, _Prod([ones[0], ones[1].t()]))
        letters = "abcdefghijklmnopqrstuvwxyz"[: e.ndim]
        return _Scale(0, _Einsum(",".join(letters) + "->" + letters, ones, e.ndim))

    def node(self, node: Expr) -> _Mat:
        if isinstance(node, Apply) and id(node) not in self.names.of:
            return self.apply(node)
        return self.expr(node)

    def apply(self, e: Apply) -> _Mat:
        from .functions import registered

        fn, arg, axes = e.fn, e.arg, e.axes
        a = self.expr(arg)
        exponent = getattr(fn, "exponent", None)
        is_power = exponent is not None and registered().get(fn.name) is not fn
        if fn.name == "inv" and not axes and arg.ndim == 2:
            return _Inv(a)
        if fn.core_ndim == 0:
            base: _Mat = _Pow(a, exponent) if is_power else _Func(fn.name, a, _rank_of(e))
            if axes == tuple(range(arg.ndim)):
                return base
            if arg.ndim == 2 and axes == (1, 0):
                return base.t()
        name = f"pow{{{_fmt_real(exponent)}}}" if is_power else fn.name
        caret = ""
        if axes and (fn.core_ndim != 0 or axes != tuple(range(arg.ndim))):
            caret = "^" + _fmt_positions([x + 1 for x in axes])
        return _Func(name, a, _rank_of(e), caret)

    def term(self, net: Network) -> _Mat:
        from .simplify import tidy_network

        tidy = tidy_network(net)
        found = None
        if len(tidy.output) <= 2:
            found = self.network(tidy)
        if found is None:
            found = self.einsum(tidy)
        if tidy.coef == 1:
            return found
        if isinstance(found, _Num):
            return _Num(tidy.coef * found.value)
        return _Scale(tidy.coef, found)

    def einsum(self, net: Network) -> _Mat:
        from .network import einsum_letters

        letters = einsum_letters(net.num_edges)
        specs, args = [], []
        for node, leg in zip(net.nodes, net.legs):
            if isinstance(node, Ones):
                for e in leg:
                    specs.append(letters[e])
                    args.append(_OnesM(net.sizes[e]))
                continue
            specs.append("".join(letters[e] for e in leg))
            args.append(_Ident(node.size, node.order) if isinstance(node, Delta) else self.node(node))
        spec = ",".join(specs) + "->" + "".join(letters[e] for e in net.output)
        return _Einsum(spec, args, len(net.output))

    def network(self, net: Network) -> _Mat | None:
        factors: list[list] = []
        for node, leg in zip(net.nodes, net.legs):
            if isinstance(node, Ones):
                factors.extend([_OnesM(net.sizes[e]), (e,)] for e in leg)
            elif isinstance(node, Delta):
                if node.order == 1:
                    factors.append([_OnesM(node.size), tuple(leg)])
                elif node.order == 2:
                    factors.append([_Ident(node.size), tuple(leg)])
                else:
                    return None
            elif node.ndim > 2:
                return None
            else:
                factors.append([self.node(node), tuple(leg)])
        return self.reduce(factors, list(net.output), list(net.sizes))

    # -- rewriting a product term ------------------------------------------------------------------
    def reduce(self, factors: list[list], output: list[int], sizes: list) -> _Mat | None:
        factors = [list(f) for f in factors]
        if len(output) > 2:
            return None
        for _ in range(10 * len(factors) + 10):
            if not self.step(factors, output, self.ends(factors, output), sizes):
                break
        ends = self.ends(factors, output)
        if any(n > 2 for n in ends.values()):
            return self.split(factors, output, ends, sizes)
        return self.chains(factors, output)

    @staticmethod
    def ends(factors: list[list], output: list[int]) -> Counter:
        ends: Counter = Counter(e for _, legs in factors for e in legs)
        ends.update(output)
        return ends

    def step(self, factors: list[list], output: list[int], ends: Counter, sizes: list) -> bool:
        """One rewrite: a trace or diagonal; a sum over a single leg (times 1); two factors on
        the same dimensions (Hadamard); a vector on a dimension between two others (diag)."""
        for f in factors:
            legs = f[1]
            if len(legs) == 2 and legs[0] == legs[1]:
                if ends[legs[0]] == 2:
                    f[0], f[1] = _Func("tr", f[0], 0), ()
                else:
                    f[0], f[1] = _Func("diag", f[0], 1), (legs[0],)
                return True
        for f in factors:
            for k in reversed(range(len(f[1]))):
                e = f[1][k]
                if ends[e] == 1 and e not in output:
                    one = _OnesM(sizes[e], bare=True)
                    if len(f[1]) == 1:
                        f[0], f[1] = _prod([one.t(), f[0]]), ()
                    elif k == 0:
                        f[0], f[1] = _prod([f[0].t(), one]), (f[1][1],)
                    else:
                        f[0], f[1] = _prod([f[0], one]), (f[1][0],)
                    return True
        for i in range(len(factors)):
            for j in range(i + 1, len(factors)):
                li, lj = factors[i][1], factors[j][1]
                if li and sorted(li) == sorted(lj) and any(ends[e] > 2 for e in li):
                    other = factors[j][0] if li == lj else factors[j][0].t()
                    factors[i][0] = _had([factors[i][0], other])
                    del factors[j]
                    return True
        if self.merge_between(factors, output, ends, sizes):
            return True
        for f in factors:
            if len(f[1]) == 1 and ends[f[1][0]] == 3:
                e = f[1][0]
                others = [(g, k) for g in factors if g is not f for k, x in enumerate(g[1]) if x == e]
                g, k = others[0] if e in output else others[1]
                new = len(sizes)
                sizes.append(sizes[e])
                g[1] = g[1][:k] + (new,) + g[1][k + 1 :]
                f[0], f[1] = _Func("diag", f[0], 2, symmetric=True), (e, new)
                return True
        return False

    @staticmethod
    def components(factors: list[list], cut: set) -> list[list[int]]:
        """The factors grouped by the dimensions that are not cut."""
        parent = list(range(len(factors)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        first: dict[int, int] = {}
        for i, (_, legs) in enumerate(factors):
            for e in legs:
                if e in cut:
                    continue
                if e in first:
                    parent[find(i)] = find(first[e])
                else:
                    first[e] = i
        groups: dict[int, list[int]] = defaultdict(list)
        for i in range(len(factors)):
            groups[find(i)].append(i)
        return sorted(groups.values(), key=lambda g: (len(g), g[0]))

    def merge_between(self, factors: list[list], output: list[int], ends: Counter, sizes: list) -> bool:
        """Parts of the term that meet the rest only at the same one or two dimensions (p, q),
        one of them shared by three or more: their element-wise product is one factor on (p, q),
        as in X^T (M ⊙ (N W^T))."""
        hyper = sorted(e for e, n in ends.items() if n > 2)
        if not hyper:
            return False
        edges = sorted({e for _, legs in factors for e in legs})
        for p in hyper:
            for q in [None, *edges]:
                if q == p:
                    continue
                pair = {p} if q is None else {p, q}
                cut = pair | set(output)
                found = []
                for comp in self.components(factors, cut):
                    touched = {e for i in comp for e in factors[i][1] if e in cut}
                    if touched == pair:
                        found.append(comp)
                if len(found) < 2:
                    continue
                legs = (p,) if q is None else (p, q)
                subs = [self.reduce([factors[i] for i in comp], list(legs), sizes) for comp in found]
                if any(sub is None for sub in subs):
                    continue
                taken = {i for comp in found for i in comp}
                factors[:] = [f for i, f in enumerate(factors) if i not in taken] + [[_had(subs), legs]]
                return True
        return False

    def split(self, factors: list[list], output: list[int], ends: Counter, sizes: list) -> _Mat | None:
        """Dimensions shared by three or more: a summed one becomes an output then a sum (1^T v,
        M 1); fused outputs split the term into parts multiplied element-wise."""
        hyper_sum = [e for e, n in ends.items() if n > 2 and e not in output]
        if hyper_sum and len(output) < 2:
            e = hyper_sum[0]
            sub = self.reduce(factors, [*output, e], sizes)
            if sub is None:
                return None
            one = _OnesM(sizes[e], bare=True)
            return _prod([one.t(), sub]) if not output else _prod([sub, one])
        if hyper_sum or not any(ends[e] > 2 for e in output):
            return None
        comps = self.components(factors, set(output))
        if len(comps) < 2:
            return None
        parts: dict[tuple, list[_Mat]] = defaultdict(list)
        for comp in comps:
            sub_factors = [factors[i] for i in comp]
            touched = [e for e in output if any(e in f[1] for f in sub_factors)]
            sub = self.reduce(sub_factors, touched, sizes)
            if sub is None:
                return None
            parts[tuple(touched)].append(sub)
        scalars = parts.pop((), [])
        if len(output) == 1:
            return _prod([*scalars, _had(parts[tuple(output)])])
        e0, e1 = output
        mats, rows, cols = parts.get((e0, e1), []), parts.get((e0,), []), parts.get((e1,), [])
        if not mats:
            return _prod([*scalars, _had(rows), _had(cols).t()])
        chain: list[_Mat] = list(scalars)
        if rows:
            chain.append(_Func("diag", _had(rows), 2, symmetric=True))
        core = _had(mats)
        if not (isinstance(core, _Ident) and (rows or cols)):
            chain.append(core)
        if cols:
            chain.append(_Func("diag", _had(cols), 2, symmetric=True))
        return _prod(chain)

    def chains(self, factors: list[list], output: list[int]) -> _Mat | None:
        """Every dimension joins at most two ends: paths (from an output, or between two
        vectors) and cycles (traces)."""
        edge_legs: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for i, (_, legs) in enumerate(factors):
            for k, e in enumerate(legs):
                edge_legs[e].append((i, k))
        visited: set[int] = set()

        def contracted(a: _Mat) -> _Mat:
            return _OnesM(a.size, True, a.rank) if isinstance(a, _OnesM) else a

        def walk(i: int, k: int) -> tuple[list[_Mat], Any]:
            seq: list[_Mat] = []
            while True:
                visited.add(i)
                a, legs = factors[i]
                if len(legs) == 1:
                    seq.append(contracted(a) if seq else a)
                    return seq, None
                seq.append(a if k == 0 else a.t())
                e = legs[1 - k]
                nxt = [(g, kk) for g, kk in edge_legs[e] if (g, kk) != (i, 1 - k)]
                if not nxt:
                    return seq, e
                i, k = nxt[0]
                if i in visited:
                    return seq, "cycle"

        paths: dict[int, tuple[list[_Mat], Any]] = {}
        for e in output:
            (i, k), *_ = edge_legs[e]
            if i not in visited:
                paths[e] = walk(i, k)
        scalars: list[_Mat] = []
        for i, (a, legs) in enumerate(factors):
            if i not in visited and not legs:
                visited.add(i)
                scalars.append(a)
        for i, (a, legs) in enumerate(factors):
            if i in visited or len(legs) != 1:
                continue
            visited.add(i)
            nxt = [(g, kk) for g, kk in edge_legs[legs[0]] if g != i]
            if not nxt:
                return None
            seq, _ = walk(*nxt[0])
            scalars.append(_prod([contracted(a).t(), *seq]))
        for i in range(len(factors)):
            if i not in visited:
                seq, _ = walk(i, 0)
                scalars.append(_Func("tr", _prod(seq), 0))
        if not output:
            return _prod(scalars) if scalars else _Num(1.0)
        seq0, end0 = paths[output[0]]
        if len(output) == 1:
            return _prod([*scalars, _prod(seq0)])
        if end0 == output[1]:
            return _prod([*scalars, _prod(seq0)])
        seq1, _ = paths[output[1]]
        return _prod([*scalars, _prod(seq0), _prod(seq1).t()])


def to_matrix(e: Expr, names: Names | None = None) -> str:
    """Matrix notation where the network allows it, einsum form otherwise.

    Recognised: chains of matrix and vector products with transposes (``a b^T``, ``2 a a^T X``),
    inverses (``X^-1``, ``X^-T``, as in ``-(X^-T A^T B^T X^-T)``, eq. 34), traces ``tr(...)``,
    Hadamard products ``A ⊙ B``, ``diag(v)`` (``diag(s) - s s^T``, sec. 4.3.5), sums over a
    dimension as products with ``1`` (``(Z ⊙ C)^T 1``, sec. 6.1), ``det(X)``, element-wise
    functions ``tanh(A)`` and powers ``A^⊙2``, f^P(X) as ``softmax^1(A)`` (eq. 27), sums of
    terms with coefficients. Anything else is ``einsum("ij,jk->ik", A, B)``. A vector is a
    column vector. ``1{n}`` / ``I{n}`` are the ones vector / identity of size n, written so
    where no neighbouring factor gives the size. `eval_matrix` evaluates the result."""
    return _MatrixPrinter(_Names([e], names)).expr(e).render()


# ---------------------------------------------------------------------------------------------
# matrix notation in (for checking to_matrix)
# ---------------------------------------------------------------------------------------------
class _Row:
    """A row vector (the transpose of a column vector, which is a plain 1-D array)."""

    __slots__ = ("v",)

    def __init__(self, v: np.ndarray) -> None:
        self.v = v


class _Pending:
    """A bare 1 or I whose size comes from its neighbour in a product."""

    __slots__ = ("kind", "row")

    def __init__(self, kind: str, row: bool = False) -> None:
        self.kind, self.row = kind, row


class _MatrixReader:
    def __init__(self, text: str, arrays: Mapping[str, Any]) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.arrays = {k: np.asarray(v) for k, v in arrays.items()}

    def error(self, message: str, pos: int | None = None) -> ParseError:
        return ParseError(message, self.text, min(self.pos if pos is None else pos, self.n))

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.n else ""

    def skip_ws(self) -> None:
        while self.pos < self.n and self.text[self.pos].isspace():
            self.pos += 1

    def read(self) -> np.ndarray:
        value = self.sum()
        self.skip_ws()
        if self.pos != self.n:
            raise self.error(f"unexpected {self.peek()!r}")
        if isinstance(value, _Row):
            return value.v[None, :]
        if isinstance(value, _Pending):
            raise self.error("cannot infer the size of a bare 1 or I", 0)
        return np.asarray(value)

    def sum(self) -> Any:
        self.skip_ws()
        sign = 1.0
        while self.peek() in ("+", "-") and self.peek():
            sign = -sign if self.peek() == "-" else sign
            self.pos += 1
            self.skip_ws()
        total = _scale(self.had(), sign)
        while True:
            self.skip_ws()
            if self.peek() not in ("+", "-") or not self.peek():
                return total
            sign = 1.0 if self.peek() == "+" else -1.0
            self.pos += 1
            total = _add(total, _scale(self.had(), sign), self)

    def had(self) -> Any:
        value = self.prod()
        while True:
            self.skip_ws()
            if self.peek() not in ("⊙", "*") or not self.peek():
                return value
            self.pos += 1
            other = self.prod()
            if isinstance(value, _Row) and isinstance(other, _Row):
                value = _Row(value.v * other.v)
            else:
                value = _arr(value, self) * _arr(other, self)

    def starts_atom(self) -> bool:
        ch = self.peek()
        return bool(ch) and (ch.isalpha() or ch in "0123456789.(`")

    def prod(self) -> Any:
        self.skip_ws()
        start = self.pos
        items = []
        while self.starts_atom():
            items.append(self.postfix())
            self.skip_ws()
        if not items:
            raise self.error(f"expected a matrix, a vector or a number, found {self.peek()!r}", start)
        for k, item in enumerate(items):
            if not isinstance(item, _Pending):
                continue
            if item.row:
                nxt = items[k + 1] if k + 1 < len(items) else None
                if isinstance(nxt, np.ndarray) and nxt.ndim >= 1:
                    size = nxt.shape[0]
                else:
                    raise self.error("cannot infer the size of a bare 1^T or I", start)
            else:
                prev = items[k - 1] if k else None
                if isinstance(prev, _Row):
                    size = prev.v.shape[0]
                elif isinstance(prev, np.ndarray) and prev.ndim == 2:
                    size = prev.shape[1]
                else:
                    raise self.error("cannot infer the size of a bare 1 or I", start)
            if item.kind == "ones":
                items[k] = _Row(np.ones(size)) if item.row else np.ones(size)
            else:
                items[k] = np.eye(size)
        value = items[0]
        for item in items[1:]:
            value = _mul(value, item, self)
        return value

    def postfix(self) -> Any:
        value = self.atom()
        while self.peek() == "^":
            at = self.pos
            self.pos += 1
            rest = self.text[self.pos :]
            if rest.startswith("T"):
                self.pos += 1
                value = _transpose(value)
            elif rest.startswith("-1") or rest.startswith("-T"):
                self.pos += 2
                inv = np.linalg.inv(_arr(value, self))
                value = inv.T if rest.startswith("-T") else inv
            elif rest.startswith("⊙"):
                self.pos += 1
                p = self.number(signed=True)
                from .functions import power_function

                value = power_function(float(p)).value(_arr(value, self))
            else:
                raise self.error("expected T, -1, -T or ⊙p after '^'", at)
        return value

    def number(self, signed: bool = False) -> Any:
        import re

        m = re.compile(r"[+-]?" if signed else "").pattern
        found = re.compile(m + r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?j?").match(self.text, self.pos)
        if not found:
            raise self.error("expected a number")
        self.pos = found.end()
        token = found.group()
        return complex(token) if token.endswith("j") else float(token)

    def braces(self) -> list[str]:
        close = self.text.find("}", self.pos)
        if close == -1:
            raise self.error("'{' is never closed")
        parts = [x.strip() for x in self.text[self.pos + 1 : close].split(",")]
        self.pos = close + 1
        return parts

    def size(self, text: str) -> int:
        if not text.isdigit():
            raise self.error(f"expected an integer size, found {text!r}")
        return int(text)

    def atom(self) -> Any:
        start = self.pos
        ch = self.peek()
        if ch == "(":
            self.pos += 1
            value = self.sum()
            self.skip_ws()
            if self.peek() != ")":
                raise self.error("expected ')'")
            self.pos += 1
            return value
        if ch in "0123456789.":
            if (
                self.text.startswith("1", self.pos)
                and not self.text[self.pos + 1 : self.pos + 2].isdigit()
                and (self.text[self.pos + 1 : self.pos + 2] not in (".", "e", "E", "j"))
            ):
                self.pos += 1
                if self.peek() == "{":
                    (size,) = self.braces()
                    return np.ones(self.size(size))
                return _Pending("ones")
            return np.asarray(self.number())
        if ch == "`":
            close = self.text.find("`", self.pos + 1)
            if close == -1:
                raise self.error("a backquoted name is never closed")
            name = self.text[self.pos + 1 : close]
            self.pos = close + 1
            return self.lookup(name, start)
        if not ch.isalpha():
            raise self.error(f"unexpected {ch!r}")
        j = self.pos
        while j < self.n and (self.text[j].isalpha() or self.text[j] in "0123456789"):
            j += 1
        name = self.text[self.pos : j]
        self.pos = j
        if name == "I":
            if self.peek() == "{":
                parts = self.braces()
                size = self.size(parts[0])
                order = self.size(parts[1]) if len(parts) > 1 else 2
                out = np.zeros((size,) * order)
                out[(np.arange(size),) * order] = 1.0
                return out
            return _Pending("ident")
        if self.peek() in ("(", "^", "{") and self.peek() and name not in self.arrays:
            return self.function(name, start)
        return self.lookup(name, start)

    def lookup(self, name: str, pos: int) -> np.ndarray:
        if name not in self.arrays:
            raise self.error(f"unknown name {name!r}", pos)
        return self.arrays[name]

    def args(self) -> list[Any]:
        if self.peek() != "(":
            raise self.error("expected '('")
        self.pos += 1
        out = []
        while True:
            self.skip_ws()
            if self.peek() == '"':
                close = self.text.find('"', self.pos + 1)
                out.append(self.text[self.pos + 1 : close])
                self.pos = close + 1
            else:
                out.append(self.sum())
            self.skip_ws()
            if self.peek() == ",":
                self.pos += 1
                continue
            if self.peek() == ")":
                self.pos += 1
                return out
            raise self.error("expected ',' or ')'")

    def function(self, name: str, start: int) -> Any:
        from .functions import power_function, registered

        fn = None
        if name == "pow" and self.peek() == "{":
            (p,) = self.braces()
            fn = power_function(float(p))
        elif name not in ("tr", "diag", "det", "einsum"):
            fn = registered().get(name)
            if fn is None:
                raise self.error(f"unknown function {name!r}", start)
        axes = None
        if self.peek() == "^":
            self.pos += 1
            if self.peek() == "{":
                axes = [int(x) - 1 for x in self.braces() if x]
            else:
                axes = []
                while self.peek() and self.peek() in "123456789":
                    axes.append(int(self.peek()) - 1)
                    self.pos += 1
        args = self.args()
        if name == "einsum":
            return np.einsum(args[0], *[_arr(a, self) for a in args[1:]])
        (x,) = args
        x = _arr(x, self)
        if name == "tr":
            return np.trace(x)
        if name == "diag":
            return np.diag(x) if x.ndim == 1 else np.diagonal(x).copy()
        if name == "det" and fn is None:
            return np.linalg.det(x)
        core = fn.core_ndim or 0
        if axes is None:
            axes = list(range(x.ndim - core))
        rest = [a for a in range(x.ndim) if a not in axes]
        return np.asarray(fn.value(np.transpose(x, axes + rest)))


def _arr(value: Any, reader: _MatrixReader) -> np.ndarray:
    if isinstance(value, _Row):
        return value.v[None, :]
    if isinstance(value, _Pending):
        raise reader.error("cannot infer the size of a bare 1 or I here")
    return np.asarray(value)


def _scale(value: Any, c: float) -> Any:
    if c == 1:
        return value
    if isinstance(value, _Row):
        return _Row(c * value.v)
    return c * np.asarray(value)


def _add(a: Any, b: Any, reader: _MatrixReader) -> Any:
    if isinstance(a, _Row) and isinstance(b, _Row):
        return _Row(a.v + b.v)
    return _arr(a, reader) + _arr(b, reader)


def _transpose(value: Any) -> Any:
    if isinstance(value, _Row):
        return value.v
    if isinstance(value, _Pending):
        return _Pending(value.kind, not value.row)
    value = np.asarray(value)
    if value.ndim == 1:
        return _Row(value)
    return value.T


def _mul(a: Any, b: Any, reader: _MatrixReader) -> Any:
    """Juxtaposition: the matrix product, vectors being columns (rows once transposed)."""
    if not isinstance(a, _Row) and np.ndim(a) == 0:
        return _Row(a * b.v) if isinstance(b, _Row) else a * np.asarray(b)
    if not isinstance(b, _Row) and np.ndim(b) == 0:
        return _Row(a.v * b) if isinstance(a, _Row) else np.asarray(a) * b
    if isinstance(a, _Row):
        if isinstance(b, _Row):
            raise reader.error("cannot multiply two row vectors")
        b = np.asarray(b)
        return a.v @ b if b.ndim == 1 else _Row(a.v @ b)
    a = np.asarray(a)
    if isinstance(b, _Row):
        if a.ndim != 1:
            raise reader.error("a row vector must follow a column vector or come first")
        return np.outer(a, b.v)
    b = np.asarray(b)
    if a.ndim != 2:
        raise reader.error(f"cannot multiply a tensor with {a.ndim} axes on the left")
    return a @ b


def eval_matrix(text: str, /, **arrays: Any) -> np.ndarray:
    """Evaluate the matrix notation that `to_matrix` prints, with numpy arrays for the names.

    Juxtaposition is the matrix product (vectors are columns; ``v^T`` is a row), ``⊙`` (or ``*``)
    the Hadamard product, ``^T``, ``^-1``, ``^-T``, ``^⊙p`` postfix; ``tr``, ``diag``, ``det``,
    ``einsum("spec", ...)``, ``pow{p}`` and the registered functions (``softmax^1(A)``); ``1``
    and ``I`` (bare where a neighbour gives their size, else ``1{n}``, ``I{n}``, ``I{n,k}``)."""
    return _MatrixReader(text, arrays).read()
