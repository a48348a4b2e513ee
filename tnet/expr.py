"""Expression node types: the leaf tensors, Sum and Apply (the Network node lives in network.py).

Every expression is immutable and hash-consed: building a structurally equal expression twice
returns the same object, so `is` is structural equality and shared sub-expressions are
differentiated, simplified and evaluated once (docs/design.md, "The model"). Expressions hash
and compare by identity, which is Python's default for objects.

A shape entry is an int or a size name (a str such as "n"), bound when arrays are given.

The intern table `_TABLE` holds weak references only: an expression lives as long as somebody
uses it, and the table never changes a result.
"""

from __future__ import annotations

import hashlib
import importlib
import numbers
import sys
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from .errors import AxisError, ShapeError

if TYPE_CHECKING:  # pragma: no cover
    from .functions import Function

Size = Union[int, str]
Shape = tuple[Size, ...]

#: (class, structural key) -> the one live expression with that structure (weak values)
_TABLE: weakref.WeakValueDictionary[tuple[type, tuple[Any, ...]], Expr] = weakref.WeakValueDictionary()


def _intern(cls: type, key: tuple, build: Callable[[Any], None]) -> Any:
    """Return the one object of class `cls` with structural key `key`, building it if new."""
    full = (cls, key)
    found = _TABLE.get(full)
    if found is not None:
        return found
    obj: Any = object.__new__(cls)
    obj._key = key
    obj.derived_from = frozenset()
    build(obj)
    _TABLE[full] = obj
    return obj


def check_size(size: Any, what: str) -> Size:
    """Validate one shape entry: a non-negative int or a non-empty size name."""
    if isinstance(size, (bool, np.bool_)):
        raise ShapeError(f"{what}: a size must be an int or a size name, got {size!r}")
    if isinstance(size, (int, np.integer)):
        if size < 0:
            raise ShapeError(f"{what}: a size must be >= 0, got {size}")
        return int(size)
    if isinstance(size, str) and size:
        return size
    raise ShapeError(f"{what}: a size must be an int or a size name, got {size!r}")


def _shape_arguments(shape: tuple[Size | Sequence[Size], ...], what: str) -> Shape:
    """A shape given as sizes (`Ones(2, 3)`) or as one tuple or list (`Ones((2, 3))`), checked."""
    sizes = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return tuple(check_size(s, what) for s in sizes)


def unify_sizes(a: Size, b: Size, what: str | Callable[[], str]) -> Size:
    """The common size of two legs on one edge; an int beats a size name, a mismatch raises.
    `what` (or a function giving it, called only on error) says where the legs are."""
    if a == b:
        return a
    if isinstance(a, str) and isinstance(b, int):
        return b
    if isinstance(b, str) and isinstance(a, int):
        return a
    raise ShapeError(f"size mismatch: {what if isinstance(what, str) else what()} ({a} vs {b})")


def edge_sizes(
    operands: Sequence[Any], labels: Sequence[Sequence[Any]], what: str = "operand"
) -> tuple[dict[Any, Size], dict[Any, tuple[Any, int]]]:
    """The size of every edge (label) that the operands' axes lie on, checked: one label list
    per operand, one label per axis, and legs on one edge of one size (an int beats a size
    name). Also gives, for each edge, the first (operand, axis) on it."""
    if len(operands) != len(labels):
        raise ShapeError(f"{len(operands)} {what}s but {len(labels)} label lists")
    size_of: dict[Any, Size] = {}
    owner: dict[Any, tuple[Any, int]] = {}
    for k, (op, lab) in enumerate(zip(operands, labels)):
        if not isinstance(op, Expr):
            raise TypeError(f"{what} {k} is not a tnet expression: {op!r}")
        if len(lab) != op.ndim:
            raise AxisError(f"{what} {k} ({op.label}) has {op.ndim} axes but {len(lab)} indices were given")
        for axis, (label, size) in enumerate(zip(lab, op.shape)):
            if label not in size_of:
                size_of[label], owner[label] = size, (op, axis)
            elif size_of[label] != size:
                size_of[label] = unify_sizes(size_of[label], size, partial(_shared, owner[label], (op, axis)))
    return size_of, owner


def _where(owner: tuple[Expr, int]) -> str:
    node, axis = owner
    return f"{node.label} axis {axis}"


def _shared(first: tuple[Expr, int], here: tuple[Expr, int]) -> str:
    return f"{_where(first)} and {_where(here)} share an edge"


class Expr:
    """Base class of every tnet expression: a tensor with a shape."""

    __slots__ = ("_key", "shape", "derived_from", "__weakref__")
    _key: tuple[Any, ...]
    shape: Shape
    #: the variables of the expressions this one was derived from (set by grad, jacobian,
    #: hessian and differential): evaluate() accepts bindings for them too, so that a gradient
    #: from which X vanished is still evaluated with the bindings of its function
    derived_from: frozenset[Variable]

    # numpy must not treat expressions as arrays in mixed arithmetic.
    __array_ufunc__ = None

    # -- structure ---------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def children(self) -> tuple[Expr, ...]:
        return ()

    @property
    def label(self) -> str:
        """A short human name used in error messages and drawings."""
        return type(self).__name__

    def __reduce__(self):  # pragma: no cover - pickling would break hash-consing
        raise TypeError("tnet expressions are hash-consed and cannot be pickled")

    def __bool__(self) -> bool:
        return True

    # -- shortcuts to the layers above ------------------------------------------------------
    # The one place where expr.py reaches up the layers: operators (`a @ b`, `a + b`, ...),
    # `.T`, `.terms`, `.evaluate()` and the printers are conveniences that call the modules
    # which implement them (ops, network, evaluate, notation, render). They are looked up by
    # `_layer` when called, never imported here, so expr.py imports nothing above it.
    def __matmul__(self, other: Any) -> Expr:
        return _layer("ops").matmul(self, other)

    def __rmatmul__(self, other: Any) -> Expr:
        return _layer("ops").matmul(other, self)

    def __add__(self, other: Any) -> Expr:
        return _layer("ops").add(self, other)

    def __radd__(self, other: Any) -> Expr:
        return _layer("ops").add(other, self)

    def __sub__(self, other: Any) -> Expr:
        return _layer("ops").subtract(self, other)

    def __rsub__(self, other: Any) -> Expr:
        return _layer("ops").subtract(other, self)

    def __mul__(self, other: Any) -> Expr:
        return _layer("ops").multiply(self, other)

    def __rmul__(self, other: Any) -> Expr:
        return _layer("ops").multiply(other, self)

    def __truediv__(self, other: Any) -> Expr:
        return _layer("ops").divide(self, other)

    def __rtruediv__(self, other: Any) -> Expr:
        return _layer("ops").divide(other, self)

    def __neg__(self) -> Expr:
        return _layer("network").scale(self, -1.0)

    def __pos__(self) -> Expr:
        return self

    def __pow__(self, power: Any) -> Expr:
        return _layer("ops").power(self, power)

    @property
    def T(self) -> Expr:  # noqa: N802 - numpy's name
        """Reverse the axes, as numpy's `.T`."""
        return _layer("ops").transpose(self)

    def transpose(self, *axes: Any) -> Expr:
        """Permute the axes as numpy's transpose (no axes: reverse them)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _layer("ops").transpose(self, axes or None)

    @property
    def terms(self) -> tuple[tuple[Any, Any], ...]:
        """((coefficient, network), ...): this expression as a sum of product terms.

        Each network has coefficient 1; the term's coefficient carries the scale."""
        return _layer("network").as_terms(self)

    def evaluate(self, bindings: Mapping[Any, Any] | None = None) -> np.ndarray:
        return _layer("evaluate").evaluate(self, bindings or {})

    def to_einsum(self) -> str:
        return _layer("network").to_einsum(self)

    def to_bracket(self, names: Mapping[Expr, str] | None = None) -> str:
        return _layer("notation").to_bracket(self, names=names)

    def to_latex(self, names: Mapping[Expr, str] | None = None) -> str:
        return _layer("notation").to_latex(self, names=names)

    def to_matrix(self, names: Mapping[Expr, str] | None = None) -> str:
        return _layer("notation").to_matrix(self, names=names)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter shows an expression as its drawing (SVG), falling back to text."""
        text = {"text/plain": repr(self)}
        try:
            svg = _layer("render").to_dot(self).pipe(format="svg").decode("utf-8")
        except Exception:  # no dot program: plain text
            return text
        return {"image/svg+xml": svg, **text}

    def __repr__(self) -> str:
        return _layer("notation").describe(self)


def _layer(name: str) -> Any:
    """The module `tnet.<name>` of a layer above this one, for `Expr`'s shortcuts only."""
    module = sys.modules.get("tnet." + name)
    return module if module is not None else importlib.import_module("tnet." + name)


# ---------------------------------------------------------------------------------------------
# Leaves
# ---------------------------------------------------------------------------------------------
class Leaf(Expr):
    """A tensor with no children."""

    __slots__ = ()


class Variable(Leaf):
    """A named tensor that expressions are differentiated with respect to.

    `Variable("X", "n", 3)` is an n x 3 matrix; sizes given by name are bound by evaluate()."""

    __slots__ = ("name",)
    name: str

    def __new__(cls, name: str, *shape: Size | Sequence[Size]) -> Variable:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a Variable needs a non-empty str name, got {name!r}")
        checked = _shape_arguments(shape, f"Variable {name!r}")

        def build(obj: Variable) -> None:
            obj.name = name
            obj.shape = checked

        return _intern(cls, (name, checked), build)

    @property
    def label(self) -> str:
        return self.name


class Differential(Variable):
    """d(X): the differential of a Variable X, a new tensor of X's shape named "dX"."""

    __slots__ = ("of",)
    of: Variable

    def __new__(cls, of: Variable) -> Differential:
        def build(obj: Differential) -> None:
            obj.of = of
            obj.name = "d" + of.name
            obj.shape = of.shape

        return _intern(cls, (of,), build)


class Constant(Leaf):
    """A named tensor with a fixed value."""

    __slots__ = ("name", "value")
    name: str
    value: np.ndarray

    def __new__(cls, name: str, array: Any) -> Constant:
        value = np.array(array)
        if value.dtype == object:
            raise TypeError(f"Constant {name!r} needs a numeric array")
        value.setflags(write=False)
        digest = hashlib.sha1(value.tobytes()).hexdigest()

        def build(obj: Constant) -> None:
            obj.name = name
            obj.value = value
            obj.shape = value.shape

        return _intern(cls, (name, value.shape, value.dtype.str, digest), build)

    @property
    def label(self) -> str:
        return self.name


class Delta(Leaf):
    """The copy tensor of one size and order: 1 where all its indices are equal, else 0.

    Order 2 is the identity matrix; its axes are interchangeable."""

    __slots__ = ("size", "order")
    size: Size
    order: int

    def __new__(cls, size: Size, order: int = 2) -> Delta:
        size = check_size(size, "Delta")
        if not isinstance(order, (int, np.integer)) or order < 1:
            raise ShapeError(f"Delta order must be an int >= 1, got {order!r}")
        order = int(order)

        def build(obj: Delta) -> None:
            obj.size = size
            obj.order = order
            obj.shape = (size,) * order

        return _intern(cls, (size, order), build)

    @property
    def label(self) -> str:
        return "I" if self.order == 2 else "δ"


class Ones(Leaf):
    """The all-ones tensor (the paper's bold 1); its axes are interchangeable."""

    __slots__ = ()

    def __new__(cls, *shape: Size | Sequence[Size]) -> Ones:
        checked = _shape_arguments(shape, "Ones")

        def build(obj: Ones) -> None:
            obj.shape = checked

        return _intern(cls, checked, build)

    @property
    def label(self) -> str:
        return "1"


class Zero(Leaf):
    """The all-zeros tensor."""

    __slots__ = ()

    def __new__(cls, *shape: Size | Sequence[Size]) -> Zero:
        checked = _shape_arguments(shape, "Zero")

        def build(obj: Zero) -> None:
            obj.shape = checked

        return _intern(cls, checked, build)

    @property
    def label(self) -> str:
        return "0"


class Hole(Leaf):
    """A stand-in for the differential of a function's argument while the function's derivative
    rule is expanded (diff.py); it never appears in a finished result."""

    __slots__ = ()

    def __new__(cls, *shape: Size) -> Hole:
        def build(obj: Hole) -> None:
            obj.shape = tuple(shape)

        return _intern(cls, tuple(shape), build)

    @property
    def label(self) -> str:
        return "d·"


def is_symmetric_leaf(e: Expr) -> bool:
    """Delta and Ones: tensors whose axes can be exchanged without changing the value."""
    return isinstance(e, (Delta, Ones, Zero))


# ---------------------------------------------------------------------------------------------
# Sum and Apply
# ---------------------------------------------------------------------------------------------
class Sum(Expr):
    """coef_1 * term_1 + coef_2 * term_2 + ...: terms of one shape."""

    __slots__ = ("terms_",)
    terms_: tuple[tuple[float | complex, Expr], ...]

    def __new__(cls, terms: Iterable[tuple[float | complex, Expr]]) -> Sum:
        terms = tuple((c, t) for c, t in terms)
        if not terms:
            raise ShapeError("a Sum needs at least one term")
        shape = terms[0][1].shape
        for _, t in terms[1:]:
            what = f"cannot add tensors of shapes {shape} and {t.shape}"
            if len(t.shape) != len(shape):
                raise ShapeError(what)
            shape = tuple(unify_sizes(a, b, what) for a, b in zip(shape, t.shape))

        def build(obj: Sum) -> None:
            obj.terms_ = terms
            obj.shape = shape

        return _intern(cls, terms, build)

    @property
    def children(self) -> tuple[Expr, ...]:
        return tuple(t for _, t in self.terms_)

    @property
    def label(self) -> str:
        return "sum"


class Apply(Expr):
    """f^P(A), the paper's eq. 27: f applied to every sub-tensor of A indexed by the axes P.

    The result's axes are A's axes P first (in the order given), then f's output axes.
    An element-wise f has P = all axes of A."""

    __slots__ = ("fn", "arg", "axes")
    fn: Function
    arg: Expr
    axes: tuple[int, ...]

    def __new__(cls, fn: Function, arg: Expr, axes: Sequence[int]) -> Apply:
        axes = normalize_axes(axes, arg.ndim, f"{fn.name}")
        core = tuple(s for a, s in enumerate(arg.shape) if a not in axes)
        out = fn.output_shape(core)
        shape = tuple(arg.shape[a] for a in axes) + tuple(out)

        def build(obj: Apply) -> None:
            obj.fn = fn
            obj.arg = arg
            obj.axes = axes
            obj.shape = shape

        return _intern(cls, (fn, arg, axes), build)

    @property
    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    @property
    def core_axes(self) -> tuple[int, ...]:
        """The axes of the argument that f acts on (the paper's -P)."""
        return tuple(a for a in range(self.arg.ndim) if a not in self.axes)

    @property
    def label(self) -> str:
        return self.fn.name


def normalize_axes(axes: Iterable[int], ndim: int, what: str) -> tuple[int, ...]:
    """0-based axes (negative allowed) checked for range and repetition."""
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise AxisError(f"{what}: axes must be ints, got {a!r}")
        b = int(a) + ndim if a < 0 else int(a)
        if not 0 <= b < ndim:
            raise AxisError(f"{what}: axis {a} is out of range for a tensor with {ndim} axes")
        if b in out:
            raise AxisError(f"{what}: axis {a} is repeated in {tuple(axes)}")
        out.append(b)
    return tuple(out)


def variables(roots: Iterable[Expr]) -> list[Variable]:
    """The distinct Variables (differentials included) that the roots contain, in walk order."""
    return [e for e in walk(roots) if isinstance(e, Variable)]


def mark_derived(results: Iterable[Expr], sources: Iterable[Expr]) -> None:
    """Record on each result the variables of the sources it was derived from (and theirs)."""
    origin: set[Variable] = set()
    for s in sources:
        origin.update(variables([s]))
        origin.update(s.derived_from)
    frozen = frozenset(origin)
    for r in results:
        if not frozen <= r.derived_from:
            r.derived_from = r.derived_from | frozen


def walk(roots: Iterable[Expr], within: Callable[[Expr], bool] | None = None) -> list[Expr]:
    """Every distinct expression reachable from the roots, children before parents. With
    `within`, the walk does not go below an expression for which within(expression) is false
    (that expression itself is listed)."""
    order: list[Expr] = []
    seen: set[Expr] = set()
    stack: list[tuple[Expr, bool]] = [(r, False) for r in reversed(list(roots))]
    while stack:
        e, done = stack.pop()
        if done:
            order.append(e)
            continue
        if e in seen:
            continue
        seen.add(e)
        stack.append((e, True))
        if within is not None and not within(e):
            continue
        for c in reversed(e.children):
            if c not in seen:
                stack.append((c, False))
    return order


def as_expr(x: Any, what: str = "operand") -> Expr:
    """An expression, or a numpy array / number wrapped as a Constant."""
    if isinstance(x, Expr):
        return x
    if isinstance(x, (np.ndarray, list, tuple, numbers.Number, np.number)):
        arr = np.asarray(x)
        return Constant(np.array2string(arr, threshold=6, separator=",") if arr.ndim else repr(arr.item()), arr)
    raise TypeError(f"{what}: expected a tnet expression, an array or a number, got {type(x).__name__}")
