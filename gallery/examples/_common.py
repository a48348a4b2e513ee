"""Small helpers shared by the examples: the paper's "·" and the numpy side of its formulas."""

from __future__ import annotations

import numpy as np

import tnet
from tnet.expr import Expr


def dot(a: Expr, b: Expr) -> Expr:
    """The paper's A · B: multiply element-wise and sum over every axis (A^{1..n} ·^{1..n} B)."""
    return tnet.cdot(a, b, range(a.ndim), range(b.ndim))


def softmax_rows(a: np.ndarray) -> np.ndarray:
    """numpy: the softmax of each row."""
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
