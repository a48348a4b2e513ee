"""Reductions and norms: mean, max, min, prod, argmax, argmin, norm, frobenius2.

A reduction over the axes R of X is the paper's f^P(X) (eq. 27) with P the kept axes: the
reduced function acts on each sub-tensor indexed by the kept axes (`library.reduction_function`,
one Function per number of reduced axes). `mean` is a network with summed edges, scaled.

Derivatives: d max = 1_argmax · dX per sub-tensor, where 1_argmax is 1/t at each of the t
entries that reach the maximum (ties split evenly) and 0 elsewhere; min likewise. d prod =
(prod / X) · dX (undefined where an entry is 0). The 2-norm's gradient is X / |X|, and 0 where
|X| = 0 (the subgradient 0, never NaN). argmax and argmin are values only (zero derivative).
`keepdims=True` keeps the reduced axes as axes of size 1 (a Ones node of size 1 on each), so the
result broadcasts against the input."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import ShapeError
from .expr import Expr, Ones, as_expr
from .functions import apply
from .library import abs as abs_
from .library import reduction_function
from .ops import expand_dims, reduced_axes
from .ops import sum as sum_

Axis = int | Sequence[int] | None


def _reduce(kind: str, a: Any, axis: Axis, keepdims: bool) -> Expr:
    a = as_expr(a)
    axes = reduced_axes(axis, a.ndim, kind)
    kept = tuple(k for k in range(a.ndim) if k not in axes)
    out = apply(reduction_function(kind, len(axes)), a, kept)
    return expand_dims(out, axes) if keepdims and axes else out


def max(a: Any, axis: Axis = None, keepdims: bool = False) -> Expr:  # noqa: A001 - numpy's name
    """The maximum over `axis` (all axes by default); its gradient is the indicator of the
    arg-max, split evenly between ties."""
    return _reduce("max", a, axis, keepdims)


def min(a: Any, axis: Axis = None, keepdims: bool = False) -> Expr:  # noqa: A001 - numpy's name
    """The minimum over `axis` (all axes by default); ties split the gradient evenly."""
    return _reduce("min", a, axis, keepdims)


def prod(a: Any, axis: Axis = None, keepdims: bool = False) -> Expr:
    """The product over `axis`; d prod = (prod / X) · dX, so its derivative needs non-zero
    entries."""
    return _reduce("prod", a, axis, keepdims)


def argmax(a: Any, axis: int | None = None) -> Expr:
    """The index of the maximum along `axis` (flat index over all axes for None), as numpy;
    a value only, its derivative is 0."""
    return _reduce("argmax", a, axis, False)


def argmin(a: Any, axis: int | None = None) -> Expr:
    """The index of the minimum along `axis` (flat index over all axes for None); value only."""
    return _reduce("argmin", a, axis, False)


def mean(a: Any, axis: Axis = None, keepdims: bool = False) -> Expr:
    """The mean over `axis`: the sum (a network with summed edges) divided by the count. With a
    size name among the reduced axes the count is the sum of a Ones tensor, bound at evaluation."""
    a = as_expr(a)
    axes = reduced_axes(axis, a.ndim, "mean")
    total = sum_(a, axes, keepdims=keepdims)
    sizes = [a.shape[k] for k in axes]
    if all(isinstance(s, int) for s in sizes):
        count = math.prod(sizes)
        if count == 0:
            raise ShapeError(f"mean over axes {list(axes)} of shape {a.shape}: no entries")
        return total * (1.0 / count)
    return total * sum_(Ones(*sizes)) ** -1


def frobenius2(a: Any) -> Expr:
    """‖A‖²_F = A · A, the sum of the squares of all entries."""
    a = as_expr(a)
    return sum_(a * a)


def norm(a: Any, ord: Any = None, axis: Axis = None, keepdims: bool = False) -> Expr:  # noqa: A002
    """numpy.linalg.norm for vectors (ord 1, 2, inf, -inf, or any p >= 1) and matrices (ord
    None or "fro" is Frobenius; 1, -1, inf, -inf the max/min absolute column or row sum).
    The 2-norm (and Frobenius) has gradient X / ‖X‖, and 0 at X = 0."""
    a = as_expr(a)
    axes = reduced_axes(axis, a.ndim, "norm")
    if len(axes) == 1:
        return _vector_norm(a, ord, axes, keepdims)
    if len(axes) == 2:
        return _matrix_norm(a, ord, axes, keepdims)
    if ord is None:
        return _reduce("norm", a, axes, keepdims)
    raise ShapeError(f"norm: ord={ord!r} needs 1 or 2 axes, got {len(axes)} (shape {a.shape})")


def _vector_norm(a: Expr, ord: Any, axes: tuple[int, ...], keepdims: bool) -> Expr:  # noqa: A002
    if ord is None or ord == 2:
        return _reduce("norm", a, axes, keepdims)
    if ord == np.inf:
        return max(abs_(a), axes, keepdims)
    if ord == -np.inf:
        return min(abs_(a), axes, keepdims)
    if ord == 1:
        return sum_(abs_(a), axes, keepdims=keepdims)
    if isinstance(ord, (int, float)) and ord > 1:
        return sum_(abs_(a) ** float(ord), axes, keepdims=keepdims) ** (1.0 / ord)
    raise ValueError(f"norm: unsupported vector ord {ord!r}; use 1, 2, inf, -inf or p >= 1")


def _matrix_norm(a: Expr, ord: Any, axes: tuple[int, ...], keepdims: bool) -> Expr:  # noqa: A002
    row, col = axes
    if ord is None or ord == "fro":
        return _reduce("norm", a, axes, keepdims)
    if ord in (1, -1):  # max / min absolute column sum
        sums = sum_(abs_(a), row, keepdims=True)
    elif ord in (np.inf, -np.inf):  # max / min absolute row sum
        sums = sum_(abs_(a), col, keepdims=True)
    else:
        raise ValueError(f"norm: unsupported matrix ord {ord!r}; use None, 'fro', 1, -1, inf or -inf")
    pick = max if ord in (1, np.inf) else min
    return pick(sums, axes, keepdims)
