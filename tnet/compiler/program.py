"""The program: a list of expressions lowered to straight-line steps on arrays.

`build_program(roots, shapes)` walks the expressions' DAG once (children first) and lowers each
node to array operations whose shapes are all known:

- a Variable is an input, a Constant / Delta / Ones / Zero a literal array;
- an Apply is an optional transpose (the axes P first, eq. 27) and one function call;
- a Sum is one linear combination;
- a Network is its contraction plan (`contract.cached_plan`), each pairwise step lowered
  to the kernel the plan prepared (sum private axes, transpose, reshape, matmul or broadcast
  product) and, beside it, the step as one einsum, for backends that prefer that vocabulary.

Every operation goes through value numbering: an operation whose kind, arguments and
parameters were already computed is not computed again. Hash-consing makes structurally equal
sub-expressions one object; value numbering also finds the equal contraction steps inside
different networks (a product that one result keeps as a shared node and another result
inlined), whatever way each result was simplified. Then the steps are rewritten and ordered
(`rewrites.py`), and each value is freed after its last use."""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Collection, Hashable, Mapping, Sequence
from functools import singledispatch
from typing import Any

import numpy as np

from ..contract import Plan, cached_plan, pair_kernel
from ..errors import CompileError, ShapeError
from ..evaluate import fixed_edge_mismatch, prepare_network, term_mismatch
from ..expr import Apply, Call, Constant, Delta, Expr, Hole, Ones, Sum, Variable, Zero, walk
from ..functions import Function
from ..network import Network, einsum_letters
from .rewrites import (
    factor_common_products,
    implicit_broadcasts,
    live_steps,
    liveness,
    matmul_add,
    owned_outputs,
    schedule,
)
from .steps import Op, Program, Shape

#: networks of up to this many operands look for operand pairs already computed elsewhere (the
#: search tries every ordered pair, again after each hit)
_REUSE_LIMIT = 16

#: names the generated code uses besides its values: the backends' modules (as imported), the
#: prologues' `new` and `dtype`, torch's `common` (mixed dtypes), and Python's builtins; a
#: variable of one of these names is renamed
RESERVED = frozenset({"np", "jnp", "jax", "torch", "da", "dask", "new", "common", "dtype", *dir(builtins)})


def resolve(shape: Sequence[Any], sizes: Mapping[str, int], what: str) -> Shape:
    """A shape with every size name replaced by its size."""
    out = []
    for s in shape:
        if isinstance(s, str):
            if s not in sizes:
                raise CompileError(f"size {s!r} of {what} is not fixed: pass sizes={{{s!r}: ...}} or example arrays")
            out.append(sizes[s])
        else:
            out.append(int(s))
    return tuple(out)


def _key(value: Any) -> Hashable:
    """A hashable key for an op parameter (arrays by content)."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, Function):
        return ("fn", id(value))
    if isinstance(value, (list, tuple)):
        return tuple(_key(v) for v in value)
    return value


class _Miss(Exception):  # noqa: N818 - control flow inside this module, never raised to users
    """A dry-run emit found no operation already computed."""


class _Builder:
    """Emits ops with value numbering; `value[e]` is the name holding expression e."""

    def __init__(
        self,
        sizes: Mapping[str, int],
        lowering: str,
        plan_options: Mapping[str, Any],
        dtype: np.dtype | None = None,
        integral: bool = True,
    ) -> None:
        self.sizes = sizes
        self.dtype = dtype  # the evaluation's dtype: the interpreter's dtype policy (None: compile's)
        #: sums promote as numpy.sum does (the policy for bool and integer arrays); False where
        #: every bound array is float or complex, whose sums keep their dtype anyway
        self.sums_promote = dtype is not None and integral
        self.plan_options = plan_options
        self.lowering = lowering  # "kernels" (matmul and friends) or "einsum"
        self.steps: list[Op] = []
        self.made: dict[str, Op] = {}  # value name -> the op that made it
        self.seen: dict[Hashable, str] = {}
        self.shape_of: dict[str, Shape] = {}
        self.value: dict[Expr, str] = {}
        self.inputs: dict[str, Shape] = {}
        self.plans: list[tuple[str, Plan]] = []
        self.dry_run = False  # emit only finds operations already computed (raises _Miss)

    def emit(self, kind: str, args: Sequence[str], out_shape: Shape, *, out: str | None = None, **params: Any) -> str:
        key = (kind, tuple(args), tuple((k, _key(v)) for k, v in sorted(params.items())))
        hit = self.seen.get(key)
        if hit is not None:
            return hit
        if self.dry_run:
            raise _Miss
        name = out or f"t{len(self.steps)}"
        self.steps.append(Op(name, kind, tuple(args), tuple(sorted(params.items())), out_shape))
        self.made[name] = self.steps[-1]
        self.seen[key] = name
        self.shape_of[name] = out_shape
        return name

    def lower(self, e: Expr) -> str:
        """The value name of e, lowering it (and what it needs) first if it was not met yet."""
        hit = self.value.get(e)
        if hit is None:
            for sub in walk([e]):
                if sub not in self.value:
                    self.value[sub] = _lower(sub, self)
            hit = self.value[e]
        return hit

    def identifier(self, name: str) -> str:
        """A Python identifier for a variable's name, distinct from every other value's name."""
        ident = re.sub(r"\W", "_", name)
        if (
            not ident
            or ident[0].isdigit()
            or keyword.iskeyword(ident)
            or ident in RESERVED
            or re.fullmatch(r"t\d+|_\w*", ident)
        ):
            ident = "v_" + ident
        while ident in self.shape_of:
            ident += "_"
        return ident

    def shape(self, e: Expr) -> Shape:
        return resolve(e.shape, self.sizes, e.label)

    def typed(self) -> dict[str, Any]:
        """The dtype param of the arrays the program makes (none without the evaluation's dtype)."""
        return {} if self.dtype is None else {"dtype": self.dtype}


@singledispatch
def _lower(e: Expr, b: _Builder) -> str:
    """The value name of e, its children already lowered: one rule per node kind."""
    raise CompileError(f"cannot compile a {type(e).__name__}")


@_lower.register
def _(e: Variable, b: _Builder) -> str:
    shape = b.shape(e)  # a differential dX is an input like any other variable
    b.inputs[e.name] = shape
    # keyed by the Variable itself: two variables of one name are two inputs
    return b.emit("input", (), shape, out=b.identifier(e.name), name=e.name, var=e)


@_lower.register
def _(e: Constant, b: _Builder) -> str:
    return b.emit("literal", (), tuple(e.value.shape), array=e.value)


@_lower.register
def _(e: Delta, b: _Builder) -> str:
    shape = b.shape(e)
    return b.emit("delta", (), shape, n=shape[0], order=e.order, **b.typed())


@_lower.register
def _(e: Ones, b: _Builder) -> str:
    shape = b.shape(e)
    return b.emit("ones", (), shape, shape=shape, **b.typed())


@_lower.register
def _(e: Zero, b: _Builder) -> str:
    shape = b.shape(e)
    return b.emit("zeros", (), shape, shape=shape, **b.typed())


@_lower.register
def _(e: Hole, b: _Builder) -> str:
    raise CompileError("a Hole (a derivative rule's placeholder) has no value")


@_lower.register
def _(e: Sum, b: _Builder) -> str:
    args = [b.value[t] for _, t in e.terms_]
    shape = b.shape(e)
    for k, (arg, (_, t)) in enumerate(zip(args, e.terms_)):
        if b.shape_of[arg] != shape:
            raise ShapeError(term_mismatch(e, k, t, b.shape_of[arg], shape))
    if b.sums_promote:
        return b.emit("combine", args, shape, coefs=tuple(c for c, _ in e.terms_), promote=True)
    return b.emit("combine", args, shape, coefs=tuple(c for c, _ in e.terms_))


@_lower.register
def _(e: Apply, b: _Builder) -> str:
    arg = b.value[e.arg]
    order = e.axes + e.core_axes
    if order != tuple(range(e.arg.ndim)):
        shape = b.shape_of[arg]
        arg = b.emit("transpose", [arg], tuple(shape[a] for a in order), perm=order)
    if b.dtype is not None:
        return b.emit("apply", [arg], b.shape(e), fn=e.fn, checked=True)
    return b.emit("apply", [arg], b.shape(e), fn=e.fn)


@_lower.register
def _(e: Call, b: _Builder) -> str:
    """f(A_1, ..., A_k): the arguments already have their batch axes first, as f's value takes them."""
    return b.emit("call", [b.value[a] for a in e.args], b.shape(e), fn=e.fn)


@_lower.register
def _(net: Network, b: _Builder) -> str:
    prep = prepare_network(net)
    names = [b.lower(n) for n in prep.nodes]  # tidying may bring nodes the walk did not meet
    sizes: dict[Hashable, int] = {}
    owner: dict[Hashable, tuple[int, int]] = {}
    for k, (name, leg) in enumerate(zip(names, prep.legs)):
        for axis, (edge, got) in enumerate(zip(leg, b.shape_of[name])):
            want = prep.sizes[edge]
            if isinstance(want, int) and got != want:  # a size name bound to another size than it was built with
                shapes = [np.broadcast_to(0, b.shape_of[n]) for n in names]  # the message reads shapes only
                raise ShapeError(fixed_edge_mismatch(prep, shapes, edge, want))
            known = sizes.setdefault(edge, got)
            owner.setdefault(edge, (k, axis))
            if known != got:
                j, a = owner[edge]
                raise ShapeError(
                    f"size mismatch on one edge: {prep.nodes[j].label} axis {a} has size {known} "
                    f"but {prep.nodes[k].label} axis {axis} has size {got}"
                )
    out_shape = b.shape(net)
    if not names:  # only Ones and Deltas, all folded away: a constant
        return b.emit("full", (), out_shape, value=prep.coef, shape=out_shape)
    legs = [tuple(leg) for leg in prep.legs]
    if b.lowering == "kernels" and len(names) <= _REUSE_LIMIT and b.dtype is None:
        names, legs = _reuse_computed_pairs(b, names, legs, prep.contracted_output, sizes)
    plan = cached_plan(legs, prep.contracted_output, sizes, **b.plan_options)
    b.plans.append((_describe(prep), plan))
    promoted = None  # as contract.execute: a bool or small-integer network that sums, sums as numpy.sum
    if b.sums_promote and any(step.summed for step in plan.steps):
        promoted = b.emit("sum_dtype", names, ())
        names = [b.emit("astype", [n, promoted], b.shape_of[n]) for n in names]
    current: dict[int, str] = dict(enumerate(names))
    for step in plan.steps:
        args = [current[i] for i in step.operands]
        shape = tuple(sizes[e] for e in step.edges)
        if b.lowering == "einsum":
            current[step.result] = b.emit("einsum", args, shape, spec=_spec(step.operand_edges, step.edges))
        elif len(args) == 1:
            current[step.result] = _unary(b, args[0], step.kernel, shape)
        else:
            current[step.result] = _pair(b, args[0], args[1], step.kernel)
    result = current[len(names) + len(plan.steps) - 1]
    if plan.output_perm is not None:
        shape = b.shape_of[result]
        result = b.emit("transpose", [result], tuple(shape[a] for a in plan.output_perm), perm=plan.output_perm)
    if promoted is not None:
        result = b.emit("astype", [result, promoted], b.shape_of[result])
    if prep.coef != 1:
        result = b.emit("scale", [result], b.shape_of[result], c=prep.coef)
    if prep.broadcast:
        kept = tuple(1 if e in prep.broadcast else sizes[e] for e in prep.output)
        if kept != b.shape_of[result]:
            result = b.emit("reshape", [result], kept, shape=kept)
        if kept != out_shape:
            result = b.emit("broadcast", [result], out_shape, shape=out_shape)
    return result


def _reuse_computed_pairs(
    b: _Builder, names: list[str], legs: list[tuple[int, ...]], output: tuple[int, ...], sizes: dict[Hashable, int]
) -> tuple[list[str], list[tuple[int, ...]]]:
    """Contract first the pairs of operands whose product another network already computed
    (a product that one result shares and another inlined): each such pair becomes one operand,
    and the planner orders the rest."""
    size_of = [sizes.get(e, 1) for e in range(max((max(leg, default=-1) for leg in legs), default=-1) + 1)]
    found = True
    while found and len(names) >= 2:
        found = False
        for i in range(len(names)):
            for j in range(len(names)):
                if i == j or not set(legs[i]) & set(legs[j]) or len(set(legs[i])) < len(legs[i]):
                    continue
                if len(set(legs[j])) < len(legs[j]):
                    continue
                others = set(output).union(*(set(leg) for k, leg in enumerate(legs) if k not in (i, j)))
                kept = frozenset((set(legs[i]) | set(legs[j])) & others)
                # the product as this network would take it, or with the shared edges kept (an
                # element-wise product that another network computed before summing elsewhere)
                hit = None
                for keep in (kept, kept | (set(legs[i]) & set(legs[j]))):
                    edges, kernel = pair_kernel(legs[i], legs[j], frozenset(keep), size_of)
                    b.dry_run = True
                    try:
                        hit = _pair(b, names[i], names[j], kernel), edges
                        break
                    except _Miss:
                        continue
                    finally:
                        b.dry_run = False
                if hit is None:
                    continue
                value, edges = hit
                rest = [k for k in range(len(names)) if k not in (i, j)]
                names = [names[k] for k in rest] + [value]
                legs = [legs[k] for k in rest] + [tuple(edges)]
                found = True
                break
            if found:
                break
    return names, legs


def _describe(prep: Any) -> str:
    try:
        letters = einsum_letters(len(prep.sizes))
        spec = ",".join("".join(letters[x] for x in leg) for leg in prep.legs)
        spec += "->" + "".join(letters[x] for x in prep.contracted_output)
    except Exception:  # more edges than letters: name the nodes only
        spec = f"{len(prep.nodes)} nodes"
    return f"{spec}  [{', '.join(n.label for n in prep.nodes)}]"


def _spec(operand_edges: Sequence[Sequence[Hashable]], edges: Sequence[Hashable]) -> str:
    letter: dict[Hashable, str] = {}
    for labels in (*operand_edges, edges):
        for e in labels:
            letter.setdefault(e, einsum_letters(len(letter) + 1)[-1])
    return ",".join("".join(letter[e] for e in x) for x in operand_edges) + "->" + "".join(letter[e] for e in edges)


def _unary(b: _Builder, x: str, kernel: Any, shape: Shape) -> str:
    if kernel.subscripts is not None:
        ins, outs = kernel.subscripts
        return b.emit("diagonal", [x], shape, ins=tuple(ins), outs=tuple(outs))
    return b.emit("sum", [x], shape, axes=tuple(kernel.sum_axes))


def _prepare_operand(
    b: _Builder, x: str, summed: tuple[int, ...], perm: tuple[int, ...] | None, shape: Shape, swap: bool
) -> str:
    if summed:
        kept = tuple(s for a, s in enumerate(b.shape_of[x]) if a not in summed)
        x = b.emit("sum", [x], kept, axes=summed)
    if perm is not None:
        now = b.shape_of[x]
        x = b.emit("transpose", [x], tuple(now[a] for a in perm), perm=perm)
    if shape != b.shape_of[x]:
        x = b.emit("reshape", [x], shape, shape=shape)
    if swap:
        n = len(shape)
        perm2 = (*range(n - 2), n - 1, n - 2)
        x = b.emit("transpose", [x], tuple(shape[a] for a in perm2), perm=perm2)
    return x


def _pair(b: _Builder, x: str, y: str, k: Any) -> str:
    a = _prepare_operand(b, x, k.sum_a, k.perm_a, k.shape_a, k.swap_a)
    c = _prepare_operand(b, y, k.sum_b, k.perm_b, k.shape_b, k.swap_b)
    if k.mode == "matmul":
        a, c = _vector_operands(b, a, c)
        out = b.emit("matmul", [a, c], _matmul_shape(b.shape_of[a], b.shape_of[c]))
    elif k.mode == "mul":
        out = b.emit("mul", [a, c], tuple(np.broadcast_shapes(b.shape_of[a], b.shape_of[c])))
    else:
        out = b.emit("rowdot", [a, c], b.shape_of[a][:-1])
    if b.shape_of[out] != tuple(k.out_shape):
        out = b.emit("reshape", [out], tuple(k.out_shape), shape=tuple(k.out_shape))
    return out


def _vector_operands(b: _Builder, a: str, c: str) -> tuple[str, str]:
    """A matrix product whose column (k, 1) or row (1, k) operand was reshaped from a vector
    takes the vector itself, as matmul does (X @ w rather than X @ w.reshape((k, 1)) and a
    reshape of the result): two calls fewer. One operand stays a matrix, so the result stays
    an array."""

    def vector(name: str, unit_axis: int) -> str | None:
        op = b.made.get(name)
        if op is not None and op.kind == "reshape" and len(op.shape) == 2 and op.shape[unit_axis] == 1:
            if len(b.shape_of[op.args[0]]) == 1:
                return op.args[0]
        return None

    if len(b.shape_of[a]) != 2 or len(b.shape_of[c]) != 2:
        return a, c
    column = vector(c, 1)
    if column is not None:
        return a, column
    return vector(a, 0) or a, c


def _matmul_shape(a: Shape, b: Shape) -> Shape:
    """numpy.matmul's result shape (a vector operand loses its axis)."""
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 1:
        return (*b[:-2], b[-1])
    if len(b) == 1:
        return a[:-1]
    return (*np.broadcast_shapes(a[:-2], b[:-2]), a[-2], b[-1])


def build_program(
    roots: Sequence[Expr],
    sizes: Mapping[str, int],
    lowering: str = "kernels",
    plan_options: Mapping[str, Any] | None = None,
    dtype: np.dtype | None = None,
    owned: bool = False,
    spelled: Collection[str] = (),
    integral: bool = True,
    fused_matmul_add: bool = False,
) -> Program:
    """The program computing every root; `sizes` fixes each size name the roots use.

    `lowering` is "kernels" (contraction steps as transpose / reshape / matmul, what
    `tnet.evaluate` runs) or "einsum" (each contraction step as one einsum call). `plan_options`
    are passed to `contract.cached_plan` (e.g. a planner's keywords). `dtype`, the
    evaluation's dtype (`evaluate.Bindings.dtype`), makes the program follow the interpreter's
    dtype policy (see `Op`). With `owned` (a backend of mutable arrays) each result is the
    caller's to modify: a copy is made of a result that is, or is a view of, an input or
    another result, or that is read-only, or that a function other than those the backend
    `spelled` itself made (`owned_outputs`). `integral=False` (with `dtype`): every bound array
    is float or complex, so sums need not promote (the policy's casts are left out).
    `fused_matmul_add` (a backend with torch.addmm's one call): a matrix product plus a term
    becomes one step (`rewrites.matmul_add`)."""
    b = _Builder(sizes, lowering, plan_options or {}, dtype, integral)
    for e in walk(roots):
        b.value[e] = _lower(e, b)
    outputs = [b.value[r] for r in roots]
    steps = implicit_broadcasts(b.steps, set(outputs))
    if dtype is None:  # the interpreter sums each term as it is: no factoring when mirroring it
        steps = factor_common_products(steps, set(outputs), len(b.steps))
    if fused_matmul_add:
        steps = matmul_add(steps, set(outputs))
    steps = live_steps(steps, outputs)
    steps = schedule(steps)
    if owned:
        steps, outputs = owned_outputs(steps, outputs, frozenset(spelled))
    return Program(b.inputs, steps, outputs, liveness(steps, outputs), b.plans)
