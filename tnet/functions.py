"""The function library: each function's numpy value next to its derivative rule.

A function f acts on sub-tensors with `core_ndim` axes (0 for a scalar function) and is applied
as f^P(X) (eq. 27) by `tnet.apply`. Its derivative is given in one of three forms:

- `derivative(x)`: for scalar functions, f'(x) as an expression; d f(X) = f'(X) ⊙ dX (eq. 17).
- `grad(x, k)`: the generalized gradient ∇f (eq. 28) applied to the sub-tensors, an expression
  with the k batch axes first, then f's input axes, then its output axes; the differential is
  then built by eq. 32: d f^P(X) = ∇f^P(X) ^{1..k, bar(k+1..n)} ⊙ ^{1..n} dX.
- `differential(x, dx, fx, k)`: the differential directly, linear in dx. `x` is the argument with
  the k batch axes first, `dx` its differential, `fx` the application f^P(X) itself.

A function of several tensors (`arity=k`) has one rule per argument: `derivative=(d_1, ..., d_k)`
for scalar functions, d_i(a_1, ..., a_k) = ∂f/∂a_i, so that d f = Σ_i ∂f/∂a_i ⊙ da_i; or
`differential=(r_1, ..., r_k)`, r_i(args, da_i, fx, k) linear in da_i, where `args` are the
arguments (batch axes first) and `fx` the call itself. A rule given as None means f has no
derivative with respect to that argument. `call(f, *args)` builds f(A_1, ..., A_k).

This module holds the `Function` class, its registry, element-wise powers (`PowerFunction`) and
`apply` (which builds f^P(X)). The library's own functions are registered in library.py with this
same `Function` class, which is how a user adds a new one.

The registry maps names to functions so that `tnet.apply("name", A)` and the notation readers
find them. Registering a name twice raises unless `replace=True` is given, so no import can
silently change what `tnet.exp` means."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .errors import DifferentiationError, ShapeError
from .expr import Apply, Call, Expr, Zero, as_expr, normalize_axes
from .network import combine

#: name -> Function, filled by `Function(..., register=True)` (library.py registers the built-ins)
_REGISTRY: dict[str, Function] = {}


class Function:
    """A function that tnet can apply to tensors and differentiate.

    Parameters:
        name: the registry name (`tnet.apply("name", A)` finds it).
        value: numpy implementation; it receives an array whose leading axes are batch axes and
            whose last `core_ndim` axes are the sub-tensor, and returns batch axes + output axes.
        core_ndim: how many axes f acts on (0: scalar function applied element-wise); for a
            function of several arguments, one int for all or a tuple with one per argument.
        output_shape: maps the core shape to the output shape (default: the same shape); for
            several arguments it receives the tuple of their core shapes (default: the first).
        derivative / grad / differential: the derivative rule, in one of the forms above; for
            several arguments, a sequence with one rule per argument (derivative= or
            differential=).
        arity: the number of tensor arguments (1 by default).
        zero_preserving: f(0) = 0 element-wise, so f of a Zero tensor is Zero.
        register: put the function in the registry under `name`.
        replace: allow `register` to replace a function already registered under that name.
    """

    def __init__(
        self,
        name: str,
        value: Callable[..., np.ndarray],
        *,
        core_ndim: int | Sequence[int] = 0,
        output_shape: Callable[[tuple], tuple] | None = None,
        derivative: Any = None,
        grad: Callable[[Expr, int], Expr] | None = None,
        differential: Any = None,
        zero_preserving: bool = False,
        register: bool = True,
        replace: bool = False,
        arity: int = 1,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError("a Function needs a non-empty name")
        if sum(r is not None for r in (derivative, grad, differential)) > 1:
            raise TypeError(f"Function {name!r}: give only one of derivative=, grad=, differential=")
        if not isinstance(arity, int) or arity < 1:
            raise TypeError(f"Function {name!r}: arity must be an int >= 1, got {arity!r}")
        cores: tuple[int, ...] = (core_ndim,) * arity if isinstance(core_ndim, int) else tuple(core_ndim)
        if len(cores) != arity:
            raise TypeError(f"Function {name!r}: {len(cores)} core_ndim entries for {arity} arguments")
        if (derivative is not None) and any(c != 0 for c in cores):
            raise TypeError(f"Function {name!r}: derivative= is for scalar functions (core_ndim=0); use grad=")
        self.arity = arity
        self.core_ndims = cores
        self.rules: tuple[Any, ...] = ()
        self._multi_kind = "differential"
        if arity > 1:
            if grad is not None:
                raise TypeError(
                    f"Function {name!r}: a function of several arguments takes derivative= or differential="
                )
            given = derivative if derivative is not None else differential
            if given is not None:
                if not isinstance(given, (tuple, list)) or len(given) != arity:
                    raise TypeError(f"Function {name!r}: give one rule per argument ({arity}), or None for none")
                self.rules = tuple(given)
            self._multi_kind = "derivative" if derivative is not None else "differential"
            derivative = differential = None
        self.name = name
        self.value = value
        self.core_ndim = cores[0]
        self._output_shape = output_shape
        self.derivative = derivative
        self.grad = grad
        self._differential = differential
        self.zero_preserving = zero_preserving
        if register:
            if name in _REGISTRY and not replace:
                raise ValueError(
                    f"a function named {name!r} is already registered; pass replace=True to replace it, "
                    "or register=False to use it without a name"
                )
            _REGISTRY[name] = self

    def __repr__(self) -> str:
        return f"Function({self.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """A registered function pickles as its name (it is found again in the registry)."""
        if _REGISTRY.get(self.name) is not self:
            raise TypeError(f"the function {self.name!r} is not registered under its name and cannot be pickled")
        return (get_function, (self.name,))

    def output_shape(self, core_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        if self.arity > 1:  # the core shapes of the arguments
            return tuple(core_shape[0]) if self._output_shape is None else tuple(self._output_shape(core_shape))
        if self.core_ndim is not None and len(core_shape) != self.core_ndim:
            raise ShapeError(
                f"{self.name} acts on sub-tensors with {self.core_ndim} axes, got sub-tensor shape {core_shape}"
            )
        return tuple(core_shape) if self._output_shape is None else tuple(self._output_shape(tuple(core_shape)))

    @property
    def has_rule(self) -> bool:
        return any(r is not None for r in (self.derivative, self.grad, self._differential, *self.rules))

    def partial_differential(self, i: int, args: Sequence[Expr], dx: Expr, fx: Expr, nbatch: int) -> Expr:
        """The part of d f(A_1, ..., A_k) that comes from argument i: linear in dx = dA_i."""
        rule = self.rules[i] if i < len(self.rules) else None
        if rule is None:
            raise DifferentiationError(f"the function {self.name!r} has no derivative rule for its argument {i}")
        if self._multi_kind == "derivative":
            return rule(*args) * dx
        return rule(tuple(args), dx, fx, nbatch)

    def differential(self, x: Expr, dx: Expr, fx: Expr, nbatch: int) -> Expr:
        """d f^P(X) as an expression linear in dx (x, dx with the batch axes first)."""
        if self._differential is not None:
            return self._differential(x, dx, fx, nbatch)
        if self.derivative is not None:
            return self.derivative(x) * dx
        if self.grad is not None:  # eq. 32
            g = self.grad(x, nbatch)
            batch = [("b", k) for k in range(nbatch)]
            core = [("c", k) for k in range(x.ndim - nbatch)]
            out = [("o", k) for k in range(g.ndim - x.ndim)]
            return combine([g, dx], [batch + core + out, batch + core], batch + out)
        raise DifferentiationError(f"the function {self.name!r} has no derivative rule")


#: name -> the member of a family of functions for a number of core axes (the reductions: max
#: over k axes is one Function per k), so that the readers find `max^1(A)`; filled by
#: `register_family` (library.py), explicit like the registry
_FAMILIES: dict[str, Callable[[int], Function]] = {}


def register_family(name: str, member: Callable[[int], Function]) -> None:
    """Register a family of functions under one name: `member(k)` is the function acting on
    sub-tensors of k axes. The readers choose the member from the argument: f^P(A) is the member
    for A.ndim - len(P) axes, f(A) the member for all of A's axes."""
    if name in _REGISTRY or name in _FAMILIES:
        raise ValueError(f"a function named {name!r} is already registered")
    _FAMILIES[name] = member


def family_member(name: str, core_ndim: int) -> Function | None:
    """The member of the family `name` for sub-tensors of `core_ndim` axes (None: no family)."""
    member = _FAMILIES.get(name)
    return None if member is None else member(core_ndim)


def is_family(name: str) -> bool:
    return name in _FAMILIES


def get_function(fn: Any) -> Function:
    """The Function itself, or the registered function of that name."""
    if isinstance(fn, Function):
        return fn
    if isinstance(fn, str):
        try:
            return _REGISTRY[fn]
        except KeyError:
            raise DifferentiationError(f"unknown function {fn!r}; registered: {', '.join(sorted(_REGISTRY))}") from None
    raise TypeError(f"expected a Function or a registered function name, got {fn!r}")


def registered() -> dict[str, Function]:
    """A copy of the registry: name -> Function."""
    return dict(_REGISTRY)


# ---------------------------------------------------------------------------------------------
# element-wise powers
# ---------------------------------------------------------------------------------------------
class PowerFunction(Function):
    """x ** p element-wise, one object per exponent (`power_function(p)`); not registered by name,
    it prints as x^p (or pow{p})."""

    def __init__(self, p: float) -> None:
        self.exponent = float(p)
        shown = int(p) if self.exponent.is_integer() else p
        super().__init__(
            f"pow{shown}",
            self._value,
            derivative=self._derivative,
            zero_preserving=p > 0,
            register=False,
        )

    def _value(self, x: np.ndarray) -> np.ndarray:
        p = self.exponent
        x = np.asarray(x, dtype=np.result_type(x, 0.0))
        if p.is_integer():
            return x ** int(p) if p >= 0 else 1.0 / x ** int(-p)
        return np.power(x, p)

    def _derivative(self, x: Expr) -> Expr:
        p = self.exponent
        return p * x ** (p - 1) if p != 2 else 2 * x

    def __reduce__(self) -> tuple[Any, ...]:
        return (power_function, (self.exponent,))


#: exponent -> its PowerFunction while some expression uses it (weak values), so that x ** 2
#: built twice is one expression
_POWERS: weakref.WeakValueDictionary[float, PowerFunction] = weakref.WeakValueDictionary()
_POWERS_LOCK = threading.Lock()  # threads asking for a new exponent at once get one function


def power_function(p: float) -> PowerFunction:
    """The element-wise power x ** p."""
    with _POWERS_LOCK:
        fn = _POWERS.get(float(p))
        if fn is None:
            fn = PowerFunction(p)
            _POWERS[float(p)] = fn
        return fn


# ---------------------------------------------------------------------------------------------
# f^P(A)
# ---------------------------------------------------------------------------------------------
def apply(fn: Any, a: Any, axes: Sequence[int] | None = None) -> Expr:
    """f^P(A) (eq. 27): the registered function `fn` (a Function or its name) applied to every
    sub-tensor of A indexed by `axes` (P). The result has A's axes P first, then f's output axes.
    `axes=None` applies f element-wise (P = all axes) for a scalar function, or to the last
    `fn.core_ndim` axes otherwise."""
    fn = get_function(fn)
    if fn.arity > 1:
        raise TypeError(f"{fn.name} is a function of {fn.arity} tensors: use tnet.call({fn.name!r}, ...)")
    a = as_expr(a)
    if axes is None:
        core = fn.core_ndim if fn.core_ndim is not None else 0
        if core > a.ndim:
            raise ShapeError(f"{fn.name} needs a tensor with at least {core} axes, got shape {a.shape}")
        axes = tuple(range(a.ndim - core))
    else:
        axes = normalize_axes(axes, a.ndim, fn.name)
        if fn.core_ndim is not None and a.ndim - len(axes) != fn.core_ndim:
            raise ShapeError(
                f"{fn.name} acts on sub-tensors with {fn.core_ndim} axes, but axes={list(axes)} of a "
                f"tensor with {a.ndim} axes leave {a.ndim - len(axes)}"
            )
    result = Apply(fn, a, axes)
    if isinstance(a, Zero) and fn.zero_preserving:
        return Zero(*result.shape)
    return result


def call(fn: Any, *args: Any, nbatch: int | None = None) -> Expr:
    """f(A_1, ..., A_k) for a function of several arguments (`Function(..., arity=k)`): the
    arguments share their first `nbatch` axes (by default all axes but the first argument's
    core), f acts on the rest. Element-wise functions need arguments of one shape (broadcast
    them first, as `tnet.maximum` does)."""
    fn = get_function(fn)
    exprs = [as_expr(a, f"{fn.name} argument {k}") for k, a in enumerate(args)]
    if len(exprs) != fn.arity:
        raise TypeError(f"{fn.name} takes {fn.arity} arguments, got {len(exprs)}")
    if fn.arity == 1:
        return apply(fn, exprs[0], None if nbatch is None else range(nbatch))
    if nbatch is None:
        nbatch = exprs[0].ndim - fn.core_ndims[0]
        if nbatch < 0:
            raise ShapeError(
                f"{fn.name} needs at least {fn.core_ndims[0]} axes in argument 0, got shape {exprs[0].shape}"
            )
    return Call(fn, exprs, nbatch)


def along_axis(fn: Any, a: Any, axis: int) -> Expr:
    """Apply a vector function along one axis, keeping the other axes where they were."""
    a = as_expr(a)
    name = fn.name if isinstance(fn, Function) else str(fn)
    (axis,) = normalize_axes([axis], a.ndim, name)
    batch = tuple(k for k in range(a.ndim) if k != axis)
    result = apply(fn, a, batch)
    if result.ndim == a.ndim:  # vector -> vector: put the axis back where it was
        labels = list(range(a.ndim))
        placed = labels[: a.ndim - 1]
        placed.insert(axis, a.ndim - 1)
        return combine([result], [labels], placed)
    return result
