"""Matrix notation out: `to_matrix`.

A product term whose dimensions each join at most two tensors is a chain of matrix products
with transposes (traces for cycles, outer products for two vectors); fused dimensions become
Hadamard products and diag(v); anything else is written in einsum form. The term is rewritten
on a small model of matrix formulas (`_Mat` and its kinds below), which knows each formula's
rank and how to transpose it, and then rendered. `parse_matrix` (matrix_in.py) reads the result
back."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from ..errors import ShapeError
from ..expr import Apply, Call, Delta, Expr, Ones, Zero, walk
from ..functions import PowerFunction
from ..network import EINSUM_ALPHABET, Network, UnionFind, as_terms, einsum_letters, tidy_network
from .names import Names, NameTable, format_number, format_positions, quote

__all__ = ["to_matrix"]


# ---------------------------------------------------------------------------------------------
# the model: a matrix formula, its rank, its transpose, its text
# ---------------------------------------------------------------------------------------------
# Ranks: 0 scalar, 1 column vector, -1 row vector, 2 matrix, n >= 3 an n-dimensional tensor.
def _rows_cols(rank: int) -> tuple[bool, bool]:
    return {0: (False, False), 1: (True, False), -1: (False, True)}.get(rank, (True, True))


class _Mat:
    """A matrix formula. `atomic`: it needs no parentheses as an operand.

    `render()` writes the formula from its parts' `written()`, which is each part's rendering,
    remembered; `_rendered` renders the parts children first, so that no rendering recurses
    deeper than one level however deeply the formula nests."""

    rank = 0
    atomic = True
    _written: str | None = None

    def written(self) -> str:
        if self._written is None:
            self._written = self.render()
        return self._written

    def t(self) -> _Mat:
        if self.rank == 0:
            return self
        return _T(self)

    def render(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def wrapped(self) -> str:
        return self.written() if self.atomic else "(" + self.written() + ")"


class _Sym(_Mat):
    """A tensor by name."""

    def __init__(self, text: str, rank: int) -> None:
        self.text, self.rank = text, rank

    def render(self) -> str:
        return self.text


class _Num(_Mat):
    """A number (a scalar)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def render(self) -> str:
        return "1.0" if self.value == 1 else format_number(self.value)  # a bare 1 is the ones vector


class _OnesM(_Mat):
    """The all-ones vector: bare 1 where a neighbour in a product gives its size, else 1{n}."""

    def __init__(self, size: Any, bare: bool = False, rank: int = 1) -> None:
        self.size, self.bare, self.rank = size, bare, rank

    def t(self) -> _Mat:
        return _OnesM(self.size, self.bare, -self.rank)

    def render(self) -> str:
        return ("1" if self.bare else f"1{{{self.size}}}") + ("^T" if self.rank == -1 else "")


class _Ident(_Mat):
    """The identity I{n}, or the copy tensor I{n,k} of order k."""

    def __init__(self, size: Any, order: int = 2) -> None:
        self.size, self.order, self.rank = size, order, order

    def t(self) -> _Mat:
        return self

    def render(self) -> str:
        return f"I{{{self.size}}}" if self.order == 2 else f"I{{{self.size},{self.order}}}"


class _Inv(_Mat):
    """X^-1, or X^-T once transposed."""

    def __init__(self, arg: _Mat, transposed: bool = False) -> None:
        self.arg, self.transposed, self.rank = arg, transposed, 2

    def t(self) -> _Mat:
        return _Inv(self.arg, not self.transposed)

    def render(self) -> str:
        mark = "^-T" if self.transposed else "^-1"
        if isinstance(self.arg, _Sym):
            return self.arg.text + mark
        return "(" + self.arg.written() + ")" + mark


class _Func(_Mat):
    """f(X) or f^P(X) (and tr, diag, det); `symmetric`: equal to its transpose (diag(v))."""

    def __init__(self, name: str, arg: _Mat, rank: int, caret: str = "", symmetric: bool = False) -> None:
        self.name, self.arg, self.rank, self.caret, self.symmetric = name, arg, rank, caret, symmetric

    def t(self) -> _Mat:
        return self if self.symmetric or self.rank == 0 else _T(self)

    def render(self) -> str:
        return f"{self.name}{self.caret}({self.arg.written()})"


class _Call(_Mat):
    """f(A, B, ...): a function of several tensors."""

    def __init__(self, name: str, args: list[_Mat], rank: int) -> None:
        self.name, self.args, self.rank = name, args, rank

    def render(self) -> str:
        return f"{self.name}({', '.join(a.render() for a in self.args)})"


class _Pow(_Mat):
    """X^⊙p, the element-wise power."""

    def __init__(self, arg: _Mat, p: float) -> None:
        self.arg, self.p, self.rank = arg, p, arg.rank

    def render(self) -> str:
        return f"{self.arg.wrapped()}^⊙{format_number(self.p)}"


class _T(_Mat):
    """X^T."""

    def __init__(self, arg: _Mat) -> None:
        self.arg = arg
        self.rank = -arg.rank if abs(arg.rank) == 1 else arg.rank

    def t(self) -> _Mat:
        return self.arg

    def render(self) -> str:
        return self.arg.wrapped() + "^T"


class _Einsum(_Mat):
    """einsum("spec", A, B, ...): a term with no matrix form."""

    def __init__(self, spec: str, args: list[_Mat], rank: int) -> None:
        self.spec, self.args, self.rank = spec, args, rank

    def render(self) -> str:
        return f'einsum("{self.spec}", ' + ", ".join(a.written() for a in self.args) + ")"


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
        return " ".join(f.wrapped() for f in self.factors)


class _Had(_Mat):
    """A ⊙ B ⊙ ...: the Hadamard product."""

    atomic = False

    def __init__(self, terms: list[_Mat]) -> None:
        self.terms = terms
        self.rank = terms[0].rank

    def render(self) -> str:
        return " ⊙ ".join(t.wrapped() for t in self.terms)


class _Scale(_Mat):
    """c X: a coefficient and a formula."""

    atomic = False

    def __init__(self, c: Any, arg: _Mat) -> None:
        while isinstance(arg, _Scale):
            c, arg = c * arg.c, arg.arg
        self.c: Any = c
        self.arg: _Mat = arg
        self.rank = arg.rank

    def t(self) -> _Mat:
        return _Scale(self.c, self.arg.t())

    def render(self) -> str:
        return _Add([(self.c, self.arg)]).render(lone=True)


class _Add(_Mat):
    """c1 X1 + c2 X2 + ...: a sum of two or more terms with coefficients."""

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
            body = a.written()
            if isinstance(a, (_Add, _Had)):
                body = "(" + body + ")"
            if mag == 1:
                text = body
                if lone and negative and not a.atomic and len(self.terms) == 1:
                    text = "(" + body + ")"
            else:
                text = format_number(mag) + " " + body
            if k == 0:
                out.append(("-" if negative else "") + text)
            else:
                out.append((" - " if negative else " + ") + text)
        return "".join(out)


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
    """A Hadamard product: nested ones flattened, coefficients moved to the front."""
    c, terms = _pull_scales(terms)
    if c != 1:
        return _Scale(c, _had(terms))
    flat: list[_Mat] = []
    for t in terms:
        flat.extend(t.terms if isinstance(t, _Had) else [t])
    return flat[0] if len(flat) == 1 else _Had(flat)


# ---------------------------------------------------------------------------------------------
# the printer: product terms rewritten into the model
# ---------------------------------------------------------------------------------------------
#: The rewriting of a product term into matrix products searches its components and recurses
#: once per nested Hadamard product, in time that grows with the cube of its factors (0.3 s at
#: 161 factors: the gradient of one weight of an 80-layer net, simplified into one product);
#: a larger term is written in einsum form, in linear time.
_MAX_REWRITTEN = 128

#: index letters past einsum's alphabet, for the einsum form of large terms (the reader takes
#: any letter): Latin Extended, Cyrillic, then CJK ideographs
_MORE_LETTERS = "".join(
    chr(c) for lo, hi in ((0x100, 0x250), (0x400, 0x482), (0x4E00, 0x9FFF)) for c in range(lo, hi) if chr(c).isalpha()
)


def _index_letters(count: int) -> str:
    """One letter per edge: einsum's alphabet, then more letters (a term of thousands of edges)."""
    letters = EINSUM_ALPHABET + _MORE_LETTERS
    if count > len(letters):
        raise ShapeError(f"a term with {count} edges has more edges than the einsum form can name")
    return letters[:count]


class _MatrixPrinter:
    """Matrix notation: a product term whose dimensions each join at most two tensors is a chain
    of matrix products with transposes (traces for cycles, outer products for two vectors); fused
    dimensions become Hadamard products and diag(v); anything else is written in einsum form."""

    def __init__(self, names: NameTable) -> None:
        self.names = names
        self.memo: dict[Expr, _Mat] = {}

    def definition(self, d: Expr) -> str:
        """``name = formula``: the definition of a sub-expression the name table shares (its own
        formula, not its name); from then on d is written as its name."""
        named = self.names.of
        with self.names.written_out(d) as name:
            for sub in walk([d], within=lambda x: x not in named)[:-1]:
                self.expr(sub)
            return f"{quote(name)} = {_rendered(self._expr(d))}"

    def top(self, e: Expr) -> _Mat:
        """The formula of e. Its sub-expressions are written first, children before parents, so
        that writing any one of them finds its children's formulas in `memo`: the printer never
        recurses deeper than one expression. What lies below a named sub-expression is not
        written."""
        named = self.names.of
        for sub in walk([e], within=lambda x: x not in named):
            self.expr(sub)
        return self.expr(e)

    def expr(self, e: Expr) -> _Mat:
        found = self.memo.get(e)
        if found is None:
            found = self._expr(e)
            self.memo[e] = found
        return found

    def _expr(self, e: Expr) -> _Mat:
        if e in self.names.of:
            return _Sym(quote(self.names.of[e]), e.ndim)
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
        letters = einsum_letters(e.ndim)
        return _Scale(0, _Einsum(",".join(letters) + "->" + letters, ones, e.ndim))

    def node(self, node: Expr) -> _Mat:
        if isinstance(node, Apply) and node not in self.names.of:
            return self.apply(node)
        if isinstance(node, Call) and node not in self.names.of:
            return _Call(node.fn.name, [self.expr(a) for a in node.args], node.ndim)
        return self.expr(node)

    def apply(self, e: Apply) -> _Mat:
        fn, arg, axes = e.fn, e.arg, e.axes
        a = self.expr(arg)
        if fn.name == "inv" and not axes and arg.ndim == 2:
            return _Inv(a)
        if fn.core_ndim == 0:
            base: _Mat = _Pow(a, fn.exponent) if isinstance(fn, PowerFunction) else _Func(fn.name, a, e.ndim)
            if axes == tuple(range(arg.ndim)):
                return base
            if arg.ndim == 2 and axes == (1, 0):
                return base.t()
        name = f"pow{{{format_number(fn.exponent)}}}" if isinstance(fn, PowerFunction) else fn.name
        caret = ""
        if axes and (fn.core_ndim != 0 or axes != tuple(range(arg.ndim))):
            caret = "^" + format_positions([x + 1 for x in axes])
        return _Func(name, a, e.ndim, caret)

    def term(self, net: Network) -> _Mat:
        tidy = tidy_network(net)
        found = None
        if len(tidy.output) <= 2 and len(tidy.nodes) <= _MAX_REWRITTEN:
            found = self.network(tidy)
        if found is None:
            found = self.einsum(tidy)
        if tidy.coef == 1:
            return found
        if isinstance(found, _Num):
            return _Num(tidy.coef * found.value)
        return _Scale(tidy.coef, found)

    def einsum(self, net: Network) -> _Mat:
        letters = _index_letters(net.num_edges)
        specs: list[str] = []
        args: list[_Mat] = []
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
        joined: UnionFind[Any] = UnionFind()
        first: dict[int, int] = {}
        for i, (_, legs) in enumerate(factors):
            for e in legs:
                if e in cut:
                    continue
                if e in first:
                    joined.union(first[e], i)
                else:
                    first[e] = i
        groups: dict[Any, list[int]] = defaultdict(list)
        for i in range(len(factors)):
            groups[joined.find(i)].append(i)
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
                found_subs = [self.reduce([factors[i] for i in comp], list(legs), sizes) for comp in found]
                subs = [sub for sub in found_subs if sub is not None]
                if len(subs) != len(found_subs):
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
    where no neighbouring factor gives the size. `eval_matrix` evaluates the result.

    An expression too large to write out (`names.SHARE_LIMIT`: a deep net's gradient) is
    written as lines ``t1 = ...`` defining its shared sub-expressions, children first, then the
    formula, which uses them by name; `parse_matrix` and `eval_matrix` read such lines too."""
    printer = _MatrixPrinter(NameTable([e], names, share=True))
    lines = [printer.definition(d) for d in printer.names.defined]
    return "\n".join([*lines, _rendered(printer.top(e))])


def _parts(m: _Mat) -> list[_Mat]:
    """The formulas m is written from."""
    found: list[_Mat] = []
    for value in vars(m).values():
        items = value if isinstance(value, list) else [value]
        for item in items:
            for part in item if isinstance(item, tuple) else (item,):
                if isinstance(part, _Mat):
                    found.append(part)
    return found


def _rendered(m: _Mat) -> str:
    """m's text, its parts rendered first (children before parents, no recursion)."""
    seen: set[int] = set()
    stack: list[tuple[_Mat, bool]] = [(m, False)]
    while stack:
        x, ready = stack.pop()
        if ready:
            x.written()
            continue
        if id(x) in seen:
            continue
        seen.add(id(x))
        stack.append((x, True))
        stack.extend((p, False) for p in _parts(x) if id(p) not in seen)
    return m.written()
