"""Differentiation: remove one node occurrence at a time and contract what remains.

- `differential(f, X)`: the paper's rule of sec. 4.2. The differential of a product term is the
  sum, over each occurrence of a tensor that depends on X, of the term with that occurrence
  replaced by its differential; d(X) is a node; a sum is linear; f^P(A) uses its function's
  rule (eq. 17, eq. 32, or a direct rule such as d(X^-1) = -X^-1 dX X^-1).
- `grad(f, X)`: the generalized gradient (eq. 28): X's axes first, then f's. It runs the same
  rule backwards over the hash-consed DAG: the gradient with respect to one node occurrence is
  the network with that occurrence removed, its legs' edges becoming the output, contracted
  with the gradient of the network itself. Shared sub-expressions get one gradient each, so
  the gradients of many variables share their work, as backpropagation does.
- `jacobian(f, X)`: f's axes first, then X's; `hessian(f, X) = jacobian(grad(f, X), X)`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import singledispatch
from typing import Any, overload

import numpy as np

from .errors import DifferentiationError
from .expr import Apply, Call, Delta, Differential, Expr, Hole, Leaf, Ones, Sum, Variable, Zero, mark_derived, walk
from .network import Network, as_terms, combine, fresh, linear_combination
from .ops import permute
from .simplify import Simplifier


def _check_variable(x: Any) -> Variable:
    if not isinstance(x, Variable) or isinstance(x, Differential):
        if isinstance(x, Expr):
            what = x.label
        elif isinstance(x, np.ndarray):
            what = f"of shape {x.shape}"
        else:
            what = repr(x)
        raise DifferentiationError(f"can only differentiate with respect to a Variable, got {type(x).__name__} {what}")
    return x


def _variables_argument(x: Any) -> tuple[bool, list[Variable]]:
    """(was a single variable given, the checked variables) for grad's and differential's X."""
    single = not isinstance(x, (list, tuple))
    return single, [_check_variable(v) for v in ([x] if single else x)]


def _dependents(order: Sequence[Expr], targets: Sequence[Expr]) -> set[Expr]:
    """The expressions in `order` (children before parents, as `walk` gives) that depend on any
    target."""
    wanted = set(targets)
    dep: set[Expr] = set()
    for e in order:
        if e in wanted or any(c in dep for c in e.children):
            dep.add(e)
    return dep


def _argument_in_batch_order(e: Apply) -> tuple[Expr, tuple[int, ...]]:
    """The argument of f^P(A) with the axes P first, and that permutation."""
    order = e.axes + e.core_axes
    if order == tuple(range(e.arg.ndim)):
        return e.arg, order
    return permute(e.arg, order), order


def _local_differential(e: Apply) -> tuple[Expr, Hole, tuple[int, ...]]:
    """The function's rule at e, linear in a Hole standing for d(argument in batch order)."""
    if not e.fn.has_rule:
        raise DifferentiationError(f"the function {e.fn.name!r} has no derivative rule")
    x, order = _argument_in_batch_order(e)
    hole = Hole(*x.shape)
    return e.fn.differential(x, hole, e, len(e.axes)), hole, order


def _local_partials(e: Call, dependent: set[Expr]) -> list[tuple[int, Expr, Hole]]:
    """For each argument i of f(A_1, ..., A_k) that depends on the variables: f's rule for
    argument i at e, linear in a Hole standing for dA_i."""
    out = []
    for i, a in enumerate(e.args):
        if a in dependent:
            hole = Hole(*a.shape)
            out.append((i, e.fn.partial_differential(i, e.args, hole, e, e.nbatch), hole))
    return out


# ---------------------------------------------------------------------------------------------
# forward: the differential
# ---------------------------------------------------------------------------------------------
def substitute(e: Expr, node: Expr, value: Expr, holes: HoleIndex | None = None) -> Expr:
    """e with every occurrence of `node` replaced by `value`, where e is linear in `node`:
    the result is a flat sum of products (each occurrence's term expanded).

    With `holes` (when `node` is a Hole), only the sub-expressions that hold a Hole are visited:
    the work is proportional to the part of e above the hole, not to the graph below it."""
    order = walk([e], within=None if holes is None else holes.holds_hole)
    dependent = _dependents(order, [node])
    memo: dict[Expr, Expr] = {node: value}
    for x in order:  # children before parents, so each dependent child is already in memo
        if x is node or x not in dependent:
            continue
        if isinstance(x, Sum):
            memo[x] = linear_combination([(c, memo.get(t, t)) for c, t in x.terms_])
        elif isinstance(x, Network):
            positions = [i for i, n in enumerate(x.nodes) if n in dependent]
            memo[x] = _replace_occurrences(x, positions, memo.__getitem__)
        else:
            raise DifferentiationError(f"{x.label} is not linear in the quantity being substituted")
    return memo.get(e, e)


class HoleIndex:
    """Which expressions hold a Hole, remembered over one derivation.

    A function's derivative rule builds a few new expressions around a Hole on top of the
    forward graph (its argument, its own output); the forward graph holds no Hole. Asking this
    index, each forward expression is looked at once per derivation, so expanding every rule
    costs time proportional to the rule, not to the graph below it."""

    def __init__(self) -> None:
        self.holds: dict[Expr, bool] = {}

    def holds_hole(self, e: Expr) -> bool:
        holds = self.holds
        if e in holds:
            return holds[e]
        stack: list[tuple[Expr, bool]] = [(e, False)]
        while stack:
            x, ready = stack.pop()
            if x in holds:
                continue
            if ready:
                holds[x] = isinstance(x, Hole) or any(holds[c] for c in x.children)
                continue
            stack.append((x, True))
            stack.extend((c, False) for c in x.children if c not in holds)
        return holds[e]


def _replace_occurrences(net: Network, positions: Sequence[int], replace: Callable[[Expr], Expr]) -> Expr:
    """sum over positions i of net with node i replaced by replace(node i), each term expanded."""
    terms = []
    labels = [list(leg) for leg in net.legs]
    for i in positions:
        for c, t in as_terms(replace(net.nodes[i])):
            nodes = list(net.nodes)
            nodes[i] = t
            terms.append((c, combine(nodes, labels, list(net.output), net.coef, inline=[i])))
    if not terms:
        return Zero(*net.shape)
    return linear_combination(terms)


class _Forward:
    """One differential computation: d of each expression that depends on the variables, once."""

    def __init__(self, f: Expr, xs: Sequence[Variable]) -> None:
        self.order = walk([f])
        self.dependent = _dependents(self.order, xs)
        self.memo: dict[Expr, Expr] = {}
        self.holes = HoleIndex()

    def __call__(self, e: Expr) -> Expr:
        if e not in self.dependent:
            return Zero(*e.shape)
        out = self.memo.get(e)
        if out is None:
            out = self.memo[e] = _differential_of(e, self)
        return out

    def run(self) -> Expr:
        """d of the whole expression, children first (no recursion, however deep the graph)."""
        for e in self.order:
            self(e)
        return self(self.order[-1])


@singledispatch
def _differential_of(e: Expr, d: _Forward) -> Expr:
    """d e, given `d` for e's children: one rule per node kind (sec. 4.2)."""
    raise DifferentiationError(f"cannot differentiate {type(e).__name__}")


@_differential_of.register
def _(e: Leaf, d: _Forward) -> Expr:
    # only a Variable depends on anything; every other leaf is a constant
    return Differential(e) if isinstance(e, Variable) else Zero(*e.shape)


@_differential_of.register
def _(e: Sum, d: _Forward) -> Expr:
    return linear_combination([(c, d(t)) for c, t in e.terms_])


@_differential_of.register
def _(e: Network, d: _Forward) -> Expr:
    return _replace_occurrences(e, [i for i, n in enumerate(e.nodes) if n in d.dependent], d)


@_differential_of.register
def _(e: Apply, d: _Forward) -> Expr:
    local, hole, order = _local_differential(e)
    darg = d(e.arg)
    if order != tuple(range(e.arg.ndim)):
        darg = permute(darg, order)
    return substitute(local, hole, darg, d.holes)


@_differential_of.register
def _(e: Call, d: _Forward) -> Expr:
    """d f(A_1, ..., A_k) = Σ_i (f's rule for argument i applied to dA_i)."""
    parts = [
        (1.0, substitute(local, hole, d(e.args[i]), d.holes)) for i, local, hole in _local_partials(e, d.dependent)
    ]
    return linear_combination(parts) if parts else Zero(*e.shape)


def differential(f: Expr, x: Variable | Sequence[Variable]) -> Expr:
    """d f: an expression linear in d(X) (a new tensor of X's shape named "dX"), with one term
    per occurrence of X (sec. 4.2). A list of variables gives the total differential."""
    _, xs = _variables_argument(x)
    df = _Forward(f, xs).run()
    mark_derived([df], [f, *xs, *(Differential(v) for v in xs)])  # a Zero df still takes X, dX
    return df


# ---------------------------------------------------------------------------------------------
# backward: gradients
# ---------------------------------------------------------------------------------------------
def remove_node(net: Network, i: int, upstream: Expr | None = None) -> Expr:
    """The gradient of `net` with respect to its node occurrence i: the node is removed and its
    legs' edges become the leading output edges, in its axis order.

    With `upstream` None, net's own output edges follow (the gradient of the term itself).
    Otherwise `upstream` is the gradient of whatever consumes net (net's axes first, then the
    loss's axes F): it is attached to net's output edges and F follows.
    A leg whose edge is already an output (fused), or that an earlier leg of the node already
    brought out (a trace), gets a Delta node that keeps the two axes apart."""
    nodes = [n for k, n in enumerate(net.nodes) if k != i]
    labels: list[list[Any]] = [list(leg) for k, leg in enumerate(net.legs) if k != i]
    if upstream is None:
        trailing: list[Any] = list(net.output)
    else:
        trailing = [fresh() for _ in range(upstream.ndim - net.ndim)]
        nodes.append(upstream)
        labels.append(list(net.output) + trailing)
    output: list[Any] = []
    for edge in net.legs[i]:
        if edge in output or edge in trailing:
            twin = fresh()
            nodes.append(Delta(net.sizes[edge], 2))
            labels.append([edge, twin])
            output.append(twin)
        else:
            output.append(edge)
    covered = {e for lab in labels for e in lab}
    bare = [e for e in output if e not in covered]
    if bare:  # the removed node was the only one on these edges: the gradient is all ones there
        nodes.append(Ones(*[net.sizes[e] for e in bare]))
        labels.append(bare)
    return combine(nodes, labels, output + trailing, net.coef, inline=False)


def gradient_of_differential(df: Expr, x: Variable) -> Expr:
    """The gradient read off a differential (eq. 29): the dX node removed from each term, its
    legs' edges leading the output, then f's axes. `df` must be linear in dX; it is expanded
    first so that each term holds dX exactly once."""
    x = _check_variable(x)
    dx = Differential(x)
    terms = []
    flat = substitute(df, dx, dx)  # expand sums around dX so that it is a node of each term
    for c, net in as_terms(flat):
        where = [i for i, n in enumerate(net.nodes) if n is dx]
        if len(where) != 1:
            raise DifferentiationError(
                f"a term of the differential holds d{x.name} {len(where)} times; it must be linear in d{x.name}"
            )
        terms.append((c, remove_node(net, where[0])))
    g = linear_combination(terms) if terms else Zero(*(x.shape + df.shape))
    mark_derived([g], [df])
    return g


def _seed(f: Expr) -> Expr:
    """∇_f f: the scalar 1, or the identity of f's shape (f's axes, then f's axes again)."""
    a = [fresh() for _ in f.shape]
    b = [fresh() for _ in f.shape]
    return combine([Delta(s, 2) for s in f.shape], [[x, y] for x, y in zip(a, b)], a + b)


def _pullback(local: Expr, hole: Hole, upstream: Expr, holes: HoleIndex) -> list[tuple[Any, Expr]]:
    """Contributions to the gradient of the quantity `hole` stands for, from an expression
    `local` linear in it: each occurrence removed in turn (the transpose of `local`)."""
    flat = substitute(local, hole, hole, holes)  # expand so that the hole is a direct node of each term
    out = []
    for c, net in as_terms(flat):
        for i, node in enumerate(net.nodes):
            if node is hole:
                out.append((c, remove_node(net, i, upstream)))
    return out


class _Backward:
    """One reverse sweep: the gradient contributions collected for each expression."""

    def __init__(self, dependent: set[Expr]) -> None:
        self.dependent = dependent
        self.contributions: dict[Expr, list[tuple[Any, Expr]]] = defaultdict(list)
        self.holes = HoleIndex()

    def add(self, e: Expr, c: Any, g: Expr) -> None:
        if e in self.dependent:
            self.contributions[e].append((c, g))


@singledispatch
def _pull_back(e: Expr, g: Expr, back: _Backward) -> None:
    """Send the gradient g of e to e's children: one rule per node kind."""
    raise DifferentiationError(f"cannot differentiate {type(e).__name__}")


@_pull_back.register
def _(e: Leaf, g: Expr, back: _Backward) -> None:
    pass  # a Variable's gradient is complete; other leaves depend on nothing


@_pull_back.register
def _(e: Sum, g: Expr, back: _Backward) -> None:
    for c, t in e.terms_:
        back.add(t, c, g)


@_pull_back.register
def _(e: Network, g: Expr, back: _Backward) -> None:
    for i, node in enumerate(e.nodes):
        if node in back.dependent:
            back.add(node, 1.0, remove_node(e, i, g))


@_pull_back.register
def _(e: Apply, g: Expr, back: _Backward) -> None:
    local, hole, order = _local_differential(e)
    for c, term in _pullback(local, hole, g, back.holes):
        if order != tuple(range(e.arg.ndim)):  # back to the argument's own axis order
            position = {axis: k for k, axis in enumerate(order)}
            axes = [position[a] for a in range(e.arg.ndim)]
            term = permute(term, axes + list(range(e.arg.ndim, term.ndim)))
        back.add(e.arg, c, term)


@_pull_back.register
def _(e: Call, g: Expr, back: _Backward) -> None:
    for i, local, hole in _local_partials(e, back.dependent):
        for c, term in _pullback(local, hole, g, back.holes):
            back.add(e.args[i], c, term)


def backprop(f: Expr, xs: Sequence[Variable]) -> dict[Expr, Expr]:
    """The gradient of f with respect to every sub-expression that depends on xs (a dict keyed
    by those sub-expressions), by one reverse sweep over the DAG."""
    order = walk([f])
    back = _Backward(_dependents(order, xs))
    if f not in back.dependent:
        return {}
    back.add(f, 1.0, _seed(f))
    grads: dict[Expr, Expr] = {}
    for e in reversed(order):
        collected = back.contributions.pop(e, None)
        if collected is None:
            continue
        g = grads[e] = linear_combination(collected)
        if not isinstance(g, Zero):
            _pull_back(e, g, back)
    return grads


@overload
def grad(f: Expr, x: Variable, *, simplify: bool = True) -> Expr: ...
@overload
def grad(f: Expr, x: Sequence[Variable], *, simplify: bool = True) -> list[Expr]: ...
def grad(f: Expr, x: Variable | Sequence[Variable], *, simplify: bool = True) -> Expr | list[Expr]:
    """The generalized gradient ∇_X f (eq. 28): X's axes first, then f's.

    With a list of variables, a list of gradients, built and simplified together so that they
    share their common sub-expressions."""
    if not isinstance(f, Expr):
        raise TypeError(f"grad: f must be a tnet expression, got {type(f).__name__}")
    single, xs = _variables_argument(x)
    grads = backprop(f, xs)
    results = [_project(v, grads.get(v) or Zero(*(v.shape + f.shape))) for v in xs]
    if simplify:  # the variables are recorded once, below (each gradient's are among them)
        results = Simplifier(results).run(results)
    mark_derived(results, [f, *xs])  # a Zero gradient still takes X's binding (and its sizes)
    return results[0] if single else results


def _project(v: Variable, g: Expr) -> Expr:
    """The gradient with respect to a structured variable: the unconstrained gradient G (v's
    two axes first) projected onto the structure. Symmetric: sym(G) = (G + Gᵀ)/2, the gradient
    for the inner product on symmetric matrices (Srinivasan and Panda, 2020), not the older
    G + Gᵀ - diag(G), which is the derivative with respect to the n(n+1)/2 free entries.
    Diagonal: G ⊙ I, the diagonal of G."""
    if v.structure is None or isinstance(g, Zero):
        return g
    rest = list(range(2, g.ndim))
    if v.structure == "symmetric":
        return linear_combination([(0.5, g), (0.5, permute(g, [1, 0, *rest]))])
    i, j = fresh(), fresh()
    others = [fresh() for _ in rest]
    return combine([g, Delta(v.shape[0], 2)], [[i, j, *others], [i, j]], [i, j, *others])


def jacobian(f: Expr, x: Variable, *, simplify: bool = True) -> Expr:
    """The generalized Jacobian: f's axes first, then X's."""
    g = grad(f, x, simplify=simplify)
    nx_, nf = x.ndim, f.ndim
    j = permute(g, list(range(nx_, nx_ + nf)) + list(range(nx_)))
    mark_derived([j], [f, x])
    return j


def hessian(f: Expr, x: Variable, *, simplify: bool = True) -> Expr:
    """jacobian(grad(f, X), X): for a scalar f, X's axes twice."""
    return jacobian(grad(f, x, simplify=simplify), x, simplify=simplify)
