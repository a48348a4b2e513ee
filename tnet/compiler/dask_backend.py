"""The Dask backend: dask arrays, each contraction step one `dask.array.einsum` (blockwise, so
chunked axes stay chunked), functions as dask.array ufuncs. Nothing runs until the caller
computes the results, on whatever scheduler or cluster is active."""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import Backend

_HELPERS = {
    "_softmax": """def _softmax(x):
    z = da.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)""",
    "_logsumexp": """def _logsumexp(x):
    m = x.max(axis=-1, keepdims=True)
    m = da.where(da.isfinite(m), m, 0.0)
    return da.log(da.exp(x - m).sum(axis=-1)) + m[..., 0]""",
}


class DaskBackend(Backend):
    name = "dask"
    imports = ("import numpy as np", "import dask.array as da")
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
    }
    helpers = _HELPERS

    def accepts(self, value: Any, namespace: dict[str, Any]) -> bool:
        return isinstance(value, namespace["da"].Array)

    def literal(self, array: np.ndarray) -> str:
        return f"da.from_array(np.array({array.tolist()!r}, dtype=np.{array.dtype.name}))"
