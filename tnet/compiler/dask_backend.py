"""The Dask backend: dask arrays, each contraction step one `dask.array.einsum` (blockwise, so
chunked axes stay chunked), functions as dask.array ufuncs. Nothing runs until the caller
computes the results, on whatever scheduler or cluster is active."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import Backend
from .numpy_backend import ADJUGATE

_HELPERS = {
    "_adj": ADJUGATE,
    "_softmax": """def _softmax(x):
    z = da.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)""",
    "_logsumexp": """def _logsumexp(x):
    m = x.max(axis=-1, keepdims=True)
    m = da.where(da.isfinite(m), m, 0.0)
    return da.log(da.exp(x - m).sum(axis=-1)) + m[..., 0]""",
    "_matrices": """def _matrices(f, x, drop=False):
    x = x.rechunk({x.ndim - 2: -1, x.ndim - 1: -1})
    if drop:
        return da.map_blocks(f, x, drop_axis=[x.ndim - 2, x.ndim - 1], dtype=x.dtype)
    return da.map_blocks(f, x, dtype=x.dtype)""",
}


class DaskBackend(Backend):
    name = "dask"
    imports = ("import dask.array as da", "import numpy as np")
    module = "da"
    lowering = "einsum"
    array_kind = "dask arrays"
    functions = {
        "exp": ("da.exp({x})", ()),
        "log": ("da.log({x})", ()),
        "tanh": ("da.tanh({x})", ()),
        "sigmoid": ("da.exp(-da.logaddexp(0.0, -{x}))", ()),
        "relu": ("da.maximum({x}, 0)", ()),
        "step": ("({x} > 0).astype({x}.dtype)", ()),
        "sign": ("da.sign({x})", ()),
        "sqrt": ("da.sqrt({x})", ()),
        "abs": ("da.absolute({x})", ()),
        "sin": ("da.sin({x})", ()),
        "cos": ("da.cos({x})", ()),
        "softmax": ("_softmax({x})", ("_softmax",)),
        "logsumexp": ("_logsumexp({x})", ("_logsumexp",)),
        # matrix functions act on whole blocks: the two matrix axes in one chunk each
        "inv": ("_matrices(np.linalg.inv, {x})", ("_matrices",)),
        "det": ("_matrices(np.linalg.det, {x}, drop=True)", ("_matrices",)),
        "adj": ("_matrices(_adj, {x})", ("_matrices", "_adj")),
        "logdet": ("_matrices(lambda m: np.linalg.slogdet(m)[1], {x}, drop=True)", ("_matrices",)),
    }
    helpers = _HELPERS

    def accepts(self, value: Any, namespace: dict[str, Any]) -> bool:
        return isinstance(value, namespace["da"].Array)

    def einsum(self, spec: str, args: Sequence[str]) -> str:
        """da.einsum; an operand with a repeated index (a diagonal) first gets those axes whole,
        since dask's blocks of one axis pair must match for the diagonal."""
        operands = spec.split("->")[0].split(",")
        written = []
        for letters, arg in zip(operands, args):
            repeated = {a: -1 for a, ch in enumerate(letters) if letters.count(ch) > 1}
            written.append(f"{arg}.rechunk({repeated!r})" if repeated else arg)
        return super().einsum(spec, written)

    def literal(self, array: np.ndarray) -> str:
        return f"da.from_array(np.array({array.tolist()!r}, dtype=np.{array.dtype.name}))"
