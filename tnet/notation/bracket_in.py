"""Bracket and index notation in: `parse(text, **tensors)`.

Two notations of "Matrix Differential Calculus with Tensors" are read:

- index notation (sec. 2.1, eq. 1): ``(A_ij B_jm | im)``; repeated indices that are not after
  ``|`` are summed, the output order is the list after ``|``;
- general bracket notation (sec. 2.2 - 2.4): portions ``A_23`` (eq. 6), juxtaposition as a formal
  Kronecker product (eq. 7), ``[...]`` fusing the dimensions of its members, ``~`` for the paper's
  bar (a summed dimension), ``1`` for the all-ones tensor, parenthesised formal Kronecker groups
  inside brackets, e.g. ``[A_1 B_3][A_2 B_2]A_3 B_1`` (eq. 8) or ``[G_1 B_1][B_2 W_1][~G_2 W_2]``
  (expression 48);

plus sums of terms with coefficients and function application f^P(X) (eq. 27), so that the
output of `to_bracket` reads back. docs/notation.md documents the syntax with examples.

Every error is a `tnet.ParseError` whose message names the position in the text and what was
expected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NoReturn

from ..errors import ShapeError, TnetError
from ..expr import Delta, Expr, Ones, Size, unify_sizes
from ..functions import Function, apply, call, family_member, is_family, power_function, registered
from ..network import UnionFind, combine, linear_combination, scale
from .names import DIGITS, bind, format_positions, is_name_start, is_plain_name
from .scan import COEFFICIENT, Scanner, number_value, read_definitions

__all__ = ["parse"]


class _Atom:
    """Something that has portions: a bound tensor, a sub-expression, f^P(...), 1 or I."""

    __slots__ = ("name", "pos", "expr", "kind", "ndim", "key", "size")

    def __init__(
        self, name: str, pos: int, expr: Expr | None, kind: str, ndim: int, key: Any, size: Size | None = None
    ) -> None:
        self.name = name  # for messages
        self.pos = pos
        self.expr = expr  # None for 1 and I, whose sizes are inferred
        self.kind = kind  # "tensor", "ones" or "delta"
        self.ndim = ndim
        self.key = key  # occurrences with equal keys share portions; None: always a new occurrence
        self.size = size  # the explicit size of 1{n} or I{n}

    def dim_size(self, position: int) -> Size | None:
        return self.expr.shape[position - 1] if self.expr is not None else self.size


class _Occurrence:
    __slots__ = ("atom", "legs", "pos")

    def __init__(self, atom: _Atom, pos: int) -> None:
        self.atom = atom
        self.legs: dict[int, int] = {}  # 1-based position -> edge
        self.pos = pos


class _Scope:
    """One product term of bracket notation: its tensor occurrences and the edges of their legs."""

    def __init__(self, parser: _Parser) -> None:
        self.parser = parser
        self.occurrences: list[_Occurrence] = []
        self.by_key: dict[Any, list[_Occurrence]] = {}
        self.first_open: dict[Any, int] = {}  # key -> index in by_key of its first incomplete occurrence
        self.edges: UnionFind[int] = UnionFind()  # fused dimensions share a root; the root carries the size
        self.sizes: list[Size | None] = []
        self.labels: list[str] = []

    def new_edge(self, size: Size | None, label: str) -> int:
        self.sizes.append(size)
        self.labels.append(label)
        return len(self.sizes) - 1

    def find(self, e: int) -> int:
        return self.edges.find(e)

    def fuse(self, a: int, b: int, pos: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        sa, sb = self.sizes[ra], self.sizes[rb]
        size = _merge_sizes(sa, sb)
        if size is False:
            raise self.parser.error(
                f"fused dimensions of different sizes: {self.labels[a]} has size {sa} "
                f"but {self.labels[b]} has size {sb}",
                pos,
            )
        self.edges.union(ra, rb)
        self.sizes[self.find(ra)] = size

    def assign(self, atom: _Atom, positions: tuple[int, ...], pos: int) -> list[tuple[int, bool, int]]:
        """Give a portion to the first occurrence of the atom that does not have those positions
        yet (a new occurrence if none), and return one slot per position."""
        for p in positions:
            if not 1 <= p <= atom.ndim:
                raise self.parser.error(f"position {p} is out of range: {atom.name} has {atom.ndim} dimension(s)", pos)
        if len(set(positions)) != len(positions):
            shown = f"{atom.name}_{format_positions(positions)}"
            raise self.parser.error(f"a position is repeated in the portion {shown}", pos)
        occ = None
        if atom.key is not None and atom.ndim > 0:
            found = self.by_key.get(atom.key, ())
            first = self.first_open.get(atom.key, 0)
            while first < len(found) and len(found[first].legs) == atom.ndim:
                first += 1  # complete occurrences take no more portions: never look at them again
            self.first_open[atom.key] = first
            for k in range(first, len(found)):
                if not any(p in found[k].legs for p in positions):
                    occ = found[k]
                    break
        if occ is None:
            occ = _Occurrence(atom, pos)
            self.occurrences.append(occ)
            if atom.key is not None:
                self.by_key.setdefault(atom.key, []).append(occ)
        slots = []
        for p in positions:
            e = self.new_edge(atom.dim_size(p), f"{atom.name}_{p}")
            occ.legs[p] = e
            slots.append((e, False, pos))
        return slots

    def build(self, slots: list[tuple[int, bool, int]], pos: int) -> Expr:
        """The product term: every occurrence complete, unbarred slots in reading order."""
        for occ in self.occurrences:
            a = occ.atom
            missing = [p for p in range(1, a.ndim + 1) if p not in occ.legs]
            if missing:
                raise self.parser.error(
                    f"{a.name} is incomplete: position(s) {', '.join(map(str, missing))} of this occurrence never "
                    f"appear (each portion goes to the first occurrence of {a.name} that does not have it yet)",
                    occ.pos,
                )
        labels = [[self.find(occ.legs[p]) for p in range(1, occ.atom.ndim + 1)] for occ in self.occurrences]
        operands = self.parser.placeholders(
            [occ.atom for occ in self.occurrences], [occ.pos for occ in self.occurrences], labels, self.sizes
        )
        output = [self.find(e) for e, barred, _ in slots if not barred]
        return self.parser.combine(operands, labels, output, pos)


def _merge_sizes(a: Size | None, b: Size | None) -> Size | None | bool:
    """The common size of two dimensions (None: unknown); False when they differ."""
    if a is None:
        return b
    if b is None:
        return a
    try:
        return unify_sizes(a, b, "")
    except ShapeError:
        return False


class _Parser(Scanner):
    """The reader of bracket and index notation: the shared scanner, the bound names, and one
    method per rule of the grammar."""

    def __init__(self, text: str, bindings: Mapping[str, Expr], kept: set[Expr] | None = None) -> None:
        super().__init__(text, bindings)
        self.kept = kept or set()  # networks that stay nodes of a product: the text's definitions
        self.longest_name = max(map(len, bindings), default=0)
        self.splits: dict[int, tuple[int, list[int]]] = {}  # end of a run -> its name_splits
        self.match_groups()

    # -- helpers -------------------------------------------------------------------------------
    def has_bar(self, start: int, end: int) -> bool:
        return any(ch == "|" for _, ch in self.top_level(start, end))

    def is_subexpression(self, start: int, end: int) -> bool:
        """A parenthesised text that is an expression of its own (a sum, a leading sign or
        coefficient) rather than a formal Kronecker group."""
        first = True
        for i, ch in self.top_level(start, end):
            if ch.isspace():
                continue
            if first:
                first = False
                if ch in "+-":
                    return True
                if ch in DIGITS or ch == ".":
                    m = COEFFICIENT.match(self.text, i)
                    if m and m.group() != "1":
                        return True
            elif ch in "+-":
                return True
        return False

    def combine(self, operands: list[Expr], labels: list[list[Any]], output: list[Any], pos: int) -> Expr:
        if len(set(output)) != len(output):
            raise self.error("a dimension appears twice in the output", pos)
        inline = [k for k, op in enumerate(operands) if op not in self.kept] if self.kept else True
        try:
            return combine(operands, labels, output, inline=inline)
        except TnetError as err:
            raise self.error(str(err), pos) from None

    def placeholders(self, atoms: list[_Atom], positions: list[int], labels: list[list[Any]], sizes: Any) -> list[Expr]:
        """The operands of a product, with the sizes of 1 and I taken from the dimensions they
        lie on. `sizes` maps an edge label to its size (None: unknown) and is completed here."""
        for _ in range(len(atoms) + 1):  # an identity passes sizes between its legs
            changed = False
            for atom, labs in zip(atoms, labels):
                if atom.kind != "delta":
                    continue
                known = [sizes[lab] for lab in labs if sizes[lab] is not None]
                if len(known) == len(labs) or not known:
                    continue
                for lab in labs:
                    if sizes[lab] is None:
                        sizes[lab] = known[0]
                        changed = True
            if not changed:
                break
        operands: list[Expr] = []
        for atom, pos, labs in zip(atoms, positions, labels):
            if atom.kind == "tensor":
                assert atom.expr is not None  # a tensor atom always holds its expression
                operands.append(atom.expr)
                continue
            found = [sizes[lab] for lab in labs]
            if any(s is None for s in found):
                hint = "1{n}" if atom.kind == "ones" else "I{n}"
                raise self.error(f"cannot infer the size of {atom.name}: write it as {hint}", pos)
            size = found[0]
            for other in found[1:]:
                merged = _merge_sizes(size, other)
                if merged is False:
                    raise self.error(f"{atom.name} joins dimensions of different sizes ({size} and {other})", pos)
                size = merged
            try:
                operands.append(Ones(size) if atom.kind == "ones" else Delta(size, atom.ndim))
            except TnetError as err:
                raise self.error(str(err), pos) from None
        return operands

    # -- entry -----------------------------------------------------------------------------------
    def parse(self) -> Expr:
        self.skip_ws()
        if self.pos >= self.n:
            raise self.error("empty expression: expected a term such as A_1[~A_2 B_1]B_2 or (A_ij B_jk | ik)")
        return self.content(0, self.n)

    def content(self, start: int, end: int) -> Expr:
        """The text between start and end: index notation if it holds '|', else an expression."""
        self.pos = start
        if self.has_bar(start, end):
            e = self.index_product(start, end)
        else:
            e = self.expression(end)
        self.skip_ws()
        if self.pos != end:
            raise self.error(f"unexpected {self.found()}")
        return e

    # -- bracket notation ------------------------------------------------------------------------
    def expression(self, end: int) -> Expr:
        """term (('+' | '-') term)*, with a leading sign allowed."""
        terms: list[tuple[Any, Expr, int]] = []
        while True:
            self.skip_ws()
            sign = 1.0
            signed = False
            while self.pos < end and self.peek() in "+-":
                if self.peek() == "-":
                    sign = -sign
                self.pos += 1
                signed = True
                self.skip_ws()
            start = self.pos
            if terms and not signed:
                raise self.error(f"expected '+', '-' or the end of the expression, found {self.found()}")
            coef, term = self.term(end)
            terms.append((sign * coef, term, start))
            self.skip_ws()
            if self.pos >= end:
                break
        shape = terms[0][1].shape
        for _, term, start in terms[1:]:
            if len(term.shape) != len(shape) or any(_merge_sizes(a, b) is False for a, b in zip(shape, term.shape)):
                raise self.error(f"this term has shape {term.shape} but the first term has shape {shape}", start)
        if len(terms) == 1 and terms[0][0] == 1:
            return terms[0][1]
        try:
            return linear_combination([(c, t) for c, t, _ in terms])
        except TnetError as err:
            raise self.error(str(err), terms[0][2]) from None

    def coefficient(self) -> Any:
        """An optional leading number (never the bare 1, which is the all-ones tensor)."""
        m = self.number(COEFFICIENT)
        if not m or m.group() == "1":
            return None
        try:
            value = number_value(m.group())
        except (ValueError, ZeroDivisionError):
            raise self.error(f"{m.group()!r} is not a number") from None
        self.pos = m.end()
        return value

    def term(self, end: int) -> tuple[Any, Expr]:
        """[coefficient] factor factor ...: one product term (or a bare number)."""
        start = self.pos
        coef = self.coefficient()
        scope = _Scope(self)
        slots: list[tuple[int, bool, int]] = []
        factors = 0
        while True:
            self.skip_ws()
            if self.pos >= end or self.peek() in "+-":
                break
            slots.extend(self.factor(scope, end))
            factors += 1
        if coef is None and factors == 0:
            raise self.error(f"expected a term, found {self.found()}")
        return (1.0 if coef is None else coef), scope.build(slots, start)

    def factor(self, scope: _Scope, end: int) -> list[tuple[int, bool, int]]:
        """'~'* primary: the slots (edge, barred, position) it contributes, in reading order."""
        barred = False
        while self.peek() == "~":
            barred = True
            self.pos += 1
            self.skip_ws()
        if self.pos >= end:
            raise self.error("expected a tensor after '~'")
        slots = self.primary(scope, end)
        if barred:
            slots = [(e, True, p) for e, _, p in slots]
        return slots

    def primary(self, scope: _Scope, end: int) -> list[tuple[int, bool, int]]:
        start = self.pos
        ch = self.peek()
        if ch == "[":
            return self.bracket(scope)
        if ch == "(":
            close = self.match[start]
            if (
                self.has_bar(start + 1, close)
                or self.text.startswith("_", close + 1)
                or self.is_subexpression(start + 1, close)
            ):
                atom = self.paren_atom()
                return scope.assign(atom, self.portion(atom), start)
            return self.group(scope)
        if ch in DIGITS or ch == ".":
            m = self.number(COEFFICIENT)
            if not m:
                raise self.error(f"expected a tensor, '[', '(' or '~', found {self.found()}")
            token = m.group()
            if set(token) == {"1"}:
                token = "1"  # 11 is two ones, as in the paper's [ZC(~11)]
            if token != "1":
                raise self.error(
                    f"the number {token} can only start a term (a coefficient); the literal 1 is the all-ones vector"
                )
            atom = self.ones_atom()
            if self.peek() == "_":
                raise self.error("1 takes no positions: it is one dimension (write (1 1) for two)")
            return scope.assign(atom, (1,), start)
        named = self.named_atom(end)
        if named is None:
            raise self.error(f"expected a tensor, '[', '(' or '~', found {self.found()}")
        return scope.assign(named, self.portion(named), named.pos)

    def bracket(self, scope: _Scope) -> list[tuple[int, bool, int]]:
        """'[' member member ... ']': the members' dimensions fused element-wise."""
        start = self.pos
        close = self.match[start]
        self.enter(start)
        self.pos += 1
        members: list[tuple[int, list[tuple[int, bool, int]]]] = []
        while True:
            self.skip_ws()
            if self.pos >= close:
                break
            at = self.pos
            if self.peek() in "+-|,":
                raise self.error(
                    f"unexpected {self.found()} inside brackets: brackets hold juxtaposed factors "
                    "(a sum goes in parentheses, index notation is (A_ij B_jk | ik))"
                )
            members.append((at, self.factor(scope, close)))
        self.pos = close + 1
        self.leave()
        if not members:
            raise self.error("empty brackets: '[' needs at least one member", start)
        k = len(members[0][1])
        for at, slots in members[1:]:
            if len(slots) != k:
                raise self.error(
                    f"the members of a bracket must have the same number of dimensions: the first member has {k}, "
                    f"this one has {len(slots)}",
                    at,
                )
        fused = []
        for t in range(k):
            edge = members[0][1][t][0]
            barred = members[0][1][t][1]
            for at, slots in members[1:]:
                scope.fuse(edge, slots[t][0], at)
                barred = barred or slots[t][1]
            if not barred:  # a summed fused dimension is closed: it takes no part in what follows
                fused.append((edge, False, start))
        return fused

    def group(self, scope: _Scope) -> list[tuple[int, bool, int]]:
        """'(' factor factor ... ')': a formal Kronecker group (its slots, concatenated)."""
        start = self.pos
        close = self.match[start]
        self.enter(start)
        self.pos += 1
        slots: list[tuple[int, bool, int]] = []
        count = 0
        while True:
            self.skip_ws()
            if self.pos >= close:
                break
            if self.peek() in "|,":
                raise self.error(f"unexpected {self.found()}")
            slots.extend(self.factor(scope, close))
            count += 1
        self.pos = close + 1
        self.leave()
        if not count:
            raise self.error("empty parentheses", start)
        return slots

    def paren_atom(self) -> _Atom:
        """'(' expression ')' or '(' index product ')': a tensor of its own."""
        start = self.pos
        close = self.match[start]
        self.enter(start)
        e = self.content(start + 1, close)
        self.pos = close + 1
        self.leave()
        return _Atom("(...)", start, e, "tensor", e.ndim, e)

    def portion(self, atom: _Atom) -> tuple[int, ...]:
        """'_' followed by positions (digits 1-9, or {10,11}); the whole tensor without it."""
        if self.peek() != "_":
            return tuple(range(1, atom.ndim + 1))
        self.pos += 1
        braced = self.peek() == "{"
        positions = self.positions(f"after {atom.name}_")
        if braced and len(positions) == 1 and positions[0] > atom.ndim >= 1:
            digits = str(positions[0])
            if "0" not in digits and len(digits) > 1 and all(int(d) <= atom.ndim for d in digits):
                positions = tuple(int(d) for d in digits)  # X_{23}: the paper's LaTeX spelling of X_23
        if not positions and atom.ndim:
            raise self.error(f"empty portion: {atom.name} has {atom.ndim} dimension(s)")
        return positions

    # -- atoms -----------------------------------------------------------------------------------
    def ones_atom(self) -> _Atom:
        start = self.pos
        self.pos += 1  # the digit 1
        size = self.size_braces("1") if self.peek() == "{" else None
        return _Atom("1", start, None, "ones", 1, None, size[0] if size else None)

    def named_atom(self, end: int) -> _Atom | None:
        """A named tensor (the first of several written together, such as uvw), I, or f^P(...)."""
        start = self.pos
        ch = self.peek()
        if ch == "`":
            name = self.quoted()
            e = self.lookup(name, start)
            return _Atom(name, start, e, "tensor", e.ndim, name)
        run = self.name_run(end)
        if not run:
            return None
        if self.peek() == "_":
            run = self.underscored_function_name(run, start, end)
        after = self.peek()
        if run == "I":
            if "I" in self.bindings:
                raise self.error("I is the identity tensor; write a tensor bound to the name I as `I`", start)
            size, order = self.size_braces("I") if after == "{" else (None, 2)
            return _Atom("I", start, None, "delta", order, ("I", size, order), size)
        if (after and after in "(^") or (run == "pow" and after == "{"):
            fn = self.function(run, start)
            if fn is not None:
                return fn
        # names written together (the paper's uvw) are separate factors: read the first one only
        name = self.first_name(run, start)
        self.pos = start + len(name)
        e = self.bindings[name]
        return _Atom(name, start, e, "tensor", e.ndim, name)

    def first_name(self, run: str, start: int) -> str:
        """The first of the bound names a run of letters and digits (at `start` in the text) is
        made of: the whole run if bound, else the names written together (the paper's uvw), the
        longest bound name first, as `split_names` splits it."""
        if run in self.bindings:
            return run
        origin, best = self.name_splits(run, start)
        stop = best[start - origin]
        return run[: stop - start] if stop > start else self.unsplittable(run, start)

    def split_names(self, run: str, start: int) -> list[tuple[str, int]]:
        """A run of letters and digits as bound names: the whole run if bound, else names written
        together (the paper's uvw), the longest bound name first. Each is (name, offset in run)."""
        if run in self.bindings:
            return [(run, 0)]
        origin, best = self.name_splits(run, start)
        if best[start - origin] <= start:
            self.unsplittable(run, start)
        found, i = [], start
        while i < start + len(run):
            found.append((self.text[i : best[i - origin]], i - start))
            i = best[i - origin]
        return found

    def name_splits(self, run: str, start: int) -> tuple[int, list[int]]:
        """(origin, best): for each text position p of the run, best[p - origin] is the end (in
        the text) of the longest bound name at p after which the rest of the run still splits
        into bound names, -1 where none does. Computed from the right in O(len(run) * longest
        name) and kept for the run's end, so that reading a long run name by name stays linear
        (the rest of a run is a suffix, whose splits are the same)."""
        end = start + len(run)
        cached = self.splits.get(end)
        if cached is not None and cached[0] <= start:
            return cached
        longest = self.longest_name
        bindings = self.bindings
        best = [-1] * (len(run) + 1)
        best[len(run)] = end  # the empty rest splits
        for i in range(len(run) - 1, -1, -1):
            for j in range(min(len(run), i + longest), i, -1):
                if best[j] >= 0 and (j == len(run) or is_name_start(run[j])) and run[i:j] in bindings:
                    best[i] = start + j
                    break
        self.splits[end] = (start, best)
        return start, best

    def unsplittable(self, run: str, start: int) -> NoReturn:
        """The error for a run that is not made of bound names: name its first piece that is
        not bound, reading greedily from the left."""
        i = 0
        longest = self.longest_name
        while True:
            for j in range(min(len(run), i + longest), i, -1):
                if run[i:j] in self.bindings and (j == len(run) or is_name_start(run[j])):
                    i = j
                    break
            else:
                break
        bad = run[i:] or run
        if bad in registered() or bad == "pow":
            raise self.error(f"{bad} is a function: write {bad}(...) with no space before '('", start + i)
        raise self.lookup_error(bad, start + i)

    def function(self, name: str, start: int) -> _Atom | None:
        """f(...), f^P(...) (eq. 27, P 1-based) or pow{p}(...); None if `name` is no function.
        A family (max, min, ...) takes the member for the argument's axes that P leaves."""
        fn: Function | None
        family = None
        if name == "pow" and self.peek() == "{":
            fn = power_function(self.exponent_braces())
        else:
            fn = registered().get(name)
            if fn is None:
                if not is_family(name):
                    return None
                family = name
        axes = None
        if self.peek() == "^":
            self.pos += 1
            axes = [p - 1 for p in self.positions(f"after {name}^")]
        if self.peek() != "(":
            raise self.error(f"expected '(' after the function {name}, found {self.found()}")
        open_ = self.pos
        close = self.match[open_]
        self.enter(open_)
        if fn is not None and fn.arity > 1:  # f(A, B, ...): the arguments split at the top-level commas
            cuts = [i for i, ch in self.top_level(open_ + 1, close) if ch == ","]
            bounds = zip([open_ + 1, *(c + 1 for c in cuts)], [*cuts, close])
            args = [self.content(a, b) for a, b in bounds]
        else:
            arg = self.content(open_ + 1, close)
        self.pos = close + 1
        self.leave()
        try:
            if family is not None:
                fn = family_member(family, arg.ndim - (len(axes) if axes else 0))
            if fn is None:  # pragma: no cover - a family always has a member
                raise self.error(f"unknown function {name!r}", start)
            if fn.arity > 1:
                if axes is not None:
                    raise self.error(f"{name} is a function of {fn.arity} tensors and takes no positions ^P", start)
                e = call(fn, *args)
            else:
                e = apply(fn, arg, axes)
        except TnetError as err:
            raise self.error(f"cannot apply {name}: {err}", start) from None
        return _Atom(f"{name}(...)", start, e, "tensor", e.ndim, e)

    # -- index notation --------------------------------------------------------------------------
    def index_product(self, start: int, end: int) -> Expr:
        """[coefficient] factor_indices ... '|' output indices (sec. 2.1, eq. 1)."""
        self.pos = start
        self.skip_ws()
        coef = self.coefficient()
        factors: list[tuple[_Atom, list[str], int]] = []
        while True:
            self.skip_ws()
            if self.pos >= end:
                raise self.error("index notation needs '|' followed by the output indices")
            if self.peek() == "|":
                break
            factors.append(self.index_factor(end))
        bar = self.pos
        self.pos += 1
        output = self.index_list(end)
        if not factors:
            raise self.error("expected factors such as A_ij before '|'", bar)
        sizes: dict[str, Size | None] = {}
        where: dict[str, str] = {}
        for atom, idx, pos in factors:
            for k, name in enumerate(idx):
                size = atom.dim_size(k + 1)
                merged = _merge_sizes(sizes.get(name), size)
                if merged is False:
                    raise self.error(
                        f"index {name} has size {size} in {atom.name} but size {sizes[name]} in {where[name]}", pos
                    )
                sizes[name] = merged
                where.setdefault(name, atom.name)
        seen = set()
        for name, pos in output:
            if name not in sizes:
                raise self.error(f"the output index {name} appears in no factor", pos)
            if name in seen:
                raise self.error(f"the output index {name} appears twice (use I for a diagonal)", pos)
            seen.add(name)
        labels = [list(idx) for _, idx, _ in factors]
        operands = self.placeholders([a for a, _, _ in factors], [p for _, _, p in factors], labels, sizes)
        e = self.combine(operands, labels, [name for name, _ in output], start)
        if coef is not None and coef != 1:
            e = scale(e, coef)
        return e

    def index_factor(self, end: int) -> tuple[_Atom, list[str], int]:
        """A tensor and its indices, such as A_ij, 1_i, I_ij, tanh(A)_ij or (...)_ij."""
        start = self.pos
        ch = self.peek()
        if ch == "(":
            atom = self.paren_atom()
        elif ch in DIGITS or ch == ".":
            m = self.number(COEFFICIENT)
            if not m or m.group()[:1] != "1" or set(m.group()) != {"1"}:
                raise self.error("a number can only come first, as the coefficient")
            atom = self.ones_atom()
        else:
            found = self.named_atom(end)
            if found is None:
                raise self.error(f"expected a factor such as A_ij, found {self.found()}")
            atom = found
        return atom, self.indices(atom), start

    def indices(self, atom: _Atom) -> list[str]:
        """'_' and exactly ndim indices: single letters, or {name1 name2} for longer names."""
        if atom.ndim == 0:
            if self.text.startswith("_{}", self.pos):
                self.pos += 3
            return []
        example = "ijklmnpq"[: min(atom.ndim, 8)]
        if self.peek() != "_":
            raise self.error(f"{atom.name} needs {atom.ndim} index(es), as in {atom.name}_{example}")
        self.pos += 1
        idx: list[str] = []
        groups: list[list[str]] = []
        while len(idx) < atom.ndim:
            ch = self.peek()
            if ch == "{":
                close = self.match[self.pos]
                names = self.brace_names(self.pos, close)
                groups.append(names)
                idx.extend(names)
                self.pos = close + 1
            elif ch and is_name_start(ch):
                idx.append(ch)
                self.pos += 1
            else:
                break
        if len(groups) == 1 and len(idx) == 1 and len(idx[0]) == atom.ndim and idx[0].isalpha():
            idx = list(idx[0])  # A_{ij}: the paper's LaTeX spelling of A_ij
        if len(idx) != atom.ndim:
            raise self.error(f"{atom.name} has {atom.ndim} dimension(s) but {len(idx)} index(es) are given")
        return idx

    def brace_names(self, open_: int, close: int) -> list[str]:
        names = [x for x in re.split(r"[\s,]+", self.text[open_ + 1 : close]) if x]
        for name in names:
            if not is_plain_name(name):
                raise self.error(f"an index name is letters and digits, found {name!r}", open_ + 1)
        if not names:
            raise self.error("empty braces: expected index names", open_)
        return names

    def index_list(self, end: int) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        while True:
            self.skip_ws()
            if self.pos >= end:
                return out
            ch = self.peek()
            if ch == "{":
                close = self.match[self.pos]
                out.extend((name, self.pos) for name in self.brace_names(self.pos, close))
                self.pos = close + 1
            elif is_name_start(ch):
                out.append((ch, self.pos))
                self.pos += 1
            else:
                raise self.error(f"expected an output index (a letter or {{name}}), found {self.found()}")


def parse(text: str, /, **tensors: Any) -> Expr:
    """Read bracket notation (sec. 2.3) or index notation (sec. 2.1) into an expression.

    Keyword arguments bind the tensor names used in the text to tnet expressions or numeric
    arrays (an array becomes `Constant(name, array)`). ``1`` (the all-ones tensor) and ``I`` (the
    identity) need no binding: their sizes come from what they are fused with.

    Examples (A, B matrices, G, B, W of expression 48)::

        parse("(A_ij B_jm | im)", A=A, B=B)           # eq. 1: A @ B
        parse("A_1[~A_2 B_1]B_2", A=A, B=B)           # the same product in bracket notation
        parse("[A_1 B_3][A_2 B_2]A_3 B_1", A=A, B=B)  # eq. 8: A^{12} ⊙^{32} B
        parse("[G_1 B_1][B_2 W_1][~G_2 W_2]", G=G, B=B, W=W)  # expression 48: B ⊙ (G W^T)
        parse("2 A_1[A_2 B_1]B_2 - [~A B]", A=A, B=B)  # sums of terms with coefficients
        parse("softmax^1(A)", A=A)                    # f^P(X), eq. 27

    The text may open with definition lines, ``t1 = tanh(X_1[~X_2 W_1]W_2)``, one per line,
    each naming an expression for the lines after it: `to_bracket` writes a large expression so.

    Raises `tnet.ParseError` naming the position in the text and what was expected.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse: the text must be a str, got {type(text).__name__}")
    return read_definitions(text, bind(tensors, "parse"), _read)


def _read(text: str, bindings: Mapping[str, Expr], defined: set[Expr]) -> Expr:
    parser = _Parser(text, bindings, defined)
    return parser.guarded(parser.parse)
