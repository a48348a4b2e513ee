"""Running expressions on numpy arrays.

`evaluate` walks the hash-consed DAG once, so a sub-expression shared by several outputs (or
used twice in one) is computed once. Networks are contracted by `contract.py` after their
Delta and Ones nodes are folded away (`network.tidy_network`).

Two caches, both weak and both cleared by `tnet.clear_caches()`: the evaluation program of a
list of roots (`_PROGRAMS`, under the first root) and each network's prepared form
(`_PREPARED`). Neither changes a result."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce, singledispatch
from typing import Any, overload

import numpy as np

from .contract import contract, plan_contraction, sum_dtype
from .errors import BindingError, ShapeError
from .expr import Apply, Call, Constant, Delta, Expr, Hole, Ones, Sum, Variable, Zero, walk
from .network import Network, einsum_letters, tidy_network
from .planners import check_planner


def _variables(order: Sequence[Expr]) -> list[Variable]:
    return [e for e in order if isinstance(e, Variable)]


@dataclass
class EvaluationProgram:
    """How to evaluate a list of roots: the order (children first), the variables, and for each
    step the intermediate results no later step needs (freed at once, as backprop would).

    The roots themselves are not held: in `order` each root is its index in the root list, so
    that the program can be cached under a weak reference to the first root."""

    order: list[Expr | int]
    rules: list[Callable[[Any, Evaluator], np.ndarray]]  # `_value_of`'s rule for each step
    variables: list[Variable]
    constants: list[np.ndarray]  # the values of the Constants, for the dtype of Delta/Ones/Zero
    release: list[list[Expr]]
    others: tuple[weakref.ref[Expr], ...]  # the roots after the first, for the cache check


#: first root -> the program of the last list of roots evaluated with it (weak keys: an entry
#: goes when its expression does); cleared by `tnet.clear_caches()`
_PROGRAMS: weakref.WeakKeyDictionary[Expr, EvaluationProgram] = weakref.WeakKeyDictionary()


#: guards `_PROGRAMS` and `_PREPARED` (weak dictionaries that threads read and fill at once)
_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget every evaluation program and prepared network (they are rebuilt on demand)."""
    with _LOCK:
        _PROGRAMS.clear()
        _PREPARED.clear()


def evaluation_program(roots: list[Expr]) -> EvaluationProgram:
    """The evaluation program of a list of roots, cached so that evaluating the same
    expressions again costs no graph walk."""
    with _LOCK:
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
    constants = [e.value for e in walked if isinstance(e, Constant)]
    program = EvaluationProgram(
        order, rules, _variables(walked), constants, release, tuple(weakref.ref(r) for r in roots[1:])
    )
    with _LOCK:
        _PROGRAMS[roots[0]] = program
    return program


class Bindings:
    """Arrays bound to variables, with the size names they fix and the dtype of the evaluation.

    Bindings are checked against the expression's own variables (`variables`) and the variables
    of the expressions it was derived from (`derived`, read off the roots' `derived_from`, which
    grad, jacobian, hessian and differential record): nothing else in the process matters. A key
    is a Variable (always unambiguous) or a name; a name shared by two distinct variables of the
    expression is an error that names both shapes. A binding for a derived-from variable that
    the expression no longer contains (∇_x a^T x = a) fixes the size names of its shape and is
    otherwise unused; so does any other Variable object given as the key. Any other name is an
    error that lists the names it knows, unless `allow_unknown` (one environment of arrays for
    many expressions): then it is ignored. `sizes` fixes size names directly.

    `dtype` is the numpy result type of every bound array (derived-from ones included) and
    constant (float64 when there is none): the dtype Delta, Ones and Zero are made in, so that
    they never promote a result."""

    def __init__(
        self,
        variables: Sequence[Variable],
        bindings: Mapping[Any, Any],
        sizes: Mapping[str, int] | None = None,
        derived: Sequence[Variable] = (),
        allow_unknown: bool = False,
        constants: Sequence[np.ndarray] = (),
    ) -> None:
        if not isinstance(bindings, Mapping):
            raise BindingError(
                f"bindings must be a mapping {{Variable or name: array}}, got a {type(bindings).__name__}"
            )
        if sizes is not None and not isinstance(sizes, Mapping):
            raise BindingError(f"sizes= must be a mapping {{size name: int}}, got a {type(sizes).__name__}")
        own = set(variables)
        by_name: dict[str, list[Variable]] = {}
        for v in variables:
            by_name.setdefault(v.name, []).append(v)
        derived_by_name: dict[str, Variable] = {}
        for v in derived:
            derived_by_name.setdefault(v.name, v)
        self.arrays: dict[Variable, np.ndarray] = {}
        self.sizes: dict[str, int] = {}
        size_source: dict[str, str] = {}
        for name, size in (sizes or {}).items():
            if (
                not isinstance(name, str)
                or not isinstance(size, (int, np.integer))
                or isinstance(size, (bool, np.bool_))
                or size < 0
            ):
                raise BindingError(f"sizes= maps size names to sizes >= 0, got {name!r}: {size!r}")
            self.sizes[name] = int(size)
            size_source[name] = "sizes="
        given: dict[Variable, Any] = {}
        absent: list[tuple[Variable, Any]] = []
        for key, value in bindings.items():
            if isinstance(key, Variable):
                if key in own:
                    given[key] = value
                else:
                    absent.append((key, value))
                continue
            if not isinstance(key, str):
                raise BindingError(f"a binding key must be a Variable or its name, got {key!r}")
            found = by_name.get(key, [])
            if len(found) > 1:
                shapes = " and ".join(_fmt_shape(v.shape) for v in found)
                raise BindingError(
                    f"the name {key!r} is ambiguous: the expression has {len(found)} variables of that name "
                    f"(shapes {shapes}); bind them by Variable object instead"
                )
            if found:
                given[found[0]] = value
            elif key in derived_by_name:
                absent.append((derived_by_name[key], value))
            elif not allow_unknown:
                known = name_list(by_name)
                also = name_list(set(derived_by_name) - set(by_name), "")
                raise BindingError(
                    f"unknown variable {key!r} in the bindings; the expression's variables are: {known}"
                    + (f"; it was derived from expressions that also use: {also}" if also else "")
                )
        for var in variables:
            if var not in given:
                raise BindingError(f"missing binding for variable {var.name!r} of shape {_fmt_shape(var.shape)}")
        dtypes = [c.dtype for c in constants]
        for var, value in [(v, given[v]) for v in variables] + absent:
            arr = _as_numeric_array(value, f"the binding for {var.name!r}")
            self._fix_sizes(var, arr, size_source)
            check_structure(var, arr)
            dtypes.append(arr.dtype)
            if var in own:
                self.arrays[var] = arr
        self.dtype: np.dtype = reduce(np.promote_types, dtypes) if dtypes else np.dtype(float)

    def _fix_sizes(self, var: Variable, arr: np.ndarray, size_source: dict[str, str]) -> None:
        name = var.name
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

    def size(self, s: Any, what: str) -> int:
        if isinstance(s, int):
            return s
        try:
            return self.sizes[s]
        except KeyError:
            raise BindingError(
                f"size {s!r} of {what} is not fixed by any bound variable; pass sizes={{{s!r}: ...}}"
            ) from None


def _as_numeric_array(value: Any, what: str) -> np.ndarray:
    """`value` as a numpy array of bools or numbers (int, float, complex), or a BindingError."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:  # ragged nested lists
        raise BindingError(f"{what} is not a rectangular array: {err}") from None
    if arr.dtype.kind not in "biufc":
        raise BindingError(f"{what} has dtype {arr.dtype}; tnet evaluates bool, integer, float and complex arrays")
    return arr


def check_structure(var: Variable, arr: np.ndarray) -> None:
    """A symmetric variable's array must equal its transpose; a diagonal one's must be 0 off
    the diagonal."""
    if var.structure == "symmetric" and not np.allclose(arr, arr.T, rtol=1e-10, atol=1e-12):
        worst = np.unravel_index(np.argmax(np.abs(arr - arr.T)), arr.shape)
        raise BindingError(
            f"the array bound to the symmetric variable {var.name!r} is not symmetric: entry {tuple(map(int, worst))} "
            f"is {arr[worst]} but its transpose entry is {arr.T[worst]}"
        )
    if var.structure == "diagonal" and np.any(arr - np.diag(np.diagonal(arr))):
        worst = np.unravel_index(np.argmax(np.abs(arr - np.diag(np.diagonal(arr)))), arr.shape)
        raise BindingError(
            f"the array bound to the diagonal variable {var.name!r} has the non-zero off-diagonal entry "
            f"{tuple(map(int, worst))} = {arr[worst]}"
        )


#: how many names an error message lists before it says how many more there are
NAMES_SHOWN = 20


def name_list(names: Any, empty: str = "none") -> str:
    """Sorted names for an error message: the first `NAMES_SHOWN`, then how many more."""
    ordered = sorted(names)
    if not ordered:
        return empty
    shown = ", ".join(ordered[:NAMES_SHOWN])
    return shown + (f", ... and {len(ordered) - NAMES_SHOWN} more" if len(ordered) > NAMES_SHOWN else "")


def _fmt_shape(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


@dataclass
class PreparedNetwork:
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
_PREPARED: weakref.WeakKeyDictionary[Network, PreparedNetwork] = weakref.WeakKeyDictionary()


def prepare_network(net: Network) -> PreparedNetwork:
    with _LOCK:
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
    prepared = PreparedNetwork(nodes, legs, tuple(tidy.output), tidy.coef, tidy.sizes, contracted, broadcast)
    with _LOCK:
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
        self.program = evaluation_program(self.roots)
        derived = sorted({v for r in self.roots for v in r.derived_from}, key=lambda v: v.name)
        self.bind = Bindings(self.program.variables, bindings, sizes, derived, allow_unknown, self.program.constants)
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
        return unaliased([memo[r] for r in roots], list(self.bind.arrays.values()))

    def value(self, e: Expr) -> np.ndarray:
        v = self.memo.get(e)
        if v is None:
            for sub in walk([e]):
                if sub not in self.memo:
                    self.memo[sub] = _value_of(sub, self)
            v = self.memo[e]
        return v


def unaliased(values: list[np.ndarray], inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The results, each the caller's to modify: copied where one is read-only (a broadcast, a
    constant), is (a view of) an input, or shares memory with an earlier result (a root listed
    twice, or two roots of one value)."""
    owned = {id(_buffer_owner(a)) for a in inputs}
    out = []
    for v in values:
        if not v.flags.writeable or id(_buffer_owner(v)) in owned:
            v = np.array(v)
        owned.add(id(_buffer_owner(v)))
        out.append(v)
    return out


def _buffer_owner(a: np.ndarray) -> object:
    """The object that owns a's memory: views (numpy sets `base` to the owner) and arrays over
    one buffer (`frombuffer`) have the same owner."""
    owner: object = a
    while isinstance(owner, np.ndarray) and owner.base is not None:
        owner = owner.base
    return owner


@singledispatch
def _value_of(e: Expr, ev: Evaluator) -> np.ndarray:
    """The value of e, its children's values at hand in `ev`: one rule per node kind."""
    raise TypeError(f"cannot evaluate {type(e).__name__}")


@_value_of.register
def _(e: Variable, ev: Evaluator) -> np.ndarray:
    return ev.bind.arrays[e]


@_value_of.register
def _(e: Constant, ev: Evaluator) -> np.ndarray:
    return e.value


@_value_of.register
def _(e: Delta, ev: Evaluator) -> np.ndarray:
    n = ev.bind.size(e.size, "a Delta")
    out = np.zeros((n,) * e.order, dtype=ev.bind.dtype)
    idx = np.arange(n)
    out[(idx,) * e.order] = 1
    return out


@_value_of.register
def _(e: Ones, ev: Evaluator) -> np.ndarray:  # a read-only view with zero strides: no memory, no work
    return np.broadcast_to(np.ones((), ev.bind.dtype), ev.shape(e))


@_value_of.register
def _(e: Zero, ev: Evaluator) -> np.ndarray:
    return np.broadcast_to(np.zeros((), ev.bind.dtype), ev.shape(e))


@_value_of.register
def _(e: Hole, ev: Evaluator) -> np.ndarray:
    raise TypeError("a Hole (a derivative rule's placeholder) has no value")


def weak_coefficient(c: float | complex) -> float | complex | int:
    """A term's coefficient as numpy should see it: an integral float becomes a Python int, so
    that 2 * x keeps an integer x integer (numpy's rule for Python scalars), as x + x does."""
    if isinstance(c, float) and c.is_integer() and abs(c) < 2**31:
        return int(c)
    return c


@_value_of.register
def _(e: Sum, ev: Evaluator) -> np.ndarray:
    """c_1 t_1 + c_2 t_2 + ...: one new array, the other terms added into it in place. The dtype
    is numpy's result type of the terms and coefficients, promoted as numpy.sum promotes
    (`contract.sum_dtype`): a sum of bools counts."""
    shape = ev.shape(e)
    terms = [(weak_coefficient(c), ev.value(t), t) for c, t in e.terms_]
    for k, (_, v, t) in enumerate(terms):
        if v.shape != shape:
            raise ShapeError(term_mismatch(e, k, t, v.shape, shape))
    dtype = sum_dtype(np.result_type(*[v for _, v, _ in terms], *[c for c, _, _ in terms]))
    (c0, v0, _), *rest = terms
    total = np.array(v0, dtype=dtype) if c0 == 1 else np.asarray(np.multiply(c0, v0, dtype=dtype))
    for c, v, _ in rest:
        if c == 1:
            np.add(total, v, out=total)
        elif c == -1:
            np.subtract(total, v, out=total)
        else:
            np.add(total, np.multiply(c, v, dtype=dtype), out=total)
    return total


def term_mismatch(e: Sum, k: int, term: Expr, got: tuple[int, ...], want: tuple[int, ...]) -> str:
    """Why term k of a sum has a value of the wrong shape: a size name bound to a size other
    than the one it was unified with when the sum was built (x + z with x of size n, z of 3)."""
    for axis, (own, g, w) in enumerate(zip(term.shape, got, want)):
        if g != w and isinstance(own, str):
            return (
                f"size {own!r} is bound to {g}, but the expression was built with it equal to {w} "
                f"(axis {axis} of {term.label}, a term of a sum of shape {_fmt_shape(e.shape)})"
            )
    return f"term {k} ({term.label}) of a sum has shape {got}, expected {want}"  # pragma: no cover


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
def _(e: Call, ev: Evaluator) -> np.ndarray:
    args = [ev.value(a) for a in e.args]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.asarray(e.fn.value(*args))
    want = ev.shape(e)
    if out.shape != want:
        raise ShapeError(f"function {e.fn.name!r} returned shape {out.shape}, expected {want}")
    return out


@_value_of.register
def _(net: Network, ev: Evaluator) -> np.ndarray:
    prep = prepare_network(net)
    arrays = [ev.value(n) for n in prep.nodes]
    sizes: dict[Hashable, int] = {}
    for k, (arr, leg) in enumerate(zip(arrays, prep.legs)):
        for axis, (edge, got) in enumerate(zip(leg, arr.shape)):
            want = prep.sizes[edge]
            if isinstance(want, int) and got != want:
                raise ShapeError(fixed_edge_mismatch(prep, arrays, edge, want))
            known = sizes.setdefault(edge, got)
            if known != got:
                raise ShapeError(_edge_mismatch(prep, arrays, edge, k, axis))
    result = np.asarray(
        contract(prep.legs, prep.contracted_output, sizes, arrays, planner=ev.planner, time_budget=ev.time_budget)
    )
    if prep.coef != 1:
        result = weak_coefficient(prep.coef) * result
    if prep.broadcast:
        full = tuple(
            ev.bind.size(prep.broadcast[e], "a broadcast axis") if e in prep.broadcast else sizes[e]
            for e in prep.output
        )
        kept = tuple(1 if e in prep.broadcast else sizes[e] for e in prep.output)
        result = np.broadcast_to(result.reshape(kept), full)
    return result


def fixed_edge_mismatch(prep: PreparedNetwork, arrays: list[np.ndarray], edge: int, want: int) -> str:
    """Why an array does not fit an edge of a fixed size: a size name bound to another size than
    the one it was unified with when the network was built (both sides are named)."""
    on_edge = [(j, a) for j, leg in enumerate(prep.legs) for a, e in enumerate(leg) if e == edge]
    fixed = [f"{prep.nodes[j].label} axis {a}" for j, a in on_edge if prep.nodes[j].shape[a] == want]
    for j, a in on_edge:
        own, got = prep.nodes[j].shape[a], arrays[j].shape[a]
        if got != want:
            name = f"size {own!r}" if isinstance(own, str) else f"axis {a} of {prep.nodes[j].label}"
            return (
                f"{name} is bound to {got}, but the expression was built with it equal to {want}: "
                f"{prep.nodes[j].label} axis {a} shares an edge with {fixed[0] if fixed else 'an axis'} of size {want}"
            )
    return f"size mismatch on edge {edge}"  # pragma: no cover


def _edge_mismatch(prep: PreparedNetwork, arrays: list[np.ndarray], edge: int, k: int, axis: int) -> str:
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
        prep = prepare_network(sub)
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
