"""The rewrites of a lowered program, each a function of its steps: constants and broadcasts
left to the array libraries (`implicit_broadcasts`), common factors taken out of sums
(`factor_common_products`), a matrix product and a term as one call (`matmul_add`), dead steps
removed (`live_steps`), the steps ordered to hold fewer arrays at once (`schedule`), results
made the caller's own (`owned_outputs`), and each value's last use (`liveness`). None changes a
value."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ..functions import Function, PowerFunction
from .steps import Op, Shape

#: operations whose result may share memory with their first argument (a view, or the
#: argument itself: `astype(..., copy=False)` of the same dtype); those of _READ_ONLY_KINDS give
#: a read-only (or overlapping) view
_READ_ONLY_KINDS = frozenset({"broadcast", "ones", "zeros", "full"})
_VIEW_KINDS = frozenset({"input", "transpose", "reshape", "diagonal", "astype", *_READ_ONLY_KINDS})


def owned_outputs(steps: list[Op], outputs: list[str], spelled: frozenset[str]) -> tuple[list[Op], list[str]]:
    """Copy each result that could alias: one whose memory may be an input's or an earlier
    result's (a view of it, or the same value twice), or that is read-only or overlapping
    (a broadcast constant), or that a user's function made (which may return its argument).
    Decided once when the code is generated, so a call pays nothing for it."""
    made = {op.out: op for op in steps}
    claimed: set[str] = set()
    names = {op.out for op in steps}
    out_names: list[str] = []
    copies: list[Op] = []
    for name in outputs:
        base, copy = name, False
        while True:
            op = made[base]
            view = (
                op.kind in _VIEW_KINDS
                or (op.kind == "einsum" and len(op.args) == 1)  # a permutation or diagonal: a view
                or (op.kind == "combine" and len(op.args) == 1 and op.param("coefs")[0] == 1)
                or (op.kind in ("apply", "call") and not _new_array(op.param("fn"), spelled))
            )
            if not view:
                break
            copy = copy or op.kind in _READ_ONLY_KINDS or op.kind in ("input", "apply", "call")
            if not op.args:
                break
            base = op.args[0]
        if copy or base in claimed:
            fresh = f"{name}_copy"
            while fresh in names:
                fresh += "_"
            names.add(fresh)
            copies.append(Op(fresh, "copy", (name,), (), made[name].shape))
            out_names.append(fresh)
        else:
            claimed.add(base)
            out_names.append(name)
    return steps + copies, out_names


def _new_array(fn: Function, spelled: frozenset[str]) -> bool:
    """Whether the backend's code for the function returns a new array: a power, or a function
    the backend spells itself (a user's function, run by its own value, may return its
    argument)."""
    return isinstance(fn, PowerFunction) or fn.name in spelled


#: constant arrays of one value, and that value: where the array libraries broadcast, the
#: program writes the value as a scalar (`implicit_broadcasts`)
_CONSTANT_VALUE = {"ones": lambda op: 1.0, "zeros": lambda op: 0.0, "full": lambda op: op.param("value")}


def implicit_broadcasts(steps: Sequence[Op], outputs: set[str]) -> list[Op]:
    """Leave broadcasting to the array libraries where they do it themselves: where every user
    of a broadcast, or of a constant array of one value (ones, zeros, full), is an element-wise
    sum or product with another argument of the full shape, drop the broadcast (its users take
    its argument) and write the constant as a scalar (`1.0 - s` rather than an array of ones;
    a scalar op keeps a constant's dtype param). Each user keeps an argument of the full shape,
    so every result keeps its shape."""
    users: dict[str, list[Op]] = {}
    shape = {op.out: op.shape for op in steps}
    for op in steps:
        for a in op.args:
            users.setdefault(a, []).append(op)
    implicit: dict[str, str] = {}  # a dropped broadcast -> its argument
    scalars: dict[str, Op] = {}  # a constant -> its scalar op
    for op in steps:
        if op.out in outputs or not (op.kind == "broadcast" or op.kind in _CONSTANT_VALUE):
            continue
        uses = users.get(op.out, [])
        if uses and all(
            u.kind in ("combine", "mul")
            and any(a != op.out and a not in implicit and a not in scalars and shape[a] == u.shape for a in u.args)
            for u in uses
        ):
            if op.kind == "broadcast":
                implicit[op.out] = op.args[0]
            else:
                typed = tuple((k, v) for k, v in op.params if k == "dtype")
                scalars[op.out] = Op(op.out, "scalar", (), (("value", _CONSTANT_VALUE[op.kind](op)), *typed), ())
    if not implicit and not scalars:
        return list(steps)
    return [
        scalars.get(op.out) or Op(op.out, op.kind, tuple(implicit.get(a, a) for a in op.args), op.params, op.shape)
        for op in steps
    ]


def factor_common_products(steps: Sequence[Op], outputs: set[str], fresh: int) -> list[Op]:
    """Distribute backwards: c_1 (x ⊙ v_1) + c_2 (x ⊙ v_2) + ... = x ⊙ (c_1 v_1 + c_2 v_2 + ...),
    when each product is used only by the sum and the v_k have one shape (a Hessian's terms
    that scale the same matrix by different vectors: one large temporary instead of one per
    term)."""
    users = _use_counts(steps)
    made = {op.out: op for op in steps}
    out: list[Op] = []
    for op in steps:
        products = [made.get(a) for a in op.args]
        if (
            op.kind == "combine"
            and len(set(op.args)) == len(op.args)
            and all(p is not None and p.kind == "mul" and users[p.out] == 1 and p.out not in outputs for p in products)
        ):
            muls = [p for p in products if p is not None]
            common = set(muls[0].args).intersection(*(set(p.args) for p in muls[1:]))
            for c in sorted(common):
                rest = [p.args[1] if p.args[0] == c else p.args[0] for p in muls]
                if all(p.args.count(c) == 1 for p in muls) and len({made[r].shape for r in rest}) == 1:
                    inner = f"t{fresh}"
                    fresh += 1
                    out.append(Op(inner, "combine", tuple(rest), op.params, made[rest[0]].shape))
                    op = Op(op.out, "mul", (c, inner), (), op.shape)
                    break
        out.append(op)
    return out


def matmul_add(steps: Sequence[Op], outputs: set[str]) -> list[Op]:
    """c_1 (A B) + c_2 C as one step, `matmuladd` (C, A, B; beta c_2, alpha c_1), where A B is a
    product of two matrices that only this sum uses and C is an array (a layer's bias, as a
    row that broadcasts): the library adds C while it writes the product, one pass over the
    result fewer than a product and then a sum."""
    users = _use_counts(steps)
    made = {op.out: op for op in steps}
    out = []
    for op in steps:
        if (
            op.kind == "combine"
            and len(op.args) == 2
            and op.args[0] != op.args[1]
            and len(op.params) == 1
            # whole coefficients only: torch.addmm truncates a fractional alpha or beta to an
            # integer tensor's dtype (2.5 A B on integers would silently be 2 A B)
            and all(not isinstance(c, complex) and float(c).is_integer() for c in op.param("coefs"))
        ):
            for m, c in ((0, 1), (1, 0)):
                product, other = made[op.args[m]], made[op.args[c]]
                if (
                    product.kind == "matmul"
                    and users[product.out] == 1
                    and product.out not in outputs
                    and all(len(made[a].shape) == 2 for a in product.args)
                    and product.shape == op.shape  # the term broadcasts to the product, not the reverse
                    and other.kind not in ("scalar", "ones", "zeros", "full")
                ):
                    coefs = op.param("coefs")
                    params = (("beta", coefs[c]), ("alpha", coefs[m]))
                    op = Op(op.out, "matmuladd", (other.out, *product.args), params, op.shape)
                    break
        out.append(op)
    return out


def _use_counts(steps: Sequence[Op]) -> Counter[str]:
    """How many times each value is an argument of a step."""
    return Counter(a for op in steps for a in op.args)


def live_steps(steps: Sequence[Op], outputs: Sequence[str]) -> list[Op]:
    """The steps some output needs (a Ones node folded into its network is never computed);
    inputs always stay, as the function's parameters."""
    needed = set(outputs)
    kept = []
    for op in reversed(steps):
        if op.out in needed or op.kind == "input":
            kept.append(op)
            needed.update(op.args)
    return kept[::-1]


def schedule(steps: Sequence[Op]) -> list[Op]:
    """The steps in an order that holds fewer arrays at once, the values unchanged: reductions
    as early as their arguments allow (`_early_reductions`), then every other step as late as
    its first user allows (`_late_steps`; twice, as a step's users may have moved in the first
    pass). On the sec. 6.2 net the order is then hand-written backprop's: the forward pass,
    then per layer the backprop factor, the weight and bias gradients, and the next layer's
    backward step; the peak of the numpy code at N = 1024, d = 512 goes from 36 to 24 MB
    (above the inputs)."""
    return _late_steps(_late_steps(_early_reductions(steps)))


def _early_reductions(steps: Sequence[Op]) -> list[Op]:
    """Move a step up to just after its last argument where its result is smaller than its
    largest argument (a product down to a small matrix, a sum over axes), and a view (a
    transpose or reshape) with it: the large argument can be freed sooner. Each layer's weight
    gradient Z^T S and bias gradient sum(S), written in walk order after the whole backward
    pass, are then made as soon as S is, and S is freed before the next layer's."""
    made = {op.out: op for op in steps}
    # the order is by key: a step that stays is (its position,), a step moved up is its last
    # argument's key and its position; chains of moved steps are cut at _EARLY_DEPTH, so keys
    # stay short (a chain of 5,000 matrix-vector products moves in short runs)
    key: dict[str, tuple[int, ...]] = {}
    for k, op in enumerate(steps):
        after = max((key[a] for a in op.args), default=())
        largest = max((_elements(made[a].shape) for a in op.args), default=0)
        smaller = op.kind in ("transpose", "reshape") or _elements(op.shape) < largest
        early = bool(op.args) and len(after) < _EARLY_DEPTH and smaller
        key[op.out] = (*after, k) if early else (k,)
    return sorted(steps, key=lambda op: key[op.out])


#: how many steps in a row `_early_reductions` moves up behind one another
_EARLY_DEPTH = 8


def _elements(shape: Shape) -> int:
    count = 1
    for n in shape:
        count *= int(n)
    return count


#: values that cost no memory to keep: the caller holds the inputs, and a scalar or a constant
#: broadcast from one number takes a few bytes
_HELD_ANYWAY = frozenset({"input", "scalar", "ones", "zeros", "full"})


def _late_steps(steps: Sequence[Op]) -> list[Op]:
    """Move a step down to just before its first user where that keeps no argument alive any
    longer (each argument is an input or a one-number constant, is used again at or after that
    user anyway, or is used by this step alone: a chain that moves with it). The values are
    the same; fewer arrays are alive at once. The backprop factor 1 - tanh(z)^2 of each layer,
    written in walk order right after tanh(z), is then made where the backward pass uses it,
    not held from the forward pass on.

    A step moves only where its first user stays in place (or is its only user), so every
    other user still comes after it."""
    users: dict[str, list[int]] = {}
    for k, op in enumerate(steps):
        for a in dict.fromkeys(op.args):
            users.setdefault(a, []).append(k)
    kinds = {op.out: op.kind for op in steps}
    moved_to: dict[int, list[int]] = {}  # position of a user -> the steps moved to just before it
    moved: set[int] = set()
    for k in range(len(steps) - 1, -1, -1):
        op = steps[k]
        mine = users.get(op.out)
        if op.kind == "input" or not mine:
            continue
        first = mine[0]
        if (first == k + 1 and first not in moved) or (first in moved and len(mine) > 1):
            continue
        if all(kinds[a] in _HELD_ANYWAY or users[a][-1] >= first or users[a] == [k] for a in op.args):
            moved.add(k)
            moved_to.setdefault(first, []).append(k)
    if not moved:
        return list(steps)
    order: list[Op] = []
    for k in range(len(steps)):
        if k in moved:
            continue
        stack = [(k, False)]  # each step after the steps moved to just before it (no recursion)
        while stack:
            j, ready = stack.pop()
            if ready or j not in moved_to:
                order.append(steps[j])
                continue
            stack.append((j, True))
            stack.extend((m, False) for m in sorted(moved_to[j], reverse=True))
    return order


def liveness(steps: Sequence[Op], outputs: Sequence[str]) -> list[list[str]]:
    last: dict[str, int] = {}
    for k, op in enumerate(steps):
        for a in op.args:
            last[a] = k
    keep = set(outputs)
    free: list[list[str]] = [[] for _ in steps]
    for name, k in last.items():
        if name not in keep:
            free[k].append(name)
    return free
