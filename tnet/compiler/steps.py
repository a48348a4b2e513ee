"""What a program is: straight-line steps on arrays (`Op`), and the list of them that computes
some results (`Program`). `program.py` lowers expressions to steps, `rewrites.py` rewrites and
orders them, `source.py` and the backends write them out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..contract import Plan

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Op:
    """One operation: `out = kind(args..., **params)`.

    Kinds and their params (all args are value names):
      input (name), literal (array), delta (n, order), ones (shape), zeros (shape),
      apply (fn), combine (coefs: one per arg; a linear combination), scale (c),
      transpose (perm), reshape (shape), sum (axes), diagonal (einsum sub-lists in, out),
      matmul (), mul (), rowdot (), einsum (spec: the whole step, for einsum backends),
      broadcast (shape), full (value, shape: an array of one value, e.g. an empty product),
      scalar (value: a number, where an element-wise step broadcasts it:
        `rewrites.implicit_broadcasts`),
      matmuladd (beta, alpha: beta * C + alpha * A @ B of args C, A, B; `rewrites.matmul_add`),
      copy () (a result made the caller's own: `rewrites.owned_outputs`).

    With the evaluation's dtype given (`build_program(..., dtype=)`, what `tnet.evaluate` runs),
    the program follows the interpreter's dtype policy: delta, ones, zeros and scalar take a
    dtype param, a combine has promote=True (numpy.sum's dtype: a sum of bools counts), and a
    contraction that sums casts its operands and result to `sum_dtype` (the array made by
    sum_dtype (), an arg of astype ()), and an apply has checked=True (the function's argument
    checked as its own value checks it: real_only functions refuse complex arrays, the inverse
    of a singular matrix is NaN).
    """

    out: str
    kind: str
    args: tuple[str, ...]
    params: tuple[tuple[str, Any], ...] = ()
    shape: Shape = ()

    def param(self, name: str) -> Any:
        return dict(self.params)[name]


@dataclass
class Program:
    """Straight-line steps computing `outputs` from `inputs`; `free[k]` lists the values whose
    last use is step k."""

    inputs: dict[str, Shape]  # variable name -> concrete shape
    steps: list[Op]
    outputs: list[str]
    free: list[list[str]] = field(default_factory=list)
    plans: list[tuple[str, Plan]] = field(default_factory=list)  # (network, plan) per network
