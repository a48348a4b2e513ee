"""The JAX backend: a pure function of jax arrays (numpy arrays are accepted too, as jax
accepts them), written in jax.numpy, so it works under `jax.jit`, `jax.vmap` and on whatever
devices and sharding jax runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import Backend

_HELPERS = {
    "_adj": """def _adj(x):
    n = x.shape[-1]
    u, s, vh = jnp.linalg.svd(x)
    cof = jnp.prod(jnp.where(jnp.eye(n, dtype=bool), 1.0, s[..., None, :]), axis=-1)
    sign = jnp.linalg.det(u) * jnp.linalg.det(vh)
    vh_h, u_h = jnp.conj(jnp.swapaxes(vh, -1, -2)), jnp.conj(jnp.swapaxes(u, -1, -2))
    out = sign[..., None, None] * (vh_h * cof[..., None, :]) @ u_h
    return out if jnp.iscomplexobj(x) else out.real""",
}


class JaxBackend(Backend):
    name = "jax"
    imports = ("import jax", "import jax.numpy as jnp")
    module = "jnp"
    array_kind = "jax arrays (or numpy arrays)"
    helpers = _HELPERS
    functions = {
        "exp": ("jnp.exp({x})", ()),
        "log": ("jnp.log({x})", ()),
        "tanh": ("jnp.tanh({x})", ()),
        "sigmoid": ("jax.nn.sigmoid({x})", ()),
        "relu": ("jax.nn.relu({x})", ()),
        "step": ("({x} > 0).astype({x}.dtype)", ()),
        "sign": ("jnp.sign({x})", ()),
        "sqrt": ("jnp.sqrt({x})", ()),
        "abs": ("jnp.abs({x})", ()),
        "sin": ("jnp.sin({x})", ()),
        "cos": ("jnp.cos({x})", ()),
        "softmax": ("jax.nn.softmax({x}, axis=-1)", ()),
        "logsumexp": ("jax.nn.logsumexp({x}, axis=-1)", ()),
        "inv": ("jnp.linalg.inv({x})", ()),
        "det": ("jnp.linalg.det({x})", ()),
        "adj": ("_adj({x})", ("_adj",)),
        "logdet": ("jnp.linalg.slogdet({x})[1]", ()),
    }

    def accepts(self, value: Any, namespace: dict[str, Any]) -> bool:
        return isinstance(value, (namespace["jax"].Array, np.ndarray, np.generic, int, float))

    def concrete(self, value: Any, namespace: dict[str, Any]) -> np.ndarray | None:
        if isinstance(value, namespace["jax"].core.Tracer):
            return None  # under jax.jit or jax.vmap: no values to check
        return np.asarray(value)

    mutable = False  # jax arrays are immutable: a result may be an input itself
    prologue_defines = "dtype"
    integral_scalars = True  # as jnp.ones(..., dtype=dtype): an integer array stays integer

    def prologue(self, inputs: Sequence[str]) -> list[str]:
        if inputs:
            return [f"dtype = jnp.result_type({inputs[0]})  # for the arrays made here"]
        return ["dtype = jnp.result_type(float)  # for the arrays made here"]

    def literal(self, array: np.ndarray) -> str:
        return f"jnp.asarray({array.tolist()!r}, dtype=dtype)"

    def delta(self, n: int, order: int) -> str:
        return f"jnp.eye({n}, dtype=dtype)" if order == 2 else super().delta(n, order)

    def ones(self, shape: tuple[int, ...]) -> str:
        return f"jnp.ones({shape!r}, dtype=dtype)"

    def zeros(self, shape: tuple[int, ...]) -> str:
        return f"jnp.zeros({shape!r}, dtype=dtype)"

    def full(self, value: Any, shape: tuple[int, ...]) -> str:
        return f"jnp.full({shape!r}, {value!r}, dtype=dtype)"
