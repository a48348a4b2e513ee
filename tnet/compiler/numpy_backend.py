"""The numpy backend: contraction steps as numpy.matmul on transposed, reshaped views (what
`tnet.evaluate` runs), functions as numpy ufuncs."""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import Backend

#: adj(X) from an SVD, singular X included (as library.adj computes it); numpy code, which the
#: Dask backend runs on whole matrix blocks too
ADJUGATE = """def _adj(x):
    n = x.shape[-1]
    u, s, vh = np.linalg.svd(x)
    cof = np.prod(np.where(np.eye(n, dtype=bool), 1.0, s[..., None, :]), axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vh)
    vh_h, u_h = np.conj(np.swapaxes(vh, -1, -2)), np.conj(np.swapaxes(u, -1, -2))
    out = sign[..., None, None] * (vh_h * cof[..., None, :]) @ u_h
    return out if np.iscomplexobj(x) else out.real"""

_HELPERS = {
    "_adj": ADJUGATE,
    "_softmax": """def _softmax(x):
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)""",
    "_logsumexp": """def _logsumexp(x):
    m = x.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.log(np.exp(x - m).sum(axis=-1)) + m[..., 0]""",
}


class NumpyBackend(Backend):
    name = "numpy"
    imports = ("import numpy as np",)
    module = "np"
    array_kind = "numpy arrays (or numbers, or nested lists)"
    functions = {
        "exp": ("np.exp({x})", ()),
        "log": ("np.log({x})", ()),
        "tanh": ("np.tanh({x})", ()),
        "sigmoid": ("np.exp(-np.logaddexp(0.0, -{x}))", ()),
        "relu": ("np.maximum({x}, 0)", ()),
        "step": ("({x} > 0).astype({x}.dtype)", ()),
        "sign": ("np.sign({x})", ()),
        "sqrt": ("np.sqrt({x})", ()),
        "abs": ("np.abs({x})", ()),
        "sin": ("np.sin({x})", ()),
        "cos": ("np.cos({x})", ()),
        "softmax": ("_softmax({x})", ("_softmax",)),
        "logsumexp": ("_logsumexp({x})", ("_logsumexp",)),
        "inv": ("np.linalg.inv({x})", ()),
        "det": ("np.linalg.det({x})", ()),
        "logdet": ("np.linalg.slogdet({x})[1]", ()),
        "adj": ("_adj({x})", ("_adj",)),
        "tan": ("np.tan({x})", ()),
        "arctan": ("np.arctan({x})", ()),
        "arcsin": ("np.arcsin({x})", ()),
        "arccos": ("np.arccos({x})", ()),
        "log1p": ("np.log1p({x})", ()),
        "expm1": ("np.expm1({x})", ()),
        "square": ("np.square({x})", ()),
        "softplus": ("np.logaddexp(0.0, {x})", ()),
        "nonzero": ("({x} != 0).astype(np.result_type({x}, 0.0))", ()),
    }
    helpers = _HELPERS

    def accepts(self, value: Any, namespace: dict[str, Any]) -> bool:
        return isinstance(value, (np.ndarray, np.generic, int, float, complex, list, tuple))

    def transpose(self, x: str, perm: tuple[int, ...]) -> str:  # the method and `.T`: the cheapest calls
        return f"{x}.T" if perm == tuple(range(len(perm)))[::-1] else f"{x}.transpose({perm!r})"

    def matmul(self, a: str, b: str) -> str:
        return f"{a} @ {b}"

    def literal(self, array: np.ndarray) -> str:
        return f"np.array({array.tolist()!r}, dtype=np.{array.dtype.name})"

    def ones(self, shape: tuple[int, ...]) -> str:  # a read-only view with zero strides: no memory
        return f"np.broadcast_to(1.0, {shape!r})"

    def zeros(self, shape: tuple[int, ...]) -> str:
        return f"np.broadcast_to(0.0, {shape!r})"

    def full(self, value: Any, shape: tuple[int, ...]) -> str:
        return f"np.broadcast_to({value!r}, {shape!r})"

    def custom_function(self, fn: Any, x: str, needed: set[str]) -> str:
        """A user's Function: its own numpy value, supplied to the namespace as `_fn_<name>`
        (the source is then not standalone, and says so)."""
        needed.add(custom_name(fn))
        return f"{custom_name(fn)}({x})"


def custom_name(fn: Any) -> str:
    """The name under which a user's Function's value is supplied to the generated code."""
    return "_fn_" + "".join(ch if ch.isalnum() else "_" for ch in fn.name)
