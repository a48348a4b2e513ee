"""The PyTorch backend: torch tensors on any device. New tensors (identities, ones, constants)
take the dtype and device of the first input, so the results live where the inputs do; the
code is plain torch calls, which `torch.compile` traces."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import Backend, number_source
from .steps import Op

_HELPERS = {
    "_common_dtype": """def _common_dtype(*tensors):
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype""",
    "_adj": """def _adj(x):
    n = x.shape[-1]
    u, s, vh = torch.linalg.svd(x)
    eye = torch.eye(n, dtype=torch.bool, device=x.device)
    cof = torch.where(eye, torch.ones_like(s[..., None, :]), s[..., None, :]).prod(dim=-1)
    sign = torch.linalg.det(u) * torch.linalg.det(vh)
    out = sign[..., None, None] * (vh.mH * cof[..., None, :].to(vh.dtype)) @ u.mH
    return out if x.is_complex() else out.real""",
}


class TorchBackend(Backend):
    name = "torch"
    imports = ("import torch",)
    module = "torch"
    array_kind = "torch tensors"
    helpers = _HELPERS
    functions = {
        "exp": ("torch.exp({x})", ()),
        "log": ("torch.log({x})", ()),
        "tanh": ("torch.tanh({x})", ()),
        "sigmoid": ("torch.sigmoid({x})", ()),
        "relu": ("torch.relu({x})", ()),
        "step": ("({x} > 0).to({x}.dtype)", ()),
        "sign": ("torch.sign({x})", ()),
        "sqrt": ("torch.sqrt({x})", ()),
        "abs": ("torch.abs({x})", ()),
        "sin": ("torch.sin({x})", ()),
        "cos": ("torch.cos({x})", ()),
        "softmax": ("torch.softmax({x}, dim=-1)", ()),
        "logsumexp": ("torch.logsumexp({x}, dim=-1)", ()),
        "inv": ("torch.linalg.inv({x})", ()),
        "det": ("torch.linalg.det({x})", ()),
        "adj": ("_adj({x})", ("_adj",)),
        "logdet": ("torch.linalg.slogdet({x})[1]", ()),
    }

    def accepts(self, value: Any, namespace: dict[str, Any]) -> bool:
        return isinstance(value, namespace["torch"].Tensor)

    def concrete(self, value: Any, namespace: dict[str, Any]) -> np.ndarray | None:
        return value.detach().cpu().numpy()  # a structured variable: a square matrix, small

    prologue_defines = "new"
    casts_mixed_dtypes = True  # torch.matmul and friends refuse a long and a double operand

    def cast_inputs(self, inputs: Sequence[str], needed: set[str]) -> list[str]:
        needed.add("_common_dtype")
        lines = [f"common = _common_dtype({', '.join(inputs)})  # the inputs' dtypes differ: cast to one"]
        return lines + [f"{x} = {x}.to(common)" for x in inputs]

    fused_matmul_add = True  # torch.addmm: beta * C + alpha * A @ B in one call
    integral_scalars = True  # as torch.ones(**new): an integer tensor stays integer

    def expression(self, op: Op, args: Sequence[str], needed: set[str]) -> str:
        if op.kind == "matmuladd":
            beta, alpha = op.param("beta"), op.param("alpha")
            scale = f", beta={number_source(beta)}" if beta != 1 else ""
            scale += f", alpha={number_source(alpha)}" if alpha != 1 else ""
            return f"torch.addmm({', '.join(args)}{scale})"
        return super().expression(op, args, needed)

    def copy(self, x: str) -> str:
        return f"{x}.clone()"

    def prologue(self, inputs: Sequence[str]) -> list[str]:
        if inputs:
            return [f"new = dict(dtype={inputs[0]}.dtype, device={inputs[0]}.device)  # for the tensors made here"]
        return ["new = dict(dtype=torch.get_default_dtype())  # for the tensors made here"]

    def literal(self, array: np.ndarray) -> str:
        return f"torch.tensor({array.tolist()!r}, **new)"

    def delta(self, n: int, order: int) -> str:
        return f"torch.eye({n}, **new)" if order == 2 else super().delta(n, order)

    # constant tensors are one element expanded (zero strides): no memory, no work, like numpy's
    # broadcast_to
    def ones(self, shape: tuple[int, ...]) -> str:
        return f"torch.ones((), **new).expand({shape!r})"

    def zeros(self, shape: tuple[int, ...]) -> str:
        return f"torch.zeros((), **new).expand({shape!r})"

    def full(self, value: Any, shape: tuple[int, ...]) -> str:
        return f"torch.full((), {value!r}, **new).expand({shape!r})"

    def transpose(self, x: str, perm: tuple[int, ...]) -> str:
        n = len(perm)
        if n >= 2 and perm == (*range(n - 2), n - 1, n - 2):  # the last two axes swapped: the cheapest call
            return f"{x}.mT"
        return f"{x}.permute({perm!r})"

    def sum(self, x: str, axes: tuple[int, ...]) -> str:
        return f"{x}.sum(dim={axes!r})"

    def broadcast(self, x: str, shape: tuple[int, ...]) -> str:
        return f"{x}.expand({shape!r})"
