"""The function library: each function's numpy value next to its derivative rule.

A function f acts on sub-tensors with `core_ndim` axes (0 for a scalar function) and is applied
as f^P(X) (eq. 27) by `tnet.apply`. Its derivative is given in one of three forms:

- `derivative(x)`: for scalar functions, f'(x) as an expression; d f(X) = f'(X) ⊙ dX (eq. 17).
- `grad(x, k)`: the generalized gradient ∇f (eq. 28) applied to the sub-tensors, an expression
  with the k batch axes first, then f's input axes, then its output axes; the differential is
  then built by eq. 32: d f^P(X) = ∇f^P(X) ^{1..k, bar(k+1..n)} ⊙ ^{1..n} dX.
- `differential(x, dx, fx, k)`: the differential directly, linear in dx. `x` is the argument with
  the k batch axes first, `dx` its differential, `fx` the application f^P(X) itself.

The library's own functions are registered with this same `Function` class, which is how a user
adds a new one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import DifferentiationError, ShapeError
from .expr import Expr, Zero

_REGISTRY: dict[str, Function] = {}


class Function:
    """A function that tnet can apply to tensors and differentiate.

    Parameters:
        name: the registry name (`tnet.apply("name", A)` finds it).
        value: numpy implementation; it receives an array whose leading axes are batch axes and
            whose last `core_ndim` axes are the sub-tensor, and returns batch axes + output axes.
        core_ndim: how many axes f acts on (0: scalar function applied element-wise).
        output_shape: maps the core shape to the output shape (default: the same shape).
        derivative / grad / differential: the derivative rule, in one of the forms above.
        zero_preserving: f(0) = 0 element-wise, so f of a Zero tensor is Zero.
    """

    def __init__(
        self,
        name: str,
        value: Callable[[np.ndarray], np.ndarray],
        *,
        core_ndim: int = 0,
        output_shape: Callable[[tuple], tuple] | None = None,
        derivative: Callable[[Expr], Expr] | None = None,
        grad: Callable[[Expr, int], Expr] | None = None,
        differential: Callable[[Expr, Expr, Expr, int], Expr] | None = None,
        zero_preserving: bool = False,
        register: bool = True,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError("a Function needs a non-empty name")
        if sum(r is not None for r in (derivative, grad, differential)) > 1:
            raise TypeError(f"Function {name!r}: give only one of derivative=, grad=, differential=")
        if derivative is not None and core_ndim != 0:
            raise TypeError(f"Function {name!r}: derivative= is for scalar functions (core_ndim=0); use grad=")
        self.name = name
        self.value = value
        self.core_ndim = core_ndim
        self._output_shape = output_shape
        self.derivative = derivative
        self.grad = grad
        self._differential = differential
        self.zero_preserving = zero_preserving
        if register:
            _REGISTRY[name] = self

    def __repr__(self) -> str:
        return f"Function({self.name!r})"

    def output_shape(self, core_shape: tuple) -> tuple:
        if self.core_ndim is not None and len(core_shape) != self.core_ndim:
            raise ShapeError(
                f"{self.name} acts on sub-tensors with {self.core_ndim} axes, got sub-tensor shape {core_shape}"
            )
        return tuple(core_shape) if self._output_shape is None else tuple(self._output_shape(tuple(core_shape)))

    @property
    def has_rule(self) -> bool:
        return any(r is not None for r in (self.derivative, self.grad, self._differential))

    def differential(self, x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
        """d f^P(X) as an expression linear in dx (x, dx with the batch axes first)."""
        from . import ops
        from .network import combine

        if self._differential is not None:
            return self._differential(x, dx, fx, nbatch)
        if self.derivative is not None:
            return ops.multiply(self.derivative(x), dx)
        if self.grad is not None:  # eq. 32
            g = self.grad(x, nbatch)
            batch = [("b", k) for k in range(nbatch)]
            core = [("c", k) for k in range(x.ndim - nbatch)]
            out = [("o", k) for k in range(g.ndim - x.ndim)]
            return combine([g, dx], [batch + core + out, batch + core], batch + out)
        raise DifferentiationError(f"the function {self.name!r} has no derivative rule")


def get_function(fn: Any) -> Function:
    if isinstance(fn, Function):
        return fn
    if isinstance(fn, str):
        try:
            return _REGISTRY[fn]
        except KeyError:
            raise DifferentiationError(
                f"unknown function {fn!r}; registered: {', '.join(sorted(_REGISTRY))}"
            ) from None
    raise TypeError(f"expected a Function or a registered function name, got {fn!r}")


def registered() -> dict[str, Function]:
    return dict(_REGISTRY)


# ---------------------------------------------------------------------------------------------
# helpers for rules on batched sub-tensors
# ---------------------------------------------------------------------------------------------
def _labels(prefix: str, n: int) -> list:
    return [(prefix, k) for k in range(n)]


def _f(name: str, x: Expr, nbatch: int) -> Expr:
    from .ops import apply

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


STEP_FN = Function("step", lambda x: (x > 0).astype(np.result_type(x, 0.0)), differential=_zero_differential)
SIGN_FN = Function("sign", np.sign, differential=_zero_differential, zero_preserving=True)
EXP_FN = Function("exp", np.exp, differential=lambda x, dx, fx, k: fx * dx)
LOG_FN = Function("log", np.log, derivative=lambda x: x**-1)
TANH_FN = Function("tanh", np.tanh, differential=lambda x, dx, fx, k: (1 - fx**2) * dx, zero_preserving=True)
SIGMOID_FN = Function("sigmoid", _sigmoid, differential=lambda x, dx, fx, k: (fx * (1 - fx)) * dx)
RELU_FN = Function("relu", lambda x: np.maximum(x, 0), derivative=lambda x: _f("step", x, x.ndim), zero_preserving=True)
SQRT_FN = Function("sqrt", np.sqrt, differential=lambda x, dx, fx, k: (0.5 * fx**-1) * dx, zero_preserving=True)
ABS_FN = Function("abs", np.abs, derivative=lambda x: _f("sign", x, x.ndim), zero_preserving=True)
SIN_FN = Function("sin", np.sin, derivative=lambda x: _f("cos", x, x.ndim), zero_preserving=True)
COS_FN = Function("cos", np.cos, derivative=lambda x: -_f("sin", x, x.ndim))

_POWERS: dict[float, Function] = {}


def power_function(p: float) -> Function:
    """x ** p element-wise, one Function per exponent."""
    fn = _POWERS.get(p)
    if fn is None:
        shown = int(p) if float(p).is_integer() else p

        def value(x: np.ndarray, p: float = p) -> np.ndarray:
            x = np.asarray(x, dtype=np.result_type(x, 0.0))
            if float(p).is_integer():
                return x ** int(p) if p >= 0 else 1.0 / x ** int(-p)
            return np.power(x, p)

        def derivative(x: Expr, p: float = p) -> Expr:
            return p * x ** (p - 1) if p != 2 else 2 * x

        fn = Function(f"pow{shown}", value, derivative=derivative, zero_preserving=p > 0, register=False)
        fn.exponent = p
        _POWERS[p] = fn
    return fn


# ---------------------------------------------------------------------------------------------
# functions of sub-tensors
# ---------------------------------------------------------------------------------------------
def _softmax_value(x: np.ndarray) -> np.ndarray:
    z = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def _logsumexp_value(x: np.ndarray) -> np.ndarray:
    m = np.max(x, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return (np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True)) + m)[..., 0]


def _softmax_differential(x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
    """ds = s ⊙ da - s (s · da) per sub-tensor: the paper's ∇s = diag(s) - s s^T (sec. 4.3.5)."""
    from .network import combine

    b, i = _labels("b", nbatch), [("i", 0)]
    weighted = combine([fx, dx], [b + i, b + i], b + i)  # s ⊙ da
    dotted = combine([fx, fx, dx], [b + i, b + [("j", 0)], b + [("j", 0)]], b + i)  # s (s · da)
    return weighted - dotted


def _logsumexp_differential(x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
    from .network import combine

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
    from .network import combine

    b = _labels("b", nbatch)
    return combine([fx, dx, fx], [b + ["i", "j"], b + ["j", "k"], b + ["k", "l"]], b + ["i", "l"], coef=-1.0)


def _det_differential(x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
    """d|X| = |X| X^-T · dX (sec. 4.4)."""
    from .network import combine

    b = _labels("b", nbatch)
    inv = _f("inv", x, nbatch)
    return combine([fx, inv, dx], [b, b + ["j", "i"], b + ["i", "j"]], b)


def _logdet_differential(x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
    """d log|X| = X^-T · dX."""
    from .network import combine

    b = _labels("b", nbatch)
    return combine([_f("inv", x, nbatch), dx], [b + ["j", "i"], b + ["i", "j"]], b)


SOFTMAX_FN = Function("softmax", _softmax_value, core_ndim=1, differential=_softmax_differential)
LOGSUMEXP_FN = Function(
    "logsumexp", _logsumexp_value, core_ndim=1, output_shape=lambda core: (), differential=_logsumexp_differential
)
INV_FN = Function("inv", np.linalg.inv, core_ndim=2, output_shape=_inv_shape, differential=_inv_differential)
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
        from .ops import apply

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


def softmax(a: Any, axis: int = -1) -> Expr:
    """softmax along `axis`, s(a) = e^a / (1^T e^a) (sec. 4.3.5), stable for large logits."""
    from .ops import along_axis

    return along_axis("softmax", a, axis)


def logsumexp(a: Any, axis: int = -1) -> Expr:
    """log(sum(exp(a))) along `axis` (which disappears), stable for large logits."""
    from .ops import along_axis

    return along_axis("logsumexp", a, axis)


def inv(a: Any) -> Expr:
    """The matrix inverse (of the last two axes); d(X^-1) = -X^-1 dX X^-1 (sec. 4.4)."""
    from .ops import apply

    return apply("inv", a)


def det(a: Any) -> Expr:
    """The determinant (of the last two axes); d|X| = |X| X^-T · dX (sec. 4.4)."""
    from .ops import apply

    return apply("det", a)


def logdet(a: Any) -> Expr:
    """log|det X| (of the last two axes); d log|X| = X^-T · dX."""
    from .ops import apply

    return apply("logdet", a)
