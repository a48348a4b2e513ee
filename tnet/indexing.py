"""Indexing and rearranging: every operation here is a contraction with a constant 0/1 tensor.

- `A[i]`, `A[1:3]`, `A[idx]` (gather along an axis), `take`: axis a of A is contracted with a
  selection tensor S (S[..., j] = 1 where the index picks position j), so the result is a
  network and its derivative is the same contraction of dA.
- `one_hot(indices, n)`: the constant rows of the identity.
- `concatenate` and `stack`: a sum of terms, each operand embedded by a 0/1 matrix (or a unit
  vector for stack) into the larger axis.
- `reshape` and `flatten`: the shapes are matched in groups of axes with equal products; a group
  of one old axis and one new axis of the same size is a relabelled edge, any other group a 0/1
  tensor F[new axes..., old axes...] = 1 where the row-major flat positions agree.
- `kron_matrix(A, B)`: the matrix Kronecker product, the outer product A ⊗ B (sec. 2.2) with
  A's row axis fused with B's row axis and the columns likewise.

Sizes along the axes that are indexed or reshaped must be ints (a size name cannot give a 0/1
tensor its shape)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import IndexingError, ShapeError
from .expr import Constant, Expr, Size, as_expr, normalize_axes
from .network import combine, fresh, linear_combination
from .ops import expand_dims


def _int_size(size: Size, what: str) -> int:
    if not isinstance(size, int):
        raise ShapeError(f"{what}: the size of the axis must be known (an int), got the size name {size!r}")
    return size


def _selection(picked: np.ndarray, n: int, name: str) -> Constant:
    """The 0/1 tensor of shape picked.shape + (n,) with a 1 at [..., picked[...]]."""
    s = np.zeros(picked.shape + (n,))
    if picked.size:
        np.put_along_axis(s, picked[..., None], 1.0, axis=-1)
    return Constant(name, s)


def _checked_indices(idx: Any, n: int, axis: int) -> np.ndarray:
    arr = np.asarray(idx)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise IndexingError(f"a boolean index along axis {axis} needs shape ({n},), got {arr.shape}")
        arr = np.flatnonzero(arr)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise IndexingError(f"indices along axis {axis} must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = (arr < -n) | (arr >= n)
    if np.any(bad):
        first = int(arr[bad].flat[0])
        raise IndexingError(f"index {first} is out of range for axis {axis} with size {n}")
    return np.where(arr < 0, arr + n, arr)


def take(a: Any, indices: Any, axis: int = 0) -> Expr:
    """numpy.take: the entries of `a` at the integer `indices` along `axis` (a gather); the axis
    is replaced by the indices' axes. A contraction with a 0/1 selection tensor."""
    a = as_expr(a)
    (axis,) = normalize_axes([axis], a.ndim, "take")
    n = _int_size(a.shape[axis], "take")
    picked = _checked_indices(indices, n, axis)
    sel = _selection(picked, n, f"S{list(picked.flat) if picked.size <= 6 else picked.shape}")
    la = [fresh() for _ in range(a.ndim)]
    ls = [fresh() for _ in range(picked.ndim)] + [la[axis]]
    out = la[:axis] + ls[:-1] + la[axis + 1 :]
    return combine([a, sel], [la, ls], out)


def index(a: Any, key: Any) -> Expr:
    """numpy basic indexing and one integer (or boolean) array: `a[key]`. Ints drop an axis,
    slices keep a part of it, `None` adds an axis of size 1, `...` stands for the axes not
    named. Each axis is picked by a 0/1 constant, so the result differentiates like any
    network."""
    a = as_expr(a)
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexingError("an index can only have a single ellipsis ('...')")
    named = sum(k is not None and k is not Ellipsis for k in key)
    if named > a.ndim:
        raise IndexingError(f"too many indices: {named} for a tensor with {a.ndim} axes")
    if Ellipsis in [k for k in key if not isinstance(k, (np.ndarray, list))]:
        at = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:at] + (slice(None),) * (a.ndim - named) + key[at + 1 :]
    else:
        key = key + (slice(None),) * (a.ndim - named)
    arrays = [k for k in key if isinstance(k, (np.ndarray, list))]
    if len(arrays) > 1:
        raise IndexingError("only one integer-array index is supported; index one axis at a time")
    la = [fresh() for _ in range(a.ndim)]
    operands: list[Expr] = [a]
    labels: list[list] = [la]
    out: list = []
    new_axes: list[int] = []
    axis = 0
    for k in key:
        if k is None:
            new_axes.append(len(out))
            out.append(None)
            continue
        if isinstance(k, slice) and k == slice(None):
            out.append(la[axis])
        else:
            n = _int_size(a.shape[axis], "indexing")
            if isinstance(k, slice):
                picked = np.arange(n)[k]
            elif isinstance(k, (int, np.integer)) and not isinstance(k, bool):
                picked = _checked_indices(k, n, axis)
            elif isinstance(k, (np.ndarray, list)):
                picked = _checked_indices(k, n, axis)
            else:
                raise IndexingError(f"cannot index axis {axis} with {k!r}; use ints, slices, one integer array or None")
            picked = np.asarray(picked)
            new = [fresh() for _ in range(picked.ndim)]
            operands.append(_selection(picked, n, _selection_name(k, picked)))
            labels.append(new + [la[axis]])
            out.extend(new)
        axis += 1
    kept = [lab for lab in out if lab is not None]
    result = combine(operands, labels, kept)
    return expand_dims(result, new_axes) if new_axes else result


def _selection_name(k: Any, picked: np.ndarray) -> str:
    if isinstance(k, slice):
        parts = ["" if v is None else str(v) for v in (k.start, k.stop)]
        return f"S[{':'.join(parts)}{'' if k.step is None else ':' + str(k.step)}]"
    if picked.ndim == 0:
        return f"e{int(picked)}"
    return f"S{list(picked.flat) if picked.size <= 6 else picked.shape}"


def one_hot(indices: Any, n: int, name: str | None = None) -> Constant:
    """The constant array of shape indices.shape + (n,) with a 1 at each index (class-index
    targets as probabilities)."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ShapeError(f"one_hot: the number of classes must be an int >= 1, got {n!r}")
    picked = _checked_indices(indices, int(n), -1)
    return _selection(picked, int(n), name or f"onehot{list(picked.flat) if picked.size <= 6 else picked.shape}")


def _embedding(offset: int, n: int, total: int) -> Constant:
    e = np.zeros((total, n))
    e[offset + np.arange(n), np.arange(n)] = 1.0
    return Constant(f"E[{offset}:{offset + n}]", e)


def concatenate(operands: Sequence[Any], axis: int = 0) -> Expr:
    """numpy.concatenate: the operands joined along `axis`; the other axes must agree. The sum
    of each operand embedded into the joined axis by a 0/1 matrix."""
    ops = [as_expr(o) for o in operands]
    if not ops:
        raise ShapeError("concatenate needs at least one operand")
    first = ops[0]
    if first.ndim == 0:
        raise ShapeError("concatenate cannot join scalars (shape ()); use stack")
    (axis,) = normalize_axes([axis], first.ndim, "concatenate")
    for k, o in enumerate(ops[1:], 1):
        if o.ndim != first.ndim:
            raise ShapeError(f"concatenate: operand {k} has {o.ndim} axes but operand 0 has {first.ndim}")
        for ax, (x, y) in enumerate(zip(first.shape, o.shape)):
            if ax != axis and x != y:
                raise ShapeError(f"concatenate: operand {k} has size {y} on axis {ax} but operand 0 has {x}")
    sizes = [_int_size(o.shape[axis], "concatenate") for o in ops]
    total = sum(sizes)
    terms = []
    offset = 0
    for o, n in zip(ops, sizes):
        la = [fresh() for _ in range(o.ndim)]
        joined = fresh()
        out = la[:axis] + [joined] + la[axis + 1 :]
        terms.append((1.0, combine([o, _embedding(offset, n, total)], [la, [joined, la[axis]]], out)))
        offset += n
    return linear_combination(terms)


def stack(operands: Sequence[Any], axis: int = 0) -> Expr:
    """numpy.stack: operands of one shape joined along a new axis at `axis`."""
    ops = [as_expr(o) for o in operands]
    if not ops:
        raise ShapeError("stack needs at least one operand")
    for k, o in enumerate(ops[1:], 1):
        if o.shape != ops[0].shape:
            raise ShapeError(f"stack: operand {k} has shape {o.shape} but operand 0 has {ops[0].shape}")
    (axis,) = normalize_axes([axis], ops[0].ndim + 1, "stack")
    count = len(ops)
    terms = []
    for k, o in enumerate(ops):
        unit = np.zeros(count)
        unit[k] = 1.0
        la = [fresh() for _ in range(o.ndim)]
        new = fresh()
        terms.append((1.0, combine([o, Constant(f"e{k}", unit)], [la, [new]], la[:axis] + [new] + la[axis:])))
    return linear_combination(terms)


def _new_shape(old: tuple[int, ...], shape: Sequence[int]) -> tuple[int, ...]:
    total = math.prod(old)
    shape = tuple(int(s) for s in shape)
    if sum(s == -1 for s in shape) > 1:
        raise ShapeError(f"reshape: only one size can be -1, got {shape}")
    if any(s < -1 for s in shape):
        raise ShapeError(f"reshape: negative size in {shape}")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or total % known:
            raise ShapeError(f"reshape: cannot reshape shape {old} (size {total}) to {shape}")
        shape = tuple(total // known if s == -1 else s for s in shape)
    if math.prod(shape) != total:
        raise ShapeError(f"reshape: cannot reshape shape {old} (size {total}) to {shape} (size {math.prod(shape)})")
    return shape


def _groups(old: tuple[int, ...], new: tuple[int, ...]) -> list[tuple[list[int], list[int]]]:
    """Split both shapes into consecutive groups of axes with equal products (row-major order
    makes each group independent)."""
    groups: list[tuple[list[int], list[int]]] = []
    i = j = 0
    while i < len(old) or j < len(new):
        go, gn = [], []
        po = pn = 1
        if i < len(old):
            go.append(i)
            po *= old[i]
            i += 1
        if j < len(new):
            gn.append(j)
            pn *= new[j]
            j += 1
        while po != pn or (i < len(old) and old[i] == 1 and not gn) or (j < len(new) and new[j] == 1 and not go):
            if po < pn or j >= len(new):
                if i >= len(old):
                    break
                go.append(i)
                po *= old[i]
                i += 1
            else:
                gn.append(j)
                pn *= new[j]
                j += 1
        groups.append((go, gn))
    return groups


def reshape(a: Any, *shape: int | Sequence[int]) -> Expr:
    """numpy.reshape in row-major order (one size may be -1). Axes kept as they are stay edges;
    each group of axes that is fused or split is a contraction with a 0/1 tensor."""
    a = as_expr(a)
    sizes = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    old = tuple(_int_size(s, "reshape") for s in a.shape)
    new = _new_shape(old, sizes)  # type: ignore[arg-type]
    la = [fresh() for _ in old]
    out = [fresh() for _ in new]
    operands: list[Expr] = [a]
    labels: list[list] = [la]
    for go, gn in _groups(old, new):
        if len(go) == 1 and len(gn) == 1:
            out[gn[0]] = la[go[0]]
            continue
        gshape_old = tuple(old[k] for k in go)
        gshape_new = tuple(new[k] for k in gn)
        count = math.prod(gshape_old)
        f = np.eye(count).reshape(gshape_new + gshape_old) if count else np.zeros(gshape_new + gshape_old)
        operands.append(Constant(f"R{gshape_old}->{gshape_new}", f))
        labels.append([out[k] for k in gn] + [la[k] for k in go])
    return combine(operands, labels, out)


def flatten(a: Any) -> Expr:
    """All axes fused into one, row-major (numpy's ravel)."""
    return reshape(a, (-1,))


def kron_matrix(a: Any, b: Any) -> Expr:
    """The matrix Kronecker product (numpy.kron of two matrices): (A ⊗ B)[i p + k, j q + l] =
    A[i, j] B[k, l]; the outer product with A's and B's row axes fused, and the columns."""
    a, b = as_expr(a), as_expr(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"kron_matrix needs two matrices, got shapes {a.shape} and {b.shape}")
    m, n = (_int_size(s, "kron_matrix") for s in a.shape)
    p, q = (_int_size(s, "kron_matrix") for s in b.shape)
    rows = Constant(f"R{(m, p)}->{(m * p,)}", np.eye(m * p).reshape(m * p, m, p))
    cols = Constant(f"R{(n, q)}->{(n * q,)}", np.eye(n * q).reshape(n * q, n, q))
    return combine([a, b, rows, cols], [["i", "j"], ["k", "l"], ["r", "i", "k"], ["c", "j", "l"]], ["r", "c"])
