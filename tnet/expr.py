"""Expression node types: the leaf tensors, Sum, Apply and Call (the Network node lives in network.py).

Every expression is immutable and hash-consed: building a structurally equal expression twice
returns the same object, so `is` is structural equality and shared sub-expressions are
differentiated, simplified and evaluated once (docs/design.md, "The model"). Expressions hash
and compare by identity, which is Python's default for objects.

A shape entry is an int or a size name (a str such as "n"), bound when arrays are given.

The intern tables `_TABLES` hold weak references only: an expression lives as long as somebody
uses it, and the table never changes a result.
"""

from __future__ import annotations

import hashlib
import importlib
import numbers
import sys
import threading
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from .errors import AxisError, ShapeError

if TYPE_CHECKING:  # pragma: no cover
    from .functions import Function

Size = Union[int, str]
Shape = tuple[Size, ...]

#: class -> (structural key -> the one live expression of that class with that structure), weak
#: values; one table per class, so that a key needs no (class, key) pair beside it
_TABLES: dict[type, weakref.WeakValueDictionary[Hashable, Expr]] = {}
#: guards `_TABLES` and the `derived_from` records: threads that build the same new expression
#: at once get one object (docs/design.md, "Thread safety")
_LOCK = threading.Lock()
#: the derived-from record of an expression derived from nothing, shared: an empty frozenset
#: is a new 216-byte object each time it is made
_NOT_DERIVED: frozenset = frozenset()


def interned_count() -> int:
    """How many expressions the intern tables hold now (they are weak: only live ones)."""
    with _LOCK:
        return sum(len(table) for table in _TABLES.values())


def _intern(cls: type, key: Hashable, build: Callable[[Any], None]) -> Any:
    """Return the one object of class `cls` with structural key `key`, building it if new."""
    with _LOCK:
        table = _TABLES.get(cls)
        if table is None:
            table = _TABLES[cls] = weakref.WeakValueDictionary()
        found = table.get(key)
        if found is not None:
            return found
        obj: Any = object.__new__(cls)
        object.__setattr__(obj, "derived_from", _NOT_DERIVED)
        build(obj)
        object.__setattr__(obj, "_key", key)  # from here on the object is frozen (Expr.__setattr__)
        table[key] = obj
        return obj


def _rebuild(
    cls: type,
    args: tuple,
    derived: tuple[tuple[int, str, Shape, str | None], ...],
    kwargs: dict[str, Any] | None = None,
) -> Any:
    """The expression `cls(*args, **kwargs)`, with its derived-from record: how pickle rebuilds
    one, so that an unpickled expression is the very object of its structure in this process."""
    obj = cls(*args, **(kwargs or {}))
    if derived:
        mark_derived([obj], [_unflatten_variable(*v) for v in derived])
    return obj


def _flatten_variable(v: Variable) -> tuple[int, str, Shape, str | None]:
    """A variable as (how many times differentiated, name, shape, structure): plain data, so
    that pickling a derived-from record never recurses into the records of its variables."""
    depth = 0
    while isinstance(v, Differential):
        v, depth = v.of, depth + 1
    return (depth, v.name, v.shape, v.structure)


def _unflatten_variable(depth: int, name: str, shape: Shape, structure: str | None = None) -> Variable:
    v = Variable(name, shape, **({structure: True} if structure else {}))
    for _ in range(depth):
        v = Differential(v)
    return v


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


def edge_sizes(operands: Sequence[Any], labels: Sequence[Sequence[Any]], what: str = "operand") -> dict[Any, Size]:
    """The size of every edge (label) that the operands' axes lie on, checked: one label list
    per operand, one label per axis, and legs on one edge of one size (an int beats a size
    name). `first_leg` names, for an error message, the first (operand, axis) on an edge."""
    if len(operands) != len(labels):
        raise ShapeError(f"{len(operands)} {what}s but {len(labels)} label lists")
    for k, (op, lab) in enumerate(zip(operands, labels)):
        if not isinstance(op, Expr):
            raise TypeError(f"{what} {k} is not a tnet expression: {op!r}")
        if len(lab) != len(op.shape):
            raise AxisError(f"{what} {k} ({op.label}) has {op.ndim} axes but {len(lab)} indices were given")
    legs = [(label, size) for op, lab in zip(operands, labels) for label, size in zip(lab, op.shape)]
    size_of: dict[Any, Size] = dict(legs)  # keys in the order the legs first meet them
    if len(size_of) == len(set(legs)):
        return size_of  # every edge has legs of one size
    size_of.clear()
    for k, (label, size) in enumerate(legs):
        known = size_of.setdefault(label, size)
        if known != size:
            size_of[label] = unify_sizes(known, size, partial(_shared, operands, labels, label, k))
    return size_of


def first_leg(operands: Sequence[Any], labels: Sequence[Sequence[Any]], label: Any) -> tuple[Expr, int]:
    """The first (operand, axis) whose axis lies on edge `label`."""
    for op, lab in zip(operands, labels):
        if label in lab:
            return op, list(lab).index(label)
    raise AxisError(f"no operand has an axis on edge {label!r}")


def _where(owner: tuple[Expr, int]) -> str:
    node, axis = owner
    return f"{node.label} axis {axis}"


def _shared(operands: Sequence[Any], labels: Sequence[Sequence[Any]], label: Any, leg: int) -> str:
    """Where two legs of different sizes meet on edge `label`, `leg` counting the legs of all
    operands in order."""
    for op, lab in zip(operands, labels):
        if leg < len(lab):
            return f"{_where(first_leg(operands, labels, label))} and {_where((op, leg))} share an edge"
        leg -= len(lab)
    raise AxisError(f"no leg {leg} on edge {label!r}")


class Expr:
    """Base class of every tnet expression: a tensor with a shape."""

    __slots__ = ("_key", "shape", "derived_from", "__weakref__")
    _key: Hashable
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

    def __setattr__(self, name: str, value: Any) -> None:
        # _intern's build functions set the fields with object.__setattr__, before the object
        # is published; nothing may change them afterwards
        raise AttributeError(f"tnet expressions are immutable: cannot set {name!r} on {self.label}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"tnet expressions are immutable: cannot delete {name!r} from {self.label}")

    def _args(self) -> tuple[Any, ...]:
        """The constructor arguments that rebuild this expression (for pickle)."""
        raise TypeError(f"{type(self).__name__} cannot be pickled")  # pragma: no cover

    def _kwargs(self) -> dict[str, Any]:
        """The constructor's keyword arguments that rebuild this expression (for pickle)."""
        return {}

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle rebuilds through the constructor, so hash-consing holds after unpickling."""
        derived = tuple(sorted((_flatten_variable(v) for v in self.derived_from), key=repr))
        return (_rebuild, (type(self), self._args(), derived, self._kwargs()))

    def __copy__(self) -> Expr:  # immutable and hash-consed: a copy is the object itself
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Expr:
        return self

    def __bool__(self) -> bool:
        return True

    # -- shortcuts to the layers above ------------------------------------------------------
    # The one place where expr.py reaches up the layers: operators (`a @ b`, `a + b`, ...),
    # `.T`, `.terms`, `.evaluate()`, indexing, `.sum()` `.mean()` `.max()` `.min()` `.reshape()`
    # `.flatten()` and the printers are conveniences that call the modules
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

    def __rpow__(self, base: Any) -> Expr:
        return _layer("ops").power(base, self)

    def __getitem__(self, key: Any) -> Expr:
        """numpy-style indexing: ints, slices, one integer array (gather), None, Ellipsis."""
        return _layer("indexing").index(self, key)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Expr:
        """tnet.sum(self, axis, keepdims), as numpy's method."""
        return _layer("ops").sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Expr:
        return _layer("reductions").mean(self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Expr:
        return _layer("reductions").max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Expr:
        return _layer("reductions").min(self, axis, keepdims)

    def reshape(self, *shape: Any) -> Expr:
        return _layer("indexing").reshape(self, *shape)

    def flatten(self) -> Expr:
        return _layer("indexing").flatten(self)

    def __iter__(self) -> Any:
        raise TypeError("a tnet expression is not iterable; index it (e[k]) instead")

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
        return _layer("compiler").evaluate(self, bindings or {})

    def to_einsum(self) -> str:
        return _layer("network").to_einsum(self)

    def to_bracket(self, names: Mapping[Expr, str] | None = None) -> str:
        return _layer("notation").to_bracket(self, names=names)

    def to_latex(self, names: Mapping[Expr, str] | None = None) -> str:
        return _layer("notation").to_latex(self, names=names)

    def to_matrix(self, names: Mapping[Expr, str] | None = None) -> str:
        return _layer("notation").to_matrix(self, names=names)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter shows an expression as its typeset formula (MathML, in matrix notation) beside
        its drawing (SVG); LaTeX (bracket notation) and text for other front ends."""
        bundle = {"text/plain": repr(self), "text/latex": "$" + self.to_latex() + "$"}
        math = self.to_mathml()
        try:
            svg = _layer("render").to_dot(self).pipe(format="svg").decode("utf-8")
        except Exception:  # no dot program: the typeset formula alone
            return {"text/html": f"<div>{math}</div>", **bundle}
        inline = svg[svg.find("<svg") :]  # without the XML prolog, inside HTML
        html = f'<div style="display:flex;align-items:center;gap:2em"><div>{math}</div><div>{inline}</div></div>'
        return {"text/html": html, "image/svg+xml": svg, **bundle}

    def to_mathml(self, notation: str = "matrix") -> str:
        return _layer("notation").to_mathml(self, notation)

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

    `Variable("X", "n", 3)` is an n x 3 matrix; sizes given by name are bound by evaluate().
    `symmetric=True` (S = Sᵀ) or `diagonal=True` make a structured square matrix: its gradient
    is the projection of the unconstrained gradient G onto the structure, sym(G) = (G + Gᵀ)/2
    or diag(G) (docs/design.md, "Structured variables"), and its bindings are checked."""

    __slots__ = ("name", "structure")
    name: str
    #: None, "symmetric" or "diagonal"
    structure: str | None

    def __new__(
        cls, name: str, *shape: Size | Sequence[Size], symmetric: bool = False, diagonal: bool = False
    ) -> Variable:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a Variable needs a non-empty str name, got {name!r}")
        checked = _shape_arguments(shape, f"Variable {name!r}")
        structure = "symmetric" if symmetric else "diagonal" if diagonal else None
        if symmetric and diagonal:
            raise ShapeError(f"Variable {name!r}: give symmetric=True or diagonal=True, not both")
        if structure is not None and (len(checked) != 2 or checked[0] != checked[1]):
            raise ShapeError(f"a {structure} Variable must be a square matrix; {name!r} has shape {checked}")

        def build(obj: Variable) -> None:
            object.__setattr__(obj, "name", name)
            object.__setattr__(obj, "shape", checked)
            object.__setattr__(obj, "structure", structure)

        return _intern(cls, (name, checked) if structure is None else (name, checked, structure), build)

    def _args(self) -> tuple[Any, ...]:
        return (self.name, self.shape)

    def _kwargs(self) -> dict[str, Any]:
        return {self.structure: True} if self.structure else {}

    @property
    def label(self) -> str:
        return self.name


class Differential(Variable):
    """d(X): the differential of a Variable X, a new tensor of X's shape named "dX"."""

    __slots__ = ("of",)
    of: Variable

    def __new__(cls, of: Variable) -> Differential:
        def build(obj: Differential) -> None:
            object.__setattr__(obj, "of", of)
            object.__setattr__(obj, "name", "d" + of.name)
            object.__setattr__(obj, "shape", of.shape)
            object.__setattr__(obj, "structure", None)

        return _intern(cls, (of,), build)

    def _args(self) -> tuple[Any, ...]:
        return (self.of,)


class Constant(Leaf):
    """A named tensor with a fixed value."""

    __slots__ = ("name", "value")
    name: str
    value: np.ndarray

    def __new__(cls, name: str, array: Any) -> Constant:
        try:
            value = np.array(array)
        except (ValueError, TypeError) as err:  # ragged nested lists
            raise ShapeError(f"Constant {name!r} needs a rectangular array: {err}") from None
        if value.dtype.kind not in "biufc":
            raise TypeError(f"Constant {name!r} needs a bool, integer, float or complex array, got dtype {value.dtype}")
        value.setflags(write=False)
        digest = hashlib.sha1(value.tobytes()).hexdigest()

        def build(obj: Constant) -> None:
            object.__setattr__(obj, "name", name)
            object.__setattr__(obj, "value", value)
            object.__setattr__(obj, "shape", value.shape)

        return _intern(cls, (name, value.shape, value.dtype.str, digest), build)

    def _args(self) -> tuple[Any, ...]:
        return (self.name, self.value)

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
            object.__setattr__(obj, "size", size)
            object.__setattr__(obj, "order", order)
            object.__setattr__(obj, "shape", (size,) * order)

        return _intern(cls, (size, order), build)

    def _args(self) -> tuple[Any, ...]:
        return (self.size, self.order)

    @property
    def label(self) -> str:
        return "I" if self.order == 2 else "δ"


class Ones(Leaf):
    """The all-ones tensor (the paper's bold 1); its axes are interchangeable."""

    __slots__ = ()

    def __new__(cls, *shape: Size | Sequence[Size]) -> Ones:
        checked = _shape_arguments(shape, "Ones")

        def build(obj: Ones) -> None:
            object.__setattr__(obj, "shape", checked)

        return _intern(cls, checked, build)

    def _args(self) -> tuple[Any, ...]:
        return self.shape

    @property
    def label(self) -> str:
        return "1"


class Zero(Leaf):
    """The all-zeros tensor."""

    __slots__ = ()

    def __new__(cls, *shape: Size | Sequence[Size]) -> Zero:
        checked = _shape_arguments(shape, "Zero")

        def build(obj: Zero) -> None:
            object.__setattr__(obj, "shape", checked)

        return _intern(cls, checked, build)

    def _args(self) -> tuple[Any, ...]:
        return self.shape

    @property
    def label(self) -> str:
        return "0"


class Hole(Leaf):
    """A stand-in for the differential of a function's argument while the function's derivative
    rule is expanded (diff.py); it never appears in a finished result."""

    __slots__ = ()

    def __new__(cls, *shape: Size) -> Hole:
        def build(obj: Hole) -> None:
            object.__setattr__(obj, "shape", tuple(shape))

        return _intern(cls, tuple(shape), build)

    def _args(self) -> tuple[Any, ...]:
        return self.shape

    @property
    def label(self) -> str:
        return "d·"


def is_symmetric_leaf(e: Expr) -> bool:
    """Delta and Ones: tensors whose axes can be exchanged without changing the value."""
    return isinstance(e, (Delta, Ones, Zero))


# ---------------------------------------------------------------------------------------------
# Sum, Apply and Call
# ---------------------------------------------------------------------------------------------
_HASH_BASE, _HASH_MOD = 1_000_003, (1 << 61) - 1


class _TermsKey:
    """The intern key of a Sum: its terms with a position-weighted hash, sum of
    hash(term_i) * B^i (mod a prime), which `Sum.extended` updates in O(1) per appended term
    instead of rehashing all of them (building a sum term by term stays linear)."""

    __slots__ = ("terms", "hash", "power")

    def __init__(self, terms: tuple[tuple[Any, Expr], ...], h: int | None = None, power: int | None = None) -> None:
        self.terms = terms
        if h is None or power is None:
            h, power = 0, 1
            for pair in terms:
                h = (h + hash(pair) * power) % _HASH_MOD
                power = power * _HASH_BASE % _HASH_MOD
        self.hash, self.power = h, power  # power = B^len(terms)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _TermsKey) and self.hash == other.hash and self.terms == other.terms


class Sum(Expr):
    """coef_1 * term_1 + coef_2 * term_2 + ...: terms of one shape.

    `_index` maps each term to its position, for `position`; it is built on demand and shared
    with the sums `extended` from this one (an entry is trusted only if the term is at that
    position here), so that s = s + t in a loop costs O(1) per step, not O(len(s))."""

    __slots__ = ("terms_", "_index")
    terms_: tuple[tuple[float | complex, Expr], ...]
    _index: dict[Expr, int] | None

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
        return cls._make(_TermsKey(terms), shape, None)

    @classmethod
    def _make(cls, key: _TermsKey, shape: Shape, index: dict[Expr, int] | None) -> Sum:
        def build(obj: Sum) -> None:
            object.__setattr__(obj, "terms_", key.terms)
            object.__setattr__(obj, "shape", shape)
            object.__setattr__(obj, "_index", index)

        return _intern(cls, key, build)

    def extended(self, more: Sequence[tuple[float | complex, Expr]]) -> Sum:
        """This sum with the terms `more` appended (none of them a term of this sum): what
        `network.linear_combination` builds, in time proportional to len(more)."""
        shape = self.shape
        for _, t in more:
            what = f"cannot add tensors of shapes {shape} and {t.shape}"
            if len(t.shape) != len(shape):
                raise ShapeError(what)
            shape = tuple(unify_sizes(a, b, what) for a, b in zip(shape, t.shape))
        key: _TermsKey = self._key  # type: ignore[assignment]
        h, power = key.hash, key.power
        for pair in more:
            h = (h + hash(pair) * power) % _HASH_MOD
            power = power * _HASH_BASE % _HASH_MOD
        terms = self.terms_ + tuple(more)
        index = self._index
        if index is not None:
            for k, (_, t) in enumerate(more, start=len(self.terms_)):
                index[t] = k
        return Sum._make(_TermsKey(terms, h, power), shape, index)

    def position(self, t: Expr) -> int | None:
        """The position of the term t in this sum, or None."""
        index = self._index
        if index is None:
            index = {term: k for k, (_, term) in enumerate(self.terms_)}
            object.__setattr__(self, "_index", index)
        k = index.get(t)
        if k is None:
            return None  # entries are never removed: t was never a term of this sum
        if k < len(self.terms_) and self.terms_[k][1] is t:
            return k
        # the entry belongs to another sum extended from a common one: index this sum alone
        own = {term: j for j, (_, term) in enumerate(self.terms_)}
        object.__setattr__(self, "_index", own)
        return own.get(t)

    def _args(self) -> tuple[Any, ...]:
        return (self.terms_,)

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
            object.__setattr__(obj, "fn", fn)
            object.__setattr__(obj, "arg", arg)
            object.__setattr__(obj, "axes", axes)
            object.__setattr__(obj, "shape", shape)

        return _intern(cls, (fn, arg, axes), build)

    def _args(self) -> tuple[Any, ...]:
        return (self.fn, self.arg, self.axes)

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


class Call(Expr):
    """f(A_1, ..., A_k): a function of several tensors (eq. 27 with several arguments).

    Every argument has the same `nbatch` leading axes, the batch axes (of equal sizes); f acts
    on the remaining axes of each argument (its core, `fn.core_ndims[i]` axes) and the result
    is the batch axes followed by f's output axes. An element-wise f has cores of 0 axes."""

    __slots__ = ("fn", "args", "nbatch")
    fn: Function
    args: tuple[Expr, ...]
    nbatch: int

    def __new__(cls, fn: Function, args: Sequence[Expr], nbatch: int) -> Call:
        args = tuple(args)
        if len(args) != fn.arity:
            raise ShapeError(f"{fn.name} takes {fn.arity} arguments, got {len(args)}")
        batch: list[Size] = []
        cores = []
        for k, (a, core) in enumerate(zip(args, fn.core_ndims)):
            if a.ndim != nbatch + core:
                raise ShapeError(
                    f"{fn.name}: argument {k} ({a.label}) has {a.ndim} axes, expected {nbatch} batch axes "
                    f"and {core} for the function, shape {a.shape}"
                )
            own = a.shape[:nbatch]
            batch = (
                list(own)
                if k == 0
                else [
                    unify_sizes(x, y, f"{fn.name}: batch axis {j} of argument 0 and of argument {k}")
                    for j, (x, y) in enumerate(zip(batch, own))
                ]
            )
            cores.append(tuple(a.shape[nbatch:]))
        shape = tuple(batch) + tuple(fn.output_shape(tuple(cores)))

        def build(obj: Call) -> None:
            object.__setattr__(obj, "fn", fn)
            object.__setattr__(obj, "args", args)
            object.__setattr__(obj, "nbatch", nbatch)
            object.__setattr__(obj, "shape", shape)

        return _intern(cls, (fn, args, nbatch), build)

    def _args(self) -> tuple[Any, ...]:
        return (self.fn, self.args, self.nbatch)

    @property
    def children(self) -> tuple[Expr, ...]:
        return self.args

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
    with _LOCK:
        for r in results:
            _add_derived(r, frozen)


def mark_each_derived(pairs: Sequence[tuple[Expr, Expr]]) -> None:
    """mark_derived(result, [source]) for each (result, source) pair, with one walk over all
    the sources (a list of gradients shares most of its graph: a walk per source would be
    quadratic in its depth)."""
    sources = [s for _, s in pairs]
    contained: dict[Expr, frozenset[Variable]] = {}
    for e in walk(sources):
        if isinstance(e, Variable):
            contained[e] = frozenset((e,))
            continue
        acc: frozenset[Variable] = _NOT_DERIVED
        for c in e.children:
            held = contained[c]
            if not acc:
                acc = held  # shared, not copied: a chain of one-child nodes holds one set
            elif not held <= acc:
                acc = acc | held
        contained[e] = acc
    with _LOCK:
        for r, s in pairs:
            own = contained[s]
            _add_derived(r, own if s.derived_from <= own else own | s.derived_from)


def _add_derived(r: Expr, origin: frozenset[Variable]) -> None:
    """Add `origin` to r's record. A record that `origin` covers becomes `origin` itself, one
    object shared by every result of one derivation (the gradients of a loss of L layers each
    record all 2L parameters: copies would cost L² time and memory)."""
    have = r.derived_from
    if origin <= have:
        return
    object.__setattr__(r, "derived_from", origin if have <= origin else have | origin)


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
