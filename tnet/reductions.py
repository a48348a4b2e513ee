"""Reductions and norms: mean, var, std, max, min, prod, argmax, argmin, norm, frobenius2.

A reduction over the axes R of X is the paper's f^P(X) (eq. 27) with P the kept axes: the
reduced function acts on each sub-tensor indexed by the kept axes (`reduction_function`, one
Function per number of reduced axes, registered as a family so the readers find `max^1(A)`).
`mean` is a network with summed edges, scaled.

Derivatives: d max = 1_argmax · dX per sub-tensor, where 1_argmax is 1/t at each of the t
entries that reach the maximum (ties split evenly) and 0 elsewhere; min likewise. d prod =
Π_{j≠i} x_j dx_i, computed without division (exact where entries are 0), and so on to any
order (`ProdDerivative`). The 2-norm's gradient is X / |X|, and 0 where
|X| = 0 (the subgradient 0, never NaN). argmax and argmin are values only (zero derivative).
`keepdims=True` keeps the reduced axes as axes of size 1 (a Ones node of size 1 on each), so the
result broadcasts against the input."""

from __future__ import annotations

import itertools
import math
import weakref
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from .errors import ShapeError
from .expr import Expr, Ones, Zero, as_expr
from .functions import Function, apply, register_family
from .library import abs as abs_
from .network import combine
from .ops import expand_dims, reduced_axes
from .ops import sum as sum_


def _labels(prefix: str, n: int) -> list:
    return [(prefix, k) for k in range(n)]


def _zero_differential(x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
    return Zero(*fx.shape)


# ---------------------------------------------------------------------------------------------
# reductions over the last k axes: one Function per (kind, k)
# ---------------------------------------------------------------------------------------------
def _flat(x: np.ndarray, k: int) -> np.ndarray:
    """x with its last k axes flattened into one (a trailing axis of size 1 when k = 0)."""
    return np.reshape(x, x.shape[: x.ndim - k] + (-1,))


def _tie_mask(x: np.ndarray, k: int, pick: Callable[..., np.ndarray]) -> np.ndarray:
    """1/t at the t entries of each sub-tensor that reach its max (or min), 0 elsewhere."""
    flat = _flat(x, k)
    hit = (flat == pick(flat, axis=-1, keepdims=True)).astype(np.result_type(x, 0.0))
    return np.reshape(hit / np.sum(hit, axis=-1, keepdims=True), x.shape)


class _Reduction:
    """The numpy values and derivative rules of one reduction over k axes."""

    def __init__(self, kind: str, k: int) -> None:
        self.kind, self.k = kind, k

    def value(self, x: np.ndarray) -> np.ndarray:
        flat = _flat(x, self.k)
        if self.kind == "max":
            return np.max(flat, axis=-1)
        if self.kind == "min":
            return np.min(flat, axis=-1)
        if self.kind == "prod":
            return np.prod(flat, axis=-1)
        if self.kind == "norm":  # in floating point: squares of small integers must not wrap
            if np.iscomplexobj(flat):
                raise TypeError(
                    f"norm is defined for real arrays only (it has no complex derivative), got {flat.dtype}"
                )
            real = np.asarray(flat, dtype=np.result_type(flat, 0.0))
            return np.sqrt(np.sum(real * real, axis=-1))
        if self.kind in ("argmax", "argmin"):
            return (np.argmax if self.kind == "argmax" else np.argmin)(flat, axis=-1)
        pick = np.max if self.kind == "argmax_mask" else np.min
        return _tie_mask(x, self.k, pick)

    def grad(self, x: Expr, nbatch: int) -> Expr:
        """∇ of one sub-tensor's reduction, batch axes first (used through eq. 32)."""
        b = _labels("b", nbatch)
        c = _labels("c", x.ndim - nbatch)
        if self.kind in ("max", "min"):
            return reduction_function("arg" + self.kind + "_mask", self.k).applied(x, nbatch)
        if self.kind == "prod":  # ∂/∂x_i Π x = Π_{j≠i} x_j, exact where entries are 0
            return prod_derivative(self.k, 1).applied(x, nbatch)
        fx = reduction_function(self.kind, self.k).applied(x, nbatch)
        # norm: x / |x|, and 0 where |x| = 0 (the subgradient 0)
        return combine([x, apply("recip0", fx, range(nbatch))], [b + c, b], b + c)


class ReductionFunction(Function):
    """One reduction (max, min, prod, norm, argmax, argmin, and the tie-splitting indicator
    of the arg-max or arg-min) over sub-tensors of k axes. Not registered by name (one object
    per (kind, k)); `reduction_function(kind, k)` finds it."""

    def __init__(self, kind: str, k: int) -> None:
        self.kind, self.k = kind, k
        rule = _Reduction(kind, k)
        same_shape = kind in ("argmax_mask", "argmin_mask")
        values_only = kind in ("argmax", "argmin", "argmax_mask", "argmin_mask")
        super().__init__(
            kind,
            rule.value,
            core_ndim=k,
            output_shape=(lambda core: core) if same_shape else (lambda core: ()),
            grad=None if values_only else rule.grad,
            differential=_zero_differential if values_only else None,
            register=False,
        )

    def applied(self, x: Expr, nbatch: int) -> Expr:
        return apply(self, x, range(nbatch))


#: (kind, k) -> its ReductionFunction while some expression uses it (weak values)
_REDUCTIONS: weakref.WeakValueDictionary[tuple[str, int], ReductionFunction] = weakref.WeakValueDictionary()


def reduction_function(kind: str, k: int) -> ReductionFunction:
    """The reduction `kind` over sub-tensors of k axes (one object per (kind, k))."""
    fn = _REDUCTIONS.get((kind, k))
    if fn is None:
        fn = ReductionFunction(kind, k)
        _REDUCTIONS[(kind, k)] = fn
    return fn


class ProdDerivative(Function):
    """The r-th derivative of the product of a sub-tensor of k axes (n entries in all): the
    tensor of r copies of the sub-tensor's shape whose entry (i_1, ..., i_r) is the product of
    the entries other than i_1, ..., i_r when these are distinct, and 0 otherwise. Exact where
    entries are 0 (no division); its own gradient is the next one, so prod differentiates to
    any order. r = 1 costs O(n) per sub-tensor, r >= 2 O(n^(r+1))."""

    def __init__(self, k: int, r: int) -> None:
        self.k, self.r = k, r
        super().__init__(
            "prod'" if r == 1 else f"prod^({r})",
            self._value,
            core_ndim=k,
            output_shape=lambda core: tuple(core) * r,
            grad=lambda x, nbatch: prod_derivative(k, r + 1).applied(x, nbatch),
            register=False,
        )

    def applied(self, x: Expr, nbatch: int) -> Expr:
        return apply(self, x, range(nbatch))

    def _value(self, x: np.ndarray) -> np.ndarray:
        core = x.shape[x.ndim - self.k :]
        flat = _flat(x, self.k)
        n = flat.shape[-1]
        if self.r == 1:  # the products to the left and to the right of each entry
            ones = np.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
            left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
            right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
            out = left * right
        else:
            out = np.zeros(flat.shape[:-1] + (n,) * self.r, dtype=np.result_type(flat, 0.0))
            for picked in itertools.permutations(range(n), self.r):
                where: tuple[Any, ...] = (Ellipsis, *picked)
                out[where] = np.prod(np.delete(flat, picked, axis=-1), axis=-1)
        return np.reshape(out, x.shape[: x.ndim - self.k] + tuple(core) * self.r)


#: (k, r) -> its ProdDerivative while some expression uses it (weak values)
_PROD_DERIVATIVES: weakref.WeakValueDictionary[tuple[int, int], ProdDerivative] = weakref.WeakValueDictionary()


def prod_derivative(k: int, r: int) -> ProdDerivative:
    """The r-th derivative of the product over sub-tensors of k axes (one object per (k, r))."""
    fn = _PROD_DERIVATIVES.get((k, r))
    if fn is None:
        fn = ProdDerivative(k, r)
        _PROD_DERIVATIVES[(k, r)] = fn
    return fn


for _kind in ("max", "min", "prod", "norm", "argmax", "argmin"):
    register_family(_kind, partial(reduction_function, _kind))


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
    """The product over `axis`; ∂ prod/∂x_i is the product of the other entries, computed
    without division, so every derivative is exact where entries are 0."""
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


def var(a: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Expr:
    """The variance over `axis`, mean((a - mean(a))²) (divided by count - ddof), as numpy."""
    a = as_expr(a)
    axes = reduced_axes(axis, a.ndim, "var")
    centred = a - mean(a, axes, keepdims=True)
    squares = sum_(centred * centred, axes, keepdims=keepdims)
    sizes = [a.shape[k] for k in axes]
    if not all(isinstance(s, int) for s in sizes):
        return squares * (sum_(Ones(*sizes)) - ddof) ** -1
    count = math.prod(sizes) - ddof
    if count <= 0:
        raise ShapeError(f"var over axes {list(axes)} of shape {a.shape} with ddof={ddof}: no degrees of freedom")
    return squares * (1.0 / count)


def std(a: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Expr:
    """The standard deviation, √var (its derivative is infinite where the variance is 0)."""
    return var(a, axis, keepdims, ddof) ** 0.5


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
