"""Operators that build expressions: numpy-style arithmetic and the paper's tensor operators.

Every product-like operator is one call to `network.combine` with a list of indices per operand,
which is the paper's index notation (sec. 2.1): (A_ij B_jm | im)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import AxisError, ShapeError
from .expr import Delta, Expr, Ones, Size, Zero, as_expr, check_size, normalize_axes
from .functions import apply, call, power_function
from .network import combine, fresh, linear_combination, scale

Scalar = (numbers.Number, np.number)


def _idx(prefix: str, n: int) -> list[tuple[str, int]]:
    return [(prefix, k) for k in range(n)]


# ---------------------------------------------------------------------------------------------
# Broadcasting arithmetic
# ---------------------------------------------------------------------------------------------
def broadcast_shapes(a: tuple, b: tuple, what: str) -> tuple:
    """numpy broadcasting of two shapes (size names broadcast only with equal names or 1)."""
    n = max(len(a), len(b))
    pa = (1,) * (n - len(a)) + tuple(a)
    pb = (1,) * (n - len(b)) + tuple(b)
    out = []
    for k, (x, y) in enumerate(zip(pa, pb)):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        elif isinstance(x, str) or isinstance(y, str):
            out.append(y if isinstance(x, str) else x)
        else:
            raise ShapeError(f"{what}: shapes {tuple(a)} and {tuple(b)} do not broadcast (axis {k}: {x} vs {y})")
    return tuple(out)


def broadcast_to(e: Expr, shape: tuple) -> Expr:
    """e repeated along new or size-1 axes as numpy broadcasting does; the repetition is a Ones
    node (the paper's 1 b^T)."""
    shape = tuple(shape)
    if tuple(e.shape) == shape:
        return e
    lead = len(shape) - e.ndim
    if lead < 0:
        raise ShapeError(f"cannot broadcast shape {e.shape} to {shape}")
    out = [fresh() for _ in shape]
    e_labels = []
    ones_labels = []
    for k, size in enumerate(shape):
        if k < lead:
            ones_labels.append(out[k])
            continue
        own = e.shape[k - lead]
        if own == size or (own != 1 and (isinstance(own, str) or isinstance(size, str))):
            e_labels.append(out[k])
        elif own == 1:
            e_labels.append(fresh())  # a size-1 axis, summed
            ones_labels.append(out[k])
        else:
            raise ShapeError(f"cannot broadcast shape {e.shape} to {shape}")
    ones_shape = [shape[out.index(lab)] for lab in ones_labels]
    return combine([e, Ones(*ones_shape)], [e_labels, ones_labels], out)


def add(a: Any, b: Any) -> Expr:
    """a + b with numpy broadcasting."""
    return _add(a, b, 1.0)


def subtract(a: Any, b: Any) -> Expr:
    """a - b with numpy broadcasting."""
    return _add(a, b, -1.0)


def _add(a: Any, b: Any, sign: float) -> Expr:
    if isinstance(a, Scalar) and isinstance(b, Expr):
        if a == 0:
            return scale(b, sign)
        a = scale(Ones(*b.shape), a)
    elif isinstance(b, Scalar) and isinstance(a, Expr):
        if b == 0:
            return a
        b = scale(Ones(*a.shape), b)
    a, b = as_expr(a), as_expr(b)
    shape = broadcast_shapes(a.shape, b.shape, "+" if sign > 0 else "-")
    return linear_combination([(1.0, broadcast_to(a, shape)), (sign, broadcast_to(b, shape))])


def multiply(a: Any, b: Any) -> Expr:
    """Element-wise a * b with numpy broadcasting: a network whose shared axes are fused edges."""
    if isinstance(a, Scalar):
        return scale(as_expr(b), a)
    if isinstance(b, Scalar):
        return scale(as_expr(a), b)
    a, b = as_expr(a), as_expr(b)
    shape = broadcast_shapes(a.shape, b.shape, "*")
    out = [fresh() for _ in shape]

    def labels_for(e: Expr) -> list:
        lead = len(shape) - e.ndim
        labs = []
        for k, own in enumerate(e.shape):
            if own == 1 and shape[lead + k] != 1:
                labs.append(fresh())
            else:
                labs.append(out[lead + k])
        return labs

    la, lb = labels_for(a), labels_for(b)
    used = set(la) | set(lb)
    missing = [lab for lab in out if lab not in used]
    operands, labels = [a, b], [la, lb]
    if missing:  # both operands broadcast along this axis
        operands.append(Ones(*[shape[out.index(m)] for m in missing]))
        labels.append(missing)
    return combine(operands, labels, out)


def divide(a: Any, b: Any) -> Expr:
    """Element-wise a / b (the paper's ⊘) with numpy broadcasting."""
    if isinstance(b, Scalar):
        if b == 0:
            raise ZeroDivisionError("division of a tensor expression by the scalar 0")
        return scale(as_expr(a), 1.0 / b)  # type: ignore[operator]
    reciprocal = power(as_expr(b), -1)
    if isinstance(a, Scalar):
        return scale(reciprocal, a)
    return multiply(a, reciprocal)


def power(e: Any, p: Any) -> Expr:
    """Element-wise e ** p. A scalar exponent (negative and fractional ones too) is the power
    function x^p; a tensor exponent broadcasts and is the library's two-argument "pow"
    (∂/∂e = p e^(p-1), ∂/∂p = e^p log e, for e > 0)."""
    if isinstance(p, (complex, np.complexfloating)):
        raise TypeError(f"** needs a real exponent, got {p!r}; complex powers are not supported")
    if isinstance(p, Scalar):
        if isinstance(e, Scalar):
            return as_expr(e**p)  # type: ignore[operator]
        if p == 1:
            return as_expr(e)
        return apply(power_function(float(p)), as_expr(e))  # type: ignore[arg-type]
    p = as_expr(p, "exponent")
    base = scale(Ones(*p.shape), e) if isinstance(e, Scalar) else as_expr(e)
    shape = broadcast_shapes(base.shape, p.shape, "**")
    return call("pow", broadcast_to(base, shape), broadcast_to(p, shape))


# ---------------------------------------------------------------------------------------------
# Products and rearrangements
# ---------------------------------------------------------------------------------------------
def matmul(a: Any, b: Any) -> Expr:
    """a @ b: the paper's A ·_1 B, i.e. numpy.tensordot(A, B, 1); numpy matmul for vectors and
    matrices."""
    a, b = as_expr(a), as_expr(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError("@ needs tensors with at least one axis; use * for scalars")
    return cdot_k(a, b, 1)


def kron(a: Any, b: Any) -> Expr:
    """A ⊗ B (sec. 2.2): the outer product, A's axes then B's."""
    a, b = as_expr(a), as_expr(b)
    la, lb = _idx("a", a.ndim), _idx("b", b.ndim)
    return combine([a, b], [la, lb], la + lb)


def odot(a: Any, b: Any, P: Sequence[int], Q: Sequence[int], summed: Sequence[int] = ()) -> Expr:
    """A^P ⊙^Q B (eq. 3), with the barred positions `summed` (a subset of P) summed over.

    Axis P[t] of A is multiplied element-wise with axis Q[t] of B. The result has A's axes in
    order (less the summed ones), then B's axes not in Q. Axes are 0-based."""
    a, b = as_expr(a), as_expr(b)
    P = normalize_axes(P, a.ndim, "odot P")
    Q = normalize_axes(Q, b.ndim, "odot Q")
    if len(P) != len(Q):
        raise AxisError(f"odot: P and Q must have the same length ({len(P)} vs {len(Q)})")
    summed = normalize_axes(summed, a.ndim, "odot summed")
    bad = [s for s in summed if s not in P]
    if bad:
        raise AxisError(f"odot: summed positions {bad} are not a subset of P={list(P)}")
    la = _idx("a", a.ndim)
    lb = _idx("b", b.ndim)
    for p, q in zip(P, Q):
        lb[q] = la[p]
    out = [la[k] for k in range(a.ndim) if k not in summed] + [lb[k] for k in range(b.ndim) if k not in Q]
    return combine([a, b], [la, lb], out)


def cdot(a: Any, b: Any, P: Sequence[int], Q: Sequence[int]) -> Expr:
    """A^P · ^Q B: A^P ⊙^Q B with every position of P summed (sec. 2.2)."""
    return odot(a, b, P, Q, summed=P)


def odot_k(a: Any, b: Any, k: int) -> Expr:
    """A ⊙_k B: the last k axes of A fused with the first k of B (sec. 2.5)."""
    a, b = as_expr(a), as_expr(b)
    _check_k(a, b, k, "odot_k")
    return odot(a, b, range(a.ndim - k, a.ndim), range(k))


def cdot_k(a: Any, b: Any, k: int) -> Expr:
    """A ·_k B: the last k axes of A contracted with the first k of B (tensordot(A, B, k))."""
    a, b = as_expr(a), as_expr(b)
    _check_k(a, b, k, "cdot_k")
    P = range(a.ndim - k, a.ndim)
    return odot(a, b, P, range(k), summed=P)


def _check_k(a: Expr, b: Expr, k: int, what: str) -> None:
    if not isinstance(k, (int, np.integer)) or k < 0 or k > a.ndim or k > b.ndim:
        raise AxisError(f"{what}: k={k} must be between 0 and min({a.ndim}, {b.ndim})")


def permute(a: Any, perm: Sequence[int]) -> Expr:
    """A_P (eq. 6): result axis k is A's axis perm[k] (numpy.transpose(A, perm))."""
    a = as_expr(a)
    if not isinstance(perm, Sequence):
        raise AxisError(f"permute: the permutation must be a sequence of axes, got {perm!r}")
    what = f"permute: {list(perm)} is not a permutation of the axes 0..{a.ndim - 1}"
    perm = normalize_axes(perm, a.ndim, what)  # ints, negative counted from the end
    if len(perm) != a.ndim:
        raise AxisError(what)
    la = _idx("a", a.ndim)
    return combine([a], [la], [la[p] for p in perm])


def transpose(a: Any, axes: Sequence[int] | None = None) -> Expr:
    """numpy.transpose: reverse the axes, or permute them as `axes` says."""
    a = as_expr(a)
    if axes is None:
        axes = tuple(reversed(range(a.ndim)))
    return permute(a, axes)


def reduced_axes(axis: int | Sequence[int] | None, ndim: int, what: str) -> tuple[int, ...]:
    """The 0-based axes a reduction runs over: all of them for None, sorted."""
    if axis is None:
        return tuple(range(ndim))
    listed = axis if isinstance(axis, (tuple, list)) else [axis]  # a float axis is named, not iterated
    return tuple(sorted(normalize_axes(listed, ndim, what)))  # type: ignore[arg-type]


def sum(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Expr:  # noqa: A001
    """Sum over the given axes (all by default); `keepdims` keeps them as axes of size 1."""
    a = as_expr(a)
    axes = reduced_axes(axis, a.ndim, "sum")
    la = _idx("a", a.ndim)
    out = combine([a], [la], [la[k] for k in range(a.ndim) if k not in axes])
    return expand_dims(out, axes) if keepdims else out


def expand_dims(a: Any, axis: int | Sequence[int]) -> Expr:
    """numpy.expand_dims: new axes of size 1 at the given positions of the result (a Ones node
    of size 1 on each new edge), so that a per-row statistic or a bias broadcasts."""
    a = as_expr(a)
    ndim = a.ndim + (1 if isinstance(axis, (int, np.integer)) else len(axis))
    new = reduced_axes(axis, ndim, "expand_dims")
    la = _idx("a", a.ndim)
    ones = [("n", k) for k in new]
    own = iter(la)
    out = [("n", k) if k in new else next(own) for k in range(ndim)]
    if not new:
        return a
    return combine([a, Ones(*(1,) * len(new))], [la, ones], out)


def trace(a: Any, axis1: int = 0, axis2: int = 1) -> Expr:
    """The trace over two axes of equal size (the paper's X · I)."""
    a = as_expr(a)
    axis1, axis2 = normalize_axes([axis1, axis2], a.ndim, "trace")
    la = _idx("a", a.ndim)
    la[axis2] = la[axis1]
    return combine([a], [la], [la[k] for k in range(a.ndim) if k not in (axis1, axis2)])


def diag(a: Any) -> Expr:
    """diag(v) for a vector (a Delta node joining two output axes), or the diagonal of a matrix."""
    a = as_expr(a)
    if a.ndim == 1:
        return combine([a, Delta(a.shape[0], 3)], [["i"], ["i", "j", "k"]], ["j", "k"])
    if a.ndim == 2:
        return combine([a], [["i", "i"]], ["i"])
    raise ShapeError(f"diag needs a vector or a matrix, got shape {a.shape}")


# ---------------------------------------------------------------------------------------------
# Leaves and functions
# ---------------------------------------------------------------------------------------------
def identity(n: Size) -> Expr:
    """The n x n identity matrix (a Delta of order 2)."""
    return Delta(check_size(n, "identity"), 2)


def delta(n: Size, order: int = 2) -> Expr:
    """The copy tensor of the given order: 1 where all indices are equal."""
    return Delta(n, order)


def ones(*shape: Size) -> Expr:
    return Ones(*shape)


def zeros(*shape: Size) -> Expr:
    return Zero(*shape)
