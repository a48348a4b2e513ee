"""Expression node types: leaf tensors, Network (one product term), Sum and Apply.

Every expression is immutable and hash-consed: building a structurally equal expression
twice returns the same object, so `is` is structural equality and shared sub-expressions are
differentiated, simplified and evaluated once (DESIGN.md, "The model").

A shape entry is an int or a size name (a str such as "n"), bound when arrays are given.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from .errors import AxisError, ShapeError

if TYPE_CHECKING:  # pragma: no cover
    from .functions import Function

Size = Union[int, str]
Shape = tuple  # tuple[Size, ...]

_TABLE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _intern(cls: type, key: tuple, build: Callable[[Any], None]) -> Any:
    """Return the one object of class `cls` with structural key `key`, building it if new."""
    full = (cls, key)
    obj = _TABLE.get(full)
    if obj is None:
        obj = object.__new__(cls)
        obj._key = key
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
                first, here = owner[label], (op, axis)
                size_of[label] = unify_sizes(
                    size_of[label], size, lambda a=first, b=here: f"{_where(a)} and {_where(b)} share an edge"
                )
    return size_of, owner


def _where(owner: tuple[Expr, int]) -> str:
    node, axis = owner
    return f"{node.label} axis {axis}"


class Expr:
    """Base class of every tnet expression: a tensor with a shape."""

    __slots__ = ("_key", "shape", "__weakref__")
    _key: tuple
    shape: Shape

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

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __reduce__(self):  # pragma: no cover - pickling would break hash-consing
        raise TypeError("tnet expressions are hash-consed and cannot be pickled")

    def __bool__(self) -> bool:
        return True

    # -- construction sugar (implemented in ops.py) ------------------------------------------
    def __matmul__(self, other: Any) -> Expr:
        from . import ops

        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Expr:
        from . import ops

        return ops.matmul(other, self)

    def __add__(self, other: Any) -> Expr:
        from . import ops

        return ops.add(self, other)

    def __radd__(self, other: Any) -> Expr:
        from . import ops

        return ops.add(other, self)

    def __sub__(self, other: Any) -> Expr:
        from . import ops

        return ops.subtract(self, other)

    def __rsub__(self, other: Any) -> Expr:
        from . import ops

        return ops.subtract(other, self)

    def __mul__(self, other: Any) -> Expr:
        from . import ops

        return ops.multiply(self, other)

    def __rmul__(self, other: Any) -> Expr:
        from . import ops

        return ops.multiply(other, self)

    def __truediv__(self, other: Any) -> Expr:
        from . import ops

        return ops.divide(self, other)

    def __rtruediv__(self, other: Any) -> Expr:
        from . import ops

        return ops.divide(other, self)

    def __neg__(self) -> Expr:
        from . import ops

        return ops.scale(self, -1.0)

    def __pos__(self) -> Expr:
        return self

    def __pow__(self, power: Any) -> Expr:
        from . import ops

        return ops.power(self, power)

    @property
    def T(self) -> Expr:  # noqa: N802 - numpy's name
        """Reverse the axes, as numpy's `.T`."""
        from . import ops

        return ops.transpose(self)

    def transpose(self, *axes: int) -> Expr:
        """Permute the axes as numpy's transpose (no axes: reverse them)."""
        from . import ops

        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.transpose(self, axes or None)

    # -- the rest of the pipeline -----------------------------------------------------------
    @property
    def terms(self) -> tuple[tuple[float, Network], ...]:
        """((coefficient, network), ...): this expression as a sum of product terms.

        Each network has coefficient 1; the term's coefficient carries the scale."""
        from .network import as_terms

        return as_terms(self)

    def evaluate(self, bindings: Mapping[Any, Any] | None = None) -> np.ndarray:
        from .evaluate import evaluate

        return evaluate(self, bindings or {})

    def to_einsum(self) -> str:
        from .network import to_einsum

        return to_einsum(self)

    def to_bracket(self, names: Mapping[Expr, str] | None = None) -> str:
        from .notation import to_bracket

        return to_bracket(self, names=names)

    def to_latex(self, names: Mapping[Expr, str] | None = None) -> str:
        from .notation import to_latex

        return to_latex(self, names=names)

    def to_matrix(self, names: Mapping[Expr, str] | None = None) -> str:
        from .notation import to_matrix

        return to_matrix(self, names=names)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        """Jupyter shows an expression as its drawing (SVG), falling back to text."""
        text = {"text/plain": repr(self)}
        try:
            from render import to_dot

            return {"image/svg+xml": to_dot(self).pipe(format="svg").decode("utf-8"), **text}
        except Exception:  # no dot program: plain text
            return text

    def __repr__(self) -> str:
        from .notation import describe

        return describe(self)


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

    def __new__(cls, name: str, *shape: Size) -> Variable:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a Variable needs a non-empty str name, got {name!r}")
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = tuple(check_size(s, f"Variable {name!r}") for s in shape)

        def build(obj: Variable) -> None:
            obj.name = name
            obj.shape = shape

        return _intern(cls, (name, shape), build)

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

    def __new__(cls, *shape: Size) -> Ones:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = tuple(check_size(s, "Ones") for s in shape)

        def build(obj: Ones) -> None:
            obj.shape = shape

        return _intern(cls, shape, build)

    @property
    def label(self) -> str:
        return "1"


class Zero(Leaf):
    """The all-zeros tensor."""

    __slots__ = ()

    def __new__(cls, *shape: Size) -> Zero:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = tuple(check_size(s, "Zero") for s in shape)

        def build(obj: Zero) -> None:
            obj.shape = shape

        return _intern(cls, shape, build)

    @property
    def label(self) -> str:
        return "0"


def is_symmetric_leaf(e: Expr) -> bool:
    """Delta and Ones: tensors whose axes can be exchanged without changing the value."""
    return isinstance(e, (Delta, Ones, Zero))


# ---------------------------------------------------------------------------------------------
# Network: one product term
# ---------------------------------------------------------------------------------------------
class Network(Expr):
    """One product term: node occurrences joined by hyperedges, with an ordered output.

    - `nodes[i]` is an expression; `legs[i][a]` is the edge that axis `a` of node i lies on.
    - Edges are ints 0..len(sizes)-1; `sizes[e]` is edge e's size.
    - `output` lists the edges of the result in order (each at most once). An edge not in the
      output is summed; an output edge with several legs is fused; two legs of one node on one
      edge is a trace. This is exactly einsum with one letter per edge.
    - `coef` is a scalar factor.

    Edges are renumbered canonically (order of first appearance over legs, then output), so two
    networks that differ only in edge names are the same object."""

    __slots__ = ("nodes", "legs", "sizes", "output", "coef")
    nodes: tuple[Expr, ...]
    legs: tuple[tuple[int, ...], ...]
    sizes: tuple[Size, ...]
    output: tuple[int, ...]
    coef: complex | float

    def __new__(
        cls,
        nodes: Sequence[Expr],
        legs: Sequence[Sequence[Any]],
        output: Sequence[Any],
        sizes: Mapping[Any, Size] | None = None,
        coef: float | complex = 1.0,
    ) -> Network:
        nodes = tuple(nodes)
        legs = [tuple(leg) for leg in legs]
        known, owner = edge_sizes(nodes, legs, "node")
        output = tuple(output)
        if len(set(output)) != len(output):
            raise AxisError(f"an edge appears twice in the output {output!r}; use a Delta node for a diagonal")
        for edge in output:
            if edge not in known:
                if sizes is not None and edge in sizes:
                    raise ShapeError(f"output edge {edge!r} has no leg: add a Ones node to broadcast")
                raise ShapeError(f"output edge {edge!r} is on no node")
        if sizes:
            for edge, size in sizes.items():
                if edge in known:
                    known[edge] = unify_sizes(
                        known[edge], size, lambda e=edge: f"edge {e!r} ({_where(owner[e])})"
                    )
        # canonical renumbering
        rename: dict[Any, int] = {}
        for leg in legs:
            for edge in leg:
                if edge not in rename:
                    rename[edge] = len(rename)
        canon_legs = tuple(tuple(rename[e] for e in leg) for leg in legs)
        canon_out = tuple(rename[e] for e in output)
        canon_sizes = [None] * len(rename)
        for edge, new in rename.items():
            canon_sizes[new] = known[edge]
        canon_sizes = tuple(canon_sizes)
        coef = coef.item() if isinstance(coef, np.generic) else coef
        if isinstance(coef, complex) and coef.imag == 0:
            coef = coef.real
        coef = float(coef) if not isinstance(coef, complex) else coef

        def build(obj: Network) -> None:
            obj.nodes = nodes
            obj.legs = canon_legs
            obj.sizes = canon_sizes
            obj.output = canon_out
            obj.coef = coef
            obj.shape = tuple(canon_sizes[e] for e in canon_out)

        return _intern(cls, (nodes, canon_legs, canon_sizes, canon_out, coef), build)

    @property
    def children(self) -> tuple[Expr, ...]:
        return self.nodes

    @property
    def label(self) -> str:
        return "(" + " ".join(n.label for n in self.nodes) + ")" if self.nodes else "scalar"

    @property
    def num_edges(self) -> int:
        return len(self.sizes)

    def edge_legs(self) -> list[list[tuple[int, int]]]:
        """For each edge, the (node index, axis) pairs on it."""
        found: list[list[tuple[int, int]]] = [[] for _ in self.sizes]
        for i, leg in enumerate(self.legs):
            for axis, edge in enumerate(leg):
                found[edge].append((i, axis))
        return found


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


def walk(roots: Iterable[Expr]) -> list[Expr]:
    """Every distinct expression reachable from the roots, children before parents."""
    order: list[Expr] = []
    seen: set[int] = set()
    stack: list[tuple[Expr, bool]] = [(r, False) for r in reversed(list(roots))]
    while stack:
        e, done = stack.pop()
        if done:
            order.append(e)
            continue
        if id(e) in seen:
            continue
        seen.add(id(e))
        stack.append((e, True))
        for c in reversed(e.children):
            if id(c) not in seen:
                stack.append((c, False))
    return order
