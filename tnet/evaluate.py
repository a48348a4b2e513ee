"""Running expressions on numpy arrays.

`evaluate` walks the hash-consed DAG once, so a sub-expression shared by several outputs (or
used twice in one) is computed once. Networks are contracted by `contract.py` after their
Delta and Ones nodes are folded away (`network.tidy_network`).

Two caches, both weak and both cleared by `tnet.clear_caches()`: the evaluation program of a
list of roots (`_PROGRAMS`, under the first root) and each network's prepared form
(`_PREPARED`). Neither changes a result."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import singledispatch
from typing import Any, overload

import numpy as np

from .contract import contract, plan_contraction
from .errors import BindingError, ShapeError
from .expr import Apply, Constant, Delta, Expr, Hole, Ones, Sum, Variable, Zero, walk
from .network import Network, einsum_letters, tidy_network
from .planners import check_planner


def _variables(order: Sequence[Expr]) -> dict[str, Variable]:
    found: dict[str, Variable] = {}
    for e in order:
        if isinstance(e, Variable):
            other = found.get(e.name)
            if other is not None and other is not e:
                raise BindingError(f"two different variables are named {e.name!r} (shapes {other.shape} and {e.shape})")
            found[e.name] = e
    return found


@dataclass
class _Program:
    """How to evaluate a list of roots: the order (children first), the variables, and for each
    step the intermediate results no later step needs (freed at once, as backprop would).

    The roots themselves are not held: in `order` each root is its index in the root list, so
    that the program can be cached under a weak reference to the first root."""

    order: list[Expr | int]
    rules: list[Callable[[Any, Evaluator], np.ndarray]]  # `_value_of`'s rule for each step
    variables: dict[str, Variable]
    release: list[list[Expr]]
    others: tuple[weakref.ref[Expr], ...]  # the roots after the first, for the cache check


#: first root -> the program of the last list of roots evaluated with it (weak keys: an entry
#: goes when its expression does); cleared by `tnet.clear_caches()`
_PROGRAMS: weakref.WeakKeyDictionary[Expr, _Program] = weakref.WeakKeyDictionary()


def clear_cache() -> None:
    """Forget every evaluation program and prepared network (they are rebuilt on demand)."""
    _PROGRAMS.clear()
    _PREPARED.clear()


def _program(roots: list[Expr]) -> _Program:
    """The evaluation program of a list of roots, cached so that evaluating the same
    expressions again costs no graph walk."""
    hit = _PROGRAMS.get(roots[0])
    if (
        hit is not None
        and len(hit.others) == len(roots) - 1
        and all(ref() is r for ref, r in zip(hit.others, roots[1:]))
    ):
        return hit
    walked = walk(roots)
    index = {r: k for k, r in reversed(list(enumerate(roots)))}
    last_use: dict[Expr, int] = {}
    for k, e in enumerate(walked):
        for c in e.children:
            last_use[c] = k
    release: list[list[Expr]] = [[] for _ in walked]
    for child, k in last_use.items():
        if child not in index:
            release[k].append(child)
    order: list[Expr | int] = [index.get(e, e) for e in walked]
    rules = [_value_of.dispatch(type(e)) for e in walked]
    program = _Program(order, rules, _variables(walked), release, tuple(weakref.ref(r) for r in roots[1:]))
    _PROGRAMS[roots[0]] = program
    return program


class Bindings:
    """Arrays bound to variables, with the size names they fix.

    Bindings are checked against the expression's own variables (`variables`) and the variables
    of the expressions it was derived from (`derived`, read off the roots' `derived_from`, which
    grad, jacobian, hessian and differential record): nothing else in the process matters. A
    binding for a derived-from variable that the expression no longer contains (∇_x a^T x = a)
    fixes the size names of its shape and is otherwise unused; so does a Variable object given as
    the key. Any other name is an error that lists the names it knows, unless `allow_unknown`
    (one environment of arrays for many expressions): then it is ignored. `sizes` fixes size
    names directly."""

    def __init__(
        self,
        variables: Mapping[str, Variable],
        bindings: Mapping[Any, Any],
        sizes: Mapping[str, int] | None = None,
        derived: Mapping[str, Variable] | None = None,
        allow_unknown: bool = False,
    ) -> None:
        derived = derived or {}
        self.arrays: dict[str, np.ndarray] = {}
        self.sizes: dict[str, int] = {}
        size_source: dict[str, str] = {}
        for name, size in (sizes or {}).items():
            if not isinstance(name, str) or not isinstance(size, (int, np.integer)) or size < 0:
                raise BindingError(f"sizes= maps size names to sizes >= 0, got {name!r}: {size!r}")
            self.sizes[name] = int(size)
            size_source[name] = "sizes="
        given: dict[str, Any] = {}
        absent: list[tuple[Variable, Any]] = []
        for key, value in bindings.items():
            if isinstance(key, Variable):
                name = key.name
            elif isinstance(key, str):
                name = key
            else:
                raise BindingError(f"a binding key must be a Variable or its name, got {key!r}")
            if name not in variables:
                if isinstance(key, Variable) or name in derived:
                    absent.append((key if isinstance(key, Variable) else derived[name], value))
                    continue
                if allow_unknown:
                    continue
                known = ", ".join(sorted(variables)) or "none"
                also = ", ".join(sorted(set(derived) - set(variables)))
                raise BindingError(
                    f"unknown variable {name!r} in the bindings; the expression's variables are: {known}"
                    + (f"; it was derived from expressions that also use: {also}" if also else "")
                )
            given[name] = value
        missing = [name for name in variables if name not in given]
        if missing:
            var = variables[missing[0]]
            raise BindingError(f"missing binding for variable {missing[0]!r} of shape {_fmt_shape(var.shape)}")
        checked = [(var, given[name]) for name, var in variables.items()] + absent
        for var, value in checked:
            name = var.name
            arr = np.asarray(value)
            if arr.dtype == object:
                raise BindingError(f"the binding for {name!r} is not a numeric array")
            if arr.ndim != var.ndim:
                raise BindingError(
                    f"the array bound to {name!r} has shape {arr.shape} ({arr.ndim} axes) but the "
                    f"variable has shape {_fmt_shape(var.shape)} ({var.ndim} axes)"
                )
            for axis, (want, got) in enumerate(zip(var.shape, arr.shape)):
                if isinstance(want, int):
                    if want != got:
                        raise BindingError(
                            f"the array bound to {name!r} has shape {arr.shape}, but axis {axis} of the "
                            f"variable has size {want} (got {got})"
                        )
                else:
                    if want in self.sizes and self.sizes[want] != got:
                        raise BindingError(
                            f"size {want!r} is {self.sizes[want]} from {size_source[want]} but {got} from "
                            f"axis {axis} of {name!r}"
                        )
                    self.sizes[want] = got
                    size_source[want] = f"axis {axis} of {name!r}"
            if name in variables:
                self.arrays[name] = arr

    def size(self, s: Any, what: str) -> int:
        if isinstance(s, int):
            return s
        try:
            return self.sizes[s]
        except KeyError:
            raise BindingError(f"size {s!r} of {what} is not fixed by any bound variable") from None


def _fmt_shape(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


@dataclass
class _Prepared:
    """A network ready to contract: its tidy nodes and legs (Delta and Ones folded away), the
    output edges the contraction computes, and the output edges that only a Ones node holds,
    which are broadcast at the end instead of multiplied in (the paper's 1 b^T)."""

    nodes: list[Expr]
    legs: list[tuple[int, ...]]
    output: tuple[int, ...]
    coef: Any
    sizes: tuple
    contracted_output: tuple[int, ...]
    broadcast: dict[int, Any]  # edge -> size, for edges held only by Ones nodes


#: network -> its prepared form (weak keys: an entry goes when its network does); cleared by
#: `tnet.clear_caches()`
_PREPARED: weakref.WeakKeyDictionary[Network, _Prepared] = weakref.WeakKeyDictionary()


def _prepare(net: Network) -> _Prepared:
    hit = _PREPARED.get(net)
    if hit is not None:
        return hit
    tidy = tidy_network(net)
    out = set(tidy.output)
    nodes: list[Expr] = []
    legs: list[tuple[int, ...]] = []
    broadcast: dict[int, Any] = {}
    for node, leg in zip(tidy.nodes, tidy.legs):
        if isinstance(node, Ones) and all(e in out for e in leg):
            broadcast.update((e, tidy.sizes[e]) for e in leg)
        else:
            nodes.append(node)
            legs.append(tuple(leg))
    contracted = tuple(e for e in tidy.output if e not in broadcast)
    prepared = _Prepared(nodes, legs, tuple(tidy.output), tidy.coef, tidy.sizes, contracted, broadcast)
    _PREPARED[net] = prepared
    return prepared


class Evaluator:
    """Evaluates expressions under one set of bindings, each distinct sub-expression once."""

    def __init__(
        self,
        roots: Sequence[Expr],
        bindings: Mapping[Any, Any],
        sizes: Mapping[str, int] | None = None,
        allow_unknown: bool = False,
        planner: str = "auto",
        time_budget: float | None = None,
    ) -> None:
        check_planner(planner, time_budget)
        self.planner = planner
        self.time_budget = time_budget
        self.roots = list(roots)
        self.program = _program(self.roots)
        derived = {v.name: v for r in self.roots for v in r.derived_from}
        self.bind = Bindings(self.program.variables, bindings, sizes, derived, allow_unknown)
        self.memo: dict[Expr, np.ndarray] = {}

    def shape(self, e: Expr) -> tuple[int, ...]:
        return tuple(self.bind.size(s, e.label) for s in e.shape)

    def run(self) -> list[np.ndarray]:
        memo = self.memo
        roots = self.roots
        for step, rule, done in zip(self.program.order, self.program.rules, self.program.release):
            e = roots[step] if isinstance(step, int) else step
            memo[e] = rule(e, self)
            for child in done:
                del memo[child]
        # results are the caller's to modify: no read-only views (broadcasts, constants) escape
        return [v if v.flags.writeable else np.array(v) for v in (memo[r] for r in roots)]

    def value(self, e: Expr) -> np.ndarray:
        v = self.memo.get(e)
        if v is None:
            for sub in walk([e]):
                if sub not in self.memo:
                    self.memo[sub] = _value_of(sub, self)
            v = self.memo[e]
        return v


@singledispatch
def _value_of(e: Expr, ev: Evaluator) -> np.ndarray:
    """The value of e, its children's values at hand in `ev`: one rule per node kind."""
    raise TypeError(f"cannot evaluate {type(e).__name__}")


@_value_of.register
def _(e: Variable, ev: Evaluator) -> np.ndarray:
    return ev.bind.arrays[e.name]


@_value_of.register
def _(e: Constant, ev: Evaluator) -> np.ndarray:
    return e.value


@_value_of.register
def _(e: Delta, ev: Evaluator) -> np.ndarray:
    n = ev.bind.size(e.size, "a Delta")
    out = np.zeros((n,) * e.order)
    idx = np.arange(n)
    out[(idx,) * e.order] = 1.0
    return out


@_value_of.register
def _(e: Ones, ev: Evaluator) -> np.ndarray:  # a read-only view with zero strides: no memory, no work
    return np.broadcast_to(1.0, ev.shape(e))


@_value_of.register
def _(e: Zero, ev: Evaluator) -> np.ndarray:
    return np.broadcast_to(0.0, ev.shape(e))


@_value_of.register
def _(e: Hole, ev: Evaluator) -> np.ndarray:
    raise TypeError("a Hole (a derivative rule's placeholder) has no value")


@_value_of.register
def _(e: Sum, ev: Evaluator) -> np.ndarray:
    """c_1 t_1 + c_2 t_2 + ...: one new array, the other terms added into it in place."""
    (c0, t0), (c1, t1), *rest = e.terms_
    v0, v1 = ev.value(t0), ev.value(t1)
    if c0 == 1 and c1 in (1, -1):
        total = np.add(v0, v1) if c1 == 1 else np.subtract(v0, v1)
    else:
        total = c0 * v0 + c1 * v1
    for c, t in rest:
        v = ev.value(t)
        if total.shape != np.broadcast_shapes(total.shape, v.shape) or total.dtype != np.result_type(total, v):
            total = total + c * v
        elif c == 1:
            total += v
        elif c == -1:
            total -= v
        else:
            total += c * v
    return total


@_value_of.register
def _(e: Apply, ev: Evaluator) -> np.ndarray:
    arg = ev.value(e.arg)
    order = e.axes + e.core_axes
    if order != tuple(range(arg.ndim)):
        arg = np.transpose(arg, order)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.asarray(e.fn.value(arg))
    want = ev.shape(e)
    if out.shape != want:
        raise ShapeError(f"function {e.fn.name!r} returned shape {out.shape}, expected {want}")
    return out


@_value_of.register
def _(net: Network, ev: Evaluator) -> np.ndarray:
    prep = _prepare(net)
    arrays = [ev.value(n) for n in prep.nodes]
    sizes: dict[Hashable, int] = {}
    for k, (arr, leg) in enumerate(zip(arrays, prep.legs)):
        for axis, (edge, got) in enumerate(zip(leg, arr.shape)):
            known = sizes.setdefault(edge, got)
            if known != got:
                raise ShapeError(_edge_mismatch(prep, arrays, edge, k, axis))
    result = np.asarray(
        contract(prep.legs, prep.contracted_output, sizes, arrays, planner=ev.planner, time_budget=ev.time_budget)
    )
    if prep.coef != 1:
        result = prep.coef * result
    if prep.broadcast:
        full = tuple(
            ev.bind.size(prep.broadcast[e], "a broadcast axis") if e in prep.broadcast else sizes[e]
            for e in prep.output
        )
        kept = tuple(1 if e in prep.broadcast else sizes[e] for e in prep.output)
        result = np.broadcast_to(result.reshape(kept), full)
    return result


def _edge_mismatch(prep: _Prepared, arrays: list[np.ndarray], edge: int, k: int, axis: int) -> str:
    for j, leg in enumerate(prep.legs):
        for a, e in enumerate(leg):
            if e == edge:
                return (
                    f"size mismatch on one edge: {prep.nodes[j].label} axis {a} has size {arrays[j].shape[a]} "
                    f"but {prep.nodes[k].label} axis {axis} has size {arrays[k].shape[axis]}"
                )
    return f"size mismatch on edge {edge}"  # pragma: no cover


@overload
def evaluate(
    e_or_list: Expr,
    bindings: Mapping[Any, Any] | None = None,
    *,
    sizes: Mapping[str, int] | None = None,
    allow_unknown: bool = False,
    planner: str = "auto",
    time_budget: float | None = None,
) -> np.ndarray: ...
@overload
def evaluate(
    e_or_list: Sequence[Expr],
    bindings: Mapping[Any, Any] | None = None,
    *,
    sizes: Mapping[str, int] | None = None,
    allow_unknown: bool = False,
    planner: str = "auto",
    time_budget: float | None = None,
) -> list[np.ndarray]: ...
def evaluate(
    e_or_list: Expr | Sequence[Expr],
    bindings: Mapping[Any, Any] | None = None,
    *,
    sizes: Mapping[str, int] | None = None,
    allow_unknown: bool = False,
    planner: str = "auto",
    time_budget: float | None = None,
) -> np.ndarray | list[np.ndarray]:
    """The value of an expression (or of a list of expressions, computed together so that each
    shared sub-expression is evaluated once) for the given bindings {Variable or name: array}.

    A binding must name a variable of the expression or of the expressions it was derived from
    (see `Bindings`); `allow_unknown=True` ignores other names instead, for one environment of
    arrays shared by many expressions. `sizes` fixes size names that no bound array fixes, e.g.
    `sizes={"n": 3}`. `planner` and `time_budget` choose who orders the contraction of each large
    network and how long it may search (`contract.plan_contraction`); they never change a value."""
    roots = [e_or_list] if isinstance(e_or_list, Expr) else list(e_or_list)
    for k, r in enumerate(roots):
        if not isinstance(r, Expr):
            raise TypeError(f"evaluate: item {k} is not a tnet expression: {r!r}")
    if not roots:
        return []
    values = Evaluator(roots, bindings or {}, sizes, allow_unknown, planner, time_budget).run()
    return values[0] if isinstance(e_or_list, Expr) else values


@dataclass
class PathReport:
    """The contraction plans of every product term in an expression."""

    entries: list[tuple[str, Any]]

    @property
    def flops(self) -> int:
        return int(sum(p.flops for _, p in self.entries))

    @property
    def largest(self) -> int:
        return max((p.largest for _, p in self.entries), default=0)

    def __str__(self) -> str:
        parts = []
        for name, plan in self.entries:
            parts.append(f"== network {name}\n{plan}")
        parts.append(f"== total FLOPs {self.flops:,}, largest intermediate {self.largest:,} elements")
        return "\n".join(parts)

    __repr__ = __str__


def contraction_path(
    e: Expr,
    bindings: Mapping[Any, Any] | None = None,
    *,
    sizes: Mapping[str, int] | None = None,
    planner: str = "auto",
    time_budget: float | None = None,
) -> PathReport:
    """The printable contraction plan (steps, FLOPs, largest intermediate) of each network in e,
    as `evaluate` with the same `planner` and `time_budget` would contract it."""
    ev = Evaluator([e], bindings or {}, sizes, planner=planner, time_budget=time_budget)
    entries = []
    for sub in walk([e]):
        if not isinstance(sub, Network):
            continue
        prep = _prepare(sub)
        edge_size: dict[Hashable, int] = {}
        for node, leg in zip(prep.nodes, prep.legs):
            for edge, s in zip(leg, node.shape):
                edge_size.setdefault(edge, ev.bind.size(s, node.label))
        # the plan of what evaluation contracts; axes held only by Ones are broadcast afterwards
        plan = plan_contraction(prep.legs, prep.contracted_output, edge_size, planner=planner, time_budget=time_budget)
        try:
            letters = einsum_letters(len(prep.sizes))
            spec = ",".join("".join(letters[x] for x in leg) for leg in prep.legs)
            spec += "->" + "".join(letters[x] for x in prep.contracted_output)
        except ShapeError:
            spec = f"{len(prep.nodes)} nodes"
        entries.append((f"{spec}  [{', '.join(n.label for n in prep.nodes)}]", plan))
    return PathReport(entries)
