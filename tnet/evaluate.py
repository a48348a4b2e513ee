"""Running expressions on numpy arrays.

`evaluate` walks the hash-consed DAG once, so a sub-expression shared by several outputs (or
used twice in one) is computed once. Networks are contracted by `contract.py` after their
Delta and Ones nodes are folded away (`simplify.tidy_network`)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import contract as _contract
from .errors import BindingError, ShapeError
from .expr import Apply, Constant, Delta, Expr, Network, Ones, Sum, Variable, Zero, walk


def _variables(order: Sequence[Expr]) -> dict[str, Variable]:
    found: dict[str, Variable] = {}
    for e in order:
        if isinstance(e, Variable):
            other = found.get(e.name)
            if other is not None and other is not e:
                raise BindingError(
                    f"two different variables are named {e.name!r} (shapes {other.shape} and {e.shape})"
                )
            found[e.name] = e
    return found


@dataclass
class _Program:
    """How to evaluate a list of roots: the order (children first), the variables, and for each
    step the intermediate results no later step needs (freed at once, as backprop would)."""

    roots: list[Expr]
    order: list[Expr]
    variables: dict[str, Variable]
    release: list[list[int]]


_PROGRAMS: OrderedDict[tuple[int, ...], _Program] = OrderedDict()


def _program(roots: list[Expr]) -> _Program:
    """The evaluation program of a list of roots, cached so that evaluating the same
    expressions again costs no graph walk."""
    key = tuple(id(r) for r in roots)
    hit = _PROGRAMS.get(key)
    if hit is not None and all(a is b for a, b in zip(hit.roots, roots)):
        _PROGRAMS.move_to_end(key)
        return hit
    order = walk(roots)
    last_use: dict[int, int] = {}
    for k, e in enumerate(order):
        for c in e.children:
            last_use[id(c)] = k
    keep = {id(r) for r in roots}
    release: list[list[int]] = [[] for _ in order]
    for child, k in last_use.items():
        if child not in keep:
            release[k].append(child)
    program = _Program(list(roots), order, _variables(order), release)
    _PROGRAMS[key] = program
    if len(_PROGRAMS) > 64:
        _PROGRAMS.popitem(last=False)
    return program


def _live_variable_names() -> set[str]:
    from .expr import _TABLE

    names = {obj.name for obj in list(_TABLE.values()) if isinstance(obj, Variable)}
    return names | {"d" + n for n in names}  # a differential's dX may have vanished (d f = 0)


class Bindings:
    """Arrays bound to variables, with the size names they fix."""

    def __init__(self, variables: Mapping[str, Variable], bindings: Mapping[Any, Any]) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.sizes: dict[str, int] = {}
        given: dict[str, Any] = {}
        for key, value in bindings.items():
            if isinstance(key, Variable):
                name = key.name
            elif isinstance(key, str):
                name = key
            else:
                raise BindingError(f"a binding key must be a Variable or its name, got {key!r}")
            if name not in variables:
                if name in _live_variable_names():
                    continue  # a variable of the problem that this expression no longer uses
                known = ", ".join(sorted(variables)) or "none"
                raise BindingError(
                    f"unknown variable {name!r} in the bindings; the expression's variables are: {known}"
                )
            given[name] = value
        size_source: dict[str, str] = {}
        for name, var in variables.items():
            if name not in given:
                raise BindingError(f"missing binding for variable {name!r} of shape {_fmt_shape(var.shape)}")
            arr = np.asarray(given[name])
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


_PREPARED: dict[int, tuple[Network, _Prepared]] = {}


def _prepare(net: Network) -> _Prepared:
    hit = _PREPARED.get(id(net))
    if hit is not None and hit[0] is net:
        return hit[1]
    from .simplify import tidy_network

    tidy = tidy_network(net)
    out = set(tidy.output)
    nodes, legs, broadcast = [], [], {}
    for node, leg in zip(tidy.nodes, tidy.legs):
        if isinstance(node, Ones) and all(e in out for e in leg):
            broadcast.update((e, tidy.sizes[e]) for e in leg)
        else:
            nodes.append(node)
            legs.append(tuple(leg))
    contracted = tuple(e for e in tidy.output if e not in broadcast)
    prepared = _Prepared(nodes, legs, tuple(tidy.output), tidy.coef, tidy.sizes, contracted, broadcast)
    if len(_PREPARED) > 100_000:
        _PREPARED.clear()
    _PREPARED[id(net)] = (net, prepared)
    return prepared


class Evaluator:
    """Evaluates expressions under one set of bindings, each distinct sub-expression once."""

    def __init__(self, roots: Sequence[Expr], bindings: Mapping[Any, Any]) -> None:
        self.roots = list(roots)
        self.program = _program(self.roots)
        self.bind = Bindings(self.program.variables, bindings)
        self.memo: dict[int, np.ndarray] = {}

    def shape(self, e: Expr) -> tuple[int, ...]:
        return tuple(self.bind.size(s, e.label) for s in e.shape)

    def run(self) -> list[np.ndarray]:
        memo = self.memo
        for e, done in zip(self.program.order, self.program.release):
            memo[id(e)] = self._eval(e)
            for child in done:
                del memo[child]
        # results are the caller's to modify: no read-only views (broadcasts, constants) escape
        return [v if v.flags.writeable else np.array(v) for v in (memo[id(r)] for r in self.roots)]

    def value(self, e: Expr) -> np.ndarray:
        v = self.memo.get(id(e))
        if v is None:
            for sub in walk([e]):
                if id(sub) not in self.memo:
                    self.memo[id(sub)] = self._eval(sub)
            v = self.memo[id(e)]
        return v

    def _eval(self, e: Expr) -> np.ndarray:
        if isinstance(e, Variable):
            return self.bind.arrays[e.name]
        if isinstance(e, Constant):
            return e.value
        if isinstance(e, Delta):
            n = self.bind.size(e.size, "a Delta")
            out = np.zeros((n,) * e.order)
            idx = np.arange(n)
            out[(idx,) * e.order] = 1.0
            return out
        if isinstance(e, (Ones, Zero)):  # a read-only view with zero strides: no memory, no work
            return np.broadcast_to(1.0 if isinstance(e, Ones) else 0.0, self.shape(e))
        if isinstance(e, Sum):
            return self._sum(e)
        if isinstance(e, Apply):
            return self._apply(e)
        if isinstance(e, Network):
            return self._network(e)
        raise TypeError(f"cannot evaluate {type(e).__name__}")

    def _sum(self, e: Sum) -> np.ndarray:
        """c_1 t_1 + c_2 t_2 + ...: one new array, the other terms added into it in place."""
        (c0, t0), (c1, t1), *rest = e.terms_
        v0, v1 = self.value(t0), self.value(t1)
        if c0 == 1 and c1 in (1, -1):
            total = np.add(v0, v1) if c1 == 1 else np.subtract(v0, v1)
        else:
            total = c0 * v0 + c1 * v1
        for c, t in rest:
            v = self.value(t)
            if total.shape != np.broadcast_shapes(total.shape, v.shape) or total.dtype != np.result_type(total, v):
                total = total + c * v
            elif c == 1:
                total += v
            elif c == -1:
                total -= v
            else:
                total += c * v
        return total

    def _apply(self, e: Apply) -> np.ndarray:
        arg = self.value(e.arg)
        order = e.axes + e.core_axes
        if order != tuple(range(arg.ndim)):
            arg = np.transpose(arg, order)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.asarray(e.fn.value(arg))
        want = self.shape(e)
        if out.shape != want:
            raise ShapeError(f"function {e.fn.name!r} returned shape {out.shape}, expected {want}")
        return out

    def _network(self, net: Network) -> np.ndarray:
        prep = _prepare(net)
        arrays = [self.value(n) for n in prep.nodes]
        sizes: dict[int, int] = {}
        for k, (arr, leg) in enumerate(zip(arrays, prep.legs)):
            for axis, (edge, got) in enumerate(zip(leg, arr.shape)):
                known = sizes.setdefault(edge, got)
                if known != got:
                    raise ShapeError(_edge_mismatch(prep, arrays, edge, k, axis))
        result = np.asarray(_contract.contract(prep.legs, prep.contracted_output, sizes, arrays))
        if prep.coef != 1:
            result = prep.coef * result
        if prep.broadcast:
            full = tuple(
                self.bind.size(prep.broadcast[e], "a broadcast axis") if e in prep.broadcast else sizes[e]
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


def evaluate(e_or_list: Expr | Sequence[Expr], bindings: Mapping[Any, Any] | None = None) -> Any:
    """The value of an expression (or of a list of expressions, computed together so that each
    shared sub-expression is evaluated once) for the given bindings {Variable or name: array}."""
    single = isinstance(e_or_list, Expr)
    roots = [e_or_list] if single else list(e_or_list)
    for k, r in enumerate(roots):
        if not isinstance(r, Expr):
            raise TypeError(f"evaluate: item {k} is not a tnet expression: {r!r}")
    values = Evaluator(roots, bindings or {}).run()
    return values[0] if single else values


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


def contraction_path(e: Expr, bindings: Mapping[Any, Any] | None = None) -> PathReport:
    """The printable contraction plan (steps, FLOPs, largest intermediate) of each network in e."""
    from .network import einsum_letters

    ev = Evaluator([e], bindings or {})
    entries = []
    for sub in walk([e]):
        if not isinstance(sub, Network):
            continue
        prep = _prepare(sub)
        sizes: dict[int, int] = {}
        for node, leg in zip(prep.nodes, prep.legs):
            for edge, s in zip(leg, node.shape):
                sizes.setdefault(edge, ev.bind.size(s, node.label))
        # the plan of what evaluation contracts; axes held only by Ones are broadcast afterwards
        plan = _contract.plan_contraction(prep.legs, prep.contracted_output, sizes)
        try:
            letters = einsum_letters(len(prep.sizes))
            spec = ",".join("".join(letters[x] for x in leg) for leg in prep.legs)
            spec += "->" + "".join(letters[x] for x in prep.contracted_output)
        except ShapeError:
            spec = f"{len(prep.nodes)} nodes"
        entries.append((f"{spec}  [{', '.join(n.label for n in prep.nodes)}]", plan))
    return PathReport(entries)
