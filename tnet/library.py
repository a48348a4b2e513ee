"""The built-in functions, registered with `Function` exactly as a user registers one.

Scalar functions act element-wise (eq. 16) with d f(X) = f'(X) ⊙ dX (eq. 17); softmax,
log_softmax and logsumexp act on vectors (sec. 4.3.5); inv, det and logdet on matrices
(sec. 4.4); maximum, minimum, where and pow (x ** y) are functions of several tensors. The
reductions (reductions.py) and attention (losses.py) are registered the same way in their own
modules."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import ShapeError
from .expr import Expr, Ones, Zero, as_expr
from .functions import Function, along_axis, apply, call
from .network import combine
from .ops import expand_dims


# ---------------------------------------------------------------------------------------------
# helpers for rules on batched sub-tensors
# ---------------------------------------------------------------------------------------------
def _labels(prefix: str, n: int) -> list:
    return [(prefix, k) for k in range(n)]


def _f(name: str, x: Expr, nbatch: int) -> Expr:
    return apply(name, x, range(nbatch))


def _zero_differential(x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
    return Zero(*fx.shape)


# ---------------------------------------------------------------------------------------------
# scalar functions (applied element-wise)
# ---------------------------------------------------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x, dtype=np.result_type(x, 0.0))
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _real_only(name: str, fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """fn, refusing complex arrays: relu, abs, step and sign have no complex derivative."""

    def value(x: np.ndarray) -> np.ndarray:
        if np.iscomplexobj(x):
            raise TypeError(f"{name} is defined for real arrays only (it has no complex derivative), got {x.dtype}")
        return fn(x)

    return value


STEP_FN = Function(
    "step", _real_only("step", lambda x: (x > 0).astype(np.result_type(x, 0.0))), differential=_zero_differential
)
#: 1 where x != 0, else 0 (numpy's truth of a number): the mask `where` makes of a condition
NONZERO_FN = Function(
    "nonzero", lambda x: (np.asarray(x) != 0).astype(np.result_type(x, 0.0)), differential=_zero_differential
)
SIGN_FN = Function("sign", _real_only("sign", np.sign), differential=_zero_differential, zero_preserving=True)
EXP_FN = Function("exp", np.exp, differential=lambda x, dx, fx, k: fx * dx)
LOG_FN = Function("log", np.log, derivative=lambda x: x**-1)
TANH_FN = Function("tanh", np.tanh, differential=lambda x, dx, fx, k: (1 - fx**2) * dx, zero_preserving=True)
SIGMOID_FN = Function("sigmoid", _sigmoid, differential=lambda x, dx, fx, k: (fx * (1 - fx)) * dx)
RELU_FN = Function(
    "relu",
    _real_only("relu", lambda x: np.maximum(x, 0)),
    derivative=lambda x: _f("step", x, x.ndim),
    zero_preserving=True,
)
SQRT_FN = Function("sqrt", np.sqrt, differential=lambda x, dx, fx, k: (0.5 * fx**-1) * dx, zero_preserving=True)
ABS_FN = Function("abs", _real_only("abs", np.abs), derivative=lambda x: _f("sign", x, x.ndim), zero_preserving=True)
SIN_FN = Function("sin", np.sin, derivative=lambda x: _f("cos", x, x.ndim), zero_preserving=True)
COS_FN = Function("cos", np.cos, derivative=lambda x: -_f("sin", x, x.ndim))
TAN_FN = Function("tan", np.tan, differential=lambda x, dx, fx, k: (1 + fx**2) * dx, zero_preserving=True)
ARCTAN_FN = Function("arctan", np.arctan, derivative=lambda x: (1 + x**2) ** -1, zero_preserving=True)
ARCSIN_FN = Function("arcsin", np.arcsin, derivative=lambda x: (1 - x**2) ** -0.5, zero_preserving=True)
ARCCOS_FN = Function("arccos", np.arccos, derivative=lambda x: -((1 - x**2) ** -0.5))
LOG1P_FN = Function("log1p", np.log1p, derivative=lambda x: (1 + x) ** -1, zero_preserving=True)
EXPM1_FN = Function("expm1", np.expm1, differential=lambda x, dx, fx, k: (1 + fx) * dx, zero_preserving=True)
SOFTPLUS_FN = Function("softplus", lambda x: np.logaddexp(0.0, x), derivative=lambda x: _f("sigmoid", x, x.ndim))


def _erf(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    out = np.vectorize(math.erf, otypes=[np.float64])(x) if x.size else np.zeros(x.shape)
    return out.astype(np.result_type(x, np.float32))


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


def _gelu_value(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * _INV_SQRT_2))


def _gelu_derivative(x: Expr) -> Expr:
    """gelu(x) = x Φ(x); gelu'(x) = Φ(x) + x φ(x)."""
    phi = _INV_SQRT_2PI * _f("exp", -0.5 * x**2, x.ndim)
    return 0.5 + 0.5 * _f("erf", _INV_SQRT_2 * x, x.ndim) + x * phi


def _gelu_tanh_value(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + _GELU_A * x**3)))


def _gelu_tanh_derivative(x: Expr) -> Expr:
    """gelu(x) = ½x(1 + tanh u), u = c(x + a x³); the derivative ½(1 + tanh u) + ½x(1 - tanh² u) u'."""
    t = _f("tanh", _GELU_C * (x + _GELU_A * x**3), x.ndim)
    du = _GELU_C * (1 + 3 * _GELU_A * x**2)
    return 0.5 + 0.5 * t + 0.5 * (x * (1 - t**2) * du)


ERF_FN = Function(
    "erf", _erf, derivative=lambda x: _TWO_OVER_SQRT_PI * _f("exp", -(x**2), x.ndim), zero_preserving=True
)
GELU_FN = Function("gelu", _gelu_value, derivative=_gelu_derivative, zero_preserving=True)
GELU_TANH_FN = Function("gelu_tanh", _gelu_tanh_value, derivative=_gelu_tanh_derivative, zero_preserving=True)


def _recip0(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.result_type(x, 0.0))
    safe = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 0.0, 1.0 / safe).astype(x.dtype)


#: 1/x where x != 0 and 0 where x == 0: the subgradient choice that makes the gradient of the
#: 2-norm at 0 equal to 0 (its derivative, -recip0(x)², is 0 there too)
RECIP0_FN = Function("recip0", _recip0, derivative=lambda x: -(_f("recip0", x, x.ndim) ** 2), zero_preserving=True)


# ---------------------------------------------------------------------------------------------
# element-wise functions of several tensors (arguments of one shape; elementwise.py broadcasts)
# ---------------------------------------------------------------------------------------------
def _float_power(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.power(np.asarray(x, dtype=np.result_type(x, y, 0.0)), y)


def _where_value(c: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(c != 0, a, b).astype(np.result_type(a, b, 0.0))


MAXIMUM_FN = Function(
    "maximum",
    np.maximum,
    arity=2,
    derivative=(lambda a, b: 0.5 + 0.5 * apply("sign", a - b), lambda a, b: 0.5 - 0.5 * apply("sign", a - b)),
)
MINIMUM_FN = Function(
    "minimum",
    np.minimum,
    arity=2,
    derivative=(lambda a, b: 0.5 - 0.5 * apply("sign", a - b), lambda a, b: 0.5 + 0.5 * apply("sign", a - b)),
)
#: x ** y with a tensor exponent: ∂/∂x = y x^(y-1), ∂/∂y = x^y log x (x > 0)
POW_FN = Function(
    "pow",
    _float_power,
    arity=2,
    differential=(
        lambda args, dx, fx, k: (args[1] * call("pow", args[0], args[1] - 1)) * dx,
        lambda args, dx, fx, k: (fx * apply("log", args[0])) * dx,
    ),
)
#: where(c, a, b) with a constant 0/1 condition c: a where c != 0, else b. Only the chosen branch
#: enters the value (a NaN or inf in the other does not); d where = c ⊙ da + (1 - c) ⊙ db
WHERE_FN = Function(
    "where",
    _where_value,
    arity=3,
    differential=(
        lambda args, dx, fx, k: Zero(*fx.shape),  # the condition is a constant
        lambda args, dx, fx, k: args[0] * dx,
        lambda args, dx, fx, k: (1 - args[0]) * dx,
    ),
)


# ---------------------------------------------------------------------------------------------
# functions of sub-tensors
# ---------------------------------------------------------------------------------------------
def _softmax_value(x: np.ndarray) -> np.ndarray:
    if x.shape[-1] == 0:  # no entries to normalize: an empty result
        return np.zeros(x.shape, dtype=np.result_type(x, 0.0))
    z = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def _logsumexp_value(x: np.ndarray) -> np.ndarray:
    if x.shape[-1] == 0:  # log of an empty sum: log 0
        return np.full(x.shape[:-1], -np.inf, dtype=np.result_type(x, 0.0))
    m = np.max(x, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return (np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True)) + m)[..., 0]


def _softmax_differential(x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
    """ds = s ⊙ da - s (s · da) per sub-tensor: the paper's ∇s = diag(s) - s s^T (sec. 4.3.5)."""
    b, i = _labels("b", nbatch), [("i", 0)]
    weighted = combine([fx, dx], [b + i, b + i], b + i)  # s ⊙ da
    dotted = combine([fx, fx, dx], [b + i, b + [("j", 0)], b + [("j", 0)]], b + i)  # s (s · da)
    return weighted - dotted


def _log_softmax_value(x: np.ndarray) -> np.ndarray:
    m = np.max(x, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def _log_softmax_differential(x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
    """d log s(a) = da - 1 (s · da) per sub-tensor (from ln s(a) = a - 1 ln(1^T e^a), eq. 41)."""
    b, i, j = _labels("b", nbatch), [("i", 0)], [("j", 0)]
    s = _f("softmax", x, nbatch)
    dotted = combine([s, dx, Ones(x.shape[-1])], [b + j, b + j, i], b + i)
    return dx - dotted


def _logsumexp_differential(x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
    b, i = _labels("b", nbatch), [("i", 0)]
    return combine([_f("softmax", x, nbatch), dx], [b + i, b + i], b)


def _check_square(core: tuple, name: str) -> None:
    a, b = core
    if isinstance(a, int) and isinstance(b, int) and a != b:
        raise ShapeError(f"{name} needs square matrices, got sub-tensor shape {core}")


def _inv_shape(core: tuple) -> tuple:
    _check_square(core, "inv")
    return core


def _det_shape(core: tuple) -> tuple:
    _check_square(core, "det")
    return ()


def _inv_differential(x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
    """d(X^-1) = -X^-1 dX X^-1 (sec. 4.4)."""
    b = _labels("b", nbatch)
    return combine([fx, dx, fx], [b + ["i", "j"], b + ["j", "k"], b + ["k", "l"]], b + ["i", "l"], coef=-1.0)


def _inv_value(x: np.ndarray) -> np.ndarray:
    """The inverse of each matrix; a singular one (no inverse) gives NaNs, as 1/0 gives inf."""
    try:
        return np.linalg.inv(x)
    except np.linalg.LinAlgError:
        out = np.empty(x.shape, dtype=np.result_type(x, 0.0))
        flat, flat_out = x.reshape((-1, *x.shape[-2:])), out.reshape((-1, *x.shape[-2:]))
        for k, m in enumerate(flat):
            try:
                flat_out[k] = np.linalg.inv(m)
            except np.linalg.LinAlgError:
                flat_out[k] = np.nan
        return out


def _adjugate_value(x: np.ndarray) -> np.ndarray:
    """adj(X), the transposed cofactor matrix (adj X = |X| X^-1 when X is invertible), of each
    matrix, singular ones included: with X = U S V^H, adj X = |U| |V^H| V adj(S) U^H where
    adj(S) is diagonal with entries prod_{j != i} s_j."""
    n = x.shape[-1]
    if n == 0:
        return np.zeros(x.shape, dtype=np.result_type(x, 0.0))
    u, s, vh = np.linalg.svd(x)
    others = np.where(np.eye(n, dtype=bool), 1.0, s[..., None, :])  # row i: s with s_i set to 1
    cof = np.prod(others, axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vh)
    vh_h = np.conj(np.swapaxes(vh, -1, -2))
    u_h = np.conj(np.swapaxes(u, -1, -2))
    out = sign[..., None, None] * (vh_h * cof[..., None, :]) @ u_h
    return out.real if not np.iscomplexobj(x) else out


def _adjugate_differential(x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
    """d adj(X) = (X^-T · dX) adj(X) - X^-1 dX adj(X), from adj X = |X| X^-1 (sec. 4.4); it
    needs X invertible."""
    b = _labels("b", nbatch)
    inv = _f("inv", x, nbatch)
    traced = combine([inv, dx, fx], [b + ["j", "i"], b + ["i", "j"], b + ["k", "l"]], b + ["k", "l"])
    moved = combine([inv, dx, fx], [b + ["i", "j"], b + ["j", "k"], b + ["k", "l"]], b + ["i", "l"], coef=-1.0)
    return traced + moved


def _det_differential(x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
    """d|X| = adj(X)^T · dX, which is |X| X^-T · dX (sec. 4.4) where X is invertible and holds at
    singular X too."""
    b = _labels("b", nbatch)
    adj = _f("adj", x, nbatch)
    return combine([adj, dx], [b + ["j", "i"], b + ["i", "j"]], b)


def _logdet_differential(x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
    """d log|X| = X^-T · dX."""
    b = _labels("b", nbatch)
    return combine([_f("inv", x, nbatch), dx], [b + ["j", "i"], b + ["i", "j"]], b)


SOFTMAX_FN = Function("softmax", _softmax_value, core_ndim=1, differential=_softmax_differential)
LOGSUMEXP_FN = Function(
    "logsumexp", _logsumexp_value, core_ndim=1, output_shape=lambda core: (), differential=_logsumexp_differential
)
LOG_SOFTMAX_FN = Function("log_softmax", _log_softmax_value, core_ndim=1, differential=_log_softmax_differential)
INV_FN = Function("inv", _inv_value, core_ndim=2, output_shape=_inv_shape, differential=_inv_differential)
ADJ_FN = Function("adj", _adjugate_value, core_ndim=2, output_shape=_inv_shape, differential=_adjugate_differential)
DET_FN = Function("det", np.linalg.det, core_ndim=2, output_shape=_det_shape, differential=_det_differential)
LOGDET_FN = Function(
    "logdet",
    lambda x: np.linalg.slogdet(x)[1],
    core_ndim=2,
    output_shape=_det_shape,
    differential=_logdet_differential,
)


# ---------------------------------------------------------------------------------------------
# the user-facing functions
# ---------------------------------------------------------------------------------------------
def _elementwise(name: str) -> Callable[[Any], Expr]:
    def fn(a: Any) -> Expr:
        return apply(name, a)

    fn.__name__ = name
    fn.__doc__ = f"{name} applied element-wise (eq. 16); d {name}(X) = {name}'(X) ⊙ dX (eq. 17)."
    return fn


exp = _elementwise("exp")
log = _elementwise("log")
tanh = _elementwise("tanh")
sigmoid = _elementwise("sigmoid")
relu = _elementwise("relu")
sqrt = _elementwise("sqrt")
abs = _elementwise("abs")  # noqa: A001 - numpy's name
sin = _elementwise("sin")
cos = _elementwise("cos")
tan = _elementwise("tan")
arctan = _elementwise("arctan")
arcsin = _elementwise("arcsin")
arccos = _elementwise("arccos")
log1p = _elementwise("log1p")
expm1 = _elementwise("expm1")
softplus = _elementwise("softplus")
erf = _elementwise("erf")
sign = _elementwise("sign")
step = _elementwise("step")


def gelu(a: Any, approximate: str = "none") -> Expr:
    """GELU element-wise: x Φ(x) = ½x(1 + erf(x/√2)) (`approximate="none"`), or the tanh form
    ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (`approximate="tanh"`)."""
    if approximate == "none":
        return apply("gelu", a)
    if approximate == "tanh":
        return apply("gelu_tanh", a)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def square(a: Any) -> Expr:
    """a ** 2 element-wise."""
    return as_expr(a) ** 2


def softmax(a: Any, axis: int = -1) -> Expr:
    """softmax along `axis`, s(a) = e^a / (1^T e^a) (sec. 4.3.5), stable for large logits."""
    return along_axis("softmax", a, axis)


def log_softmax(a: Any, axis: int = -1) -> Expr:
    """log(softmax(a)) along `axis`, computed as a - logsumexp(a): finite at logits of ±1000.
    d log s(a) = da - 1 (s · da)."""
    return along_axis("log_softmax", a, axis)


def logsumexp(a: Any, axis: int = -1, keepdims: bool = False) -> Expr:
    """log(sum(exp(a))) along `axis` (which disappears, or stays as size 1 with `keepdims`),
    stable for large logits."""
    out = along_axis("logsumexp", a, axis)
    return expand_dims(out, axis % as_expr(a).ndim) if keepdims else out


def inv(a: Any) -> Expr:
    """The matrix inverse (of the last two axes); d(X^-1) = -X^-1 dX X^-1 (sec. 4.4)."""
    return apply("inv", a)


def adj(a: Any) -> Expr:
    """The adjugate (of the last two axes): adj X = |X| X^-1 where X is invertible, defined at
    singular X too; ∇|X| = adj(X)^T."""
    return apply("adj", a)


def det(a: Any) -> Expr:
    """The determinant (of the last two axes); d|X| = |X| X^-T · dX (sec. 4.4), computed as
    adj(X)^T · dX so that it exists at singular X."""
    return apply("det", a)


def logdet(a: Any) -> Expr:
    """log|det X| (of the last two axes); d log|X| = X^-T · dX."""
    return apply("logdet", a)
