"""Losses and layers of machine learning, written with the library's words.

- cross_entropy(logits, targets, axis): -Σ targets ⊙ log_softmax(logits) along the class axis,
  targets given as probabilities or as class indices (made one-hot); averaged over the other
  entries (reduction "mean"), summed ("sum"), or kept ("none"). Stable for large logits, as
  log_softmax is.
- mse(pred, target): the mean of the squared differences.
- logistic_loss(logits, labels): the binary cross entropy from logits, labels in {0, 1}:
  softplus(z) - y z, averaged (stable: softplus never overflows).
- layer_norm(x, gain, bias, axis, eps): (x - mean) / sqrt(var + eps) along `axis`, statistics
  kept as size-1 axes so that they broadcast, then ⊙ gain + bias.
- attention(Q, K, V, mask): softmax(Q Kᵀ / √d) V for Q (n, d), K (m, d), V (m, e), with
  leading batch axes; where `mask` (n, m) is False the score is -inf (weight 0). It is the
  library's function of several tensors `attention` (a Call node), one rule per argument."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import ShapeError
from .expr import Constant, Expr, Zero, as_expr
from .functions import Function, apply, call
from .indexing import one_hot
from .library import SOFTMAX_FN, log_softmax, softplus
from .network import combine
from .ops import sum as sum_
from .reductions import mean


def _labels(prefix: str, n: int) -> list:
    return [(prefix, k) for k in range(n)]


# ---------------------------------------------------------------------------------------------
# scaled dot-product attention: a function of three (or four, with a mask) tensors
# ---------------------------------------------------------------------------------------------
def _attention_value(q: np.ndarray, k: np.ndarray, v: np.ndarray, m: np.ndarray | None = None) -> np.ndarray:
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if m is not None:
        s = s + m
    return SOFTMAX_FN.value(s) @ v


def _attention_shape(cores: tuple) -> tuple:
    (n, d), (m, d2), (m2, e), *mask = cores
    for what, x, y in (("Q and K have key sizes", d, d2), ("K and V have key counts", m, m2)):
        if isinstance(x, int) and isinstance(y, int) and x != y:
            raise ShapeError(f"attention: {what} {x} and {y}")
    if mask and tuple(mask[0]) != (n, m) and all(isinstance(s, int) for s in (*mask[0], n, m)):
        raise ShapeError(f"attention: the mask has shape {tuple(mask[0])}, expected ({n}, {m})")
    return (n, e)


class _AttentionRules:
    """d attention(Q, K, V[, M]) one argument at a time, with P = softmax(Q Kᵀ/√d + M) per row:
    dV gives P dV; dQ and dK give dP V with dS = dQ Kᵀ/√d or Q dKᵀ/√d and the softmax rule
    dP = P ⊙ dS - P ⊙ (1 (P ⊙ dS) 1ᵀ) (sec. 4.3.5); the mask is a constant."""

    @staticmethod
    def probabilities(args: tuple[Expr, ...], nbatch: int) -> Expr:
        q, k = args[0], args[1]
        b = _labels("b", nbatch)
        scores = combine([q, k], [b + ["i", "d"], b + ["j", "d"]], b + ["i", "j"], coef=1 / math.sqrt(_key_size(q)))
        if len(args) == 4:
            scores = scores + args[3]
        return apply("softmax", scores, range(nbatch + 1))

    @staticmethod
    def through_softmax(args: tuple[Expr, ...], ds: Expr, nbatch: int) -> Expr:
        b = _labels("b", nbatch)
        p = _AttentionRules.probabilities(args, nbatch)
        ij, ik = b + ["i", "j"], b + ["i", "k"]
        dp = combine([p, ds], [ij, ij], ij) - combine([p, p, ds], [ij, ik, ik], ij)
        return combine([dp, args[2]], [ij, b + ["j", "e"]], b + ["i", "e"])

    @staticmethod
    def dq(args: tuple[Expr, ...], dq: Expr, fx: Expr, nbatch: int) -> Expr:
        b = _labels("b", nbatch)
        ds = combine([dq, args[1]], [b + ["i", "d"], b + ["j", "d"]], b + ["i", "j"], coef=1 / math.sqrt(_key_size(dq)))
        return _AttentionRules.through_softmax(args, ds, nbatch)

    @staticmethod
    def dk(args: tuple[Expr, ...], dk: Expr, fx: Expr, nbatch: int) -> Expr:
        b = _labels("b", nbatch)
        q = args[0]
        ds = combine([q, dk], [b + ["i", "d"], b + ["j", "d"]], b + ["i", "j"], coef=1 / math.sqrt(_key_size(q)))
        return _AttentionRules.through_softmax(args, ds, nbatch)

    @staticmethod
    def dv(args: tuple[Expr, ...], dv: Expr, fx: Expr, nbatch: int) -> Expr:
        b = _labels("b", nbatch)
        p = _AttentionRules.probabilities(args, nbatch)
        return combine([p, dv], [b + ["i", "j"], b + ["j", "e"]], b + ["i", "e"])


def _key_size(q: Expr) -> int:
    d = q.shape[-1]
    if not isinstance(d, int):
        raise ShapeError("attention: the key size d must be an int (the scores are scaled by 1/√d)")
    return d


ATTENTION_FN = Function(
    "attention",
    _attention_value,
    arity=3,
    core_ndim=2,
    output_shape=_attention_shape,
    differential=(_AttentionRules.dq, _AttentionRules.dk, _AttentionRules.dv),
)
MASKED_ATTENTION_FN = Function(
    "masked_attention",
    _attention_value,
    arity=4,
    core_ndim=2,
    output_shape=_attention_shape,
    differential=(
        _AttentionRules.dq,
        _AttentionRules.dk,
        _AttentionRules.dv,
        lambda args, dm, fx, k: Zero(*fx.shape),  # the mask is a constant
    ),
)


def _reduce(loss: Expr, reduction: str) -> Expr:
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum_(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def cross_entropy(logits: Any, targets: Any, axis: int = -1, reduction: str = "mean") -> Expr:
    """The cross entropy of softmax(logits) along `axis` against `targets`: an integer array of
    class indices (the logits' shape without `axis`) or probabilities of the logits' shape."""
    z = as_expr(logits)
    ax = axis % z.ndim if z.ndim else 0
    if not isinstance(targets, Expr) and np.issubdtype(np.asarray(targets).dtype, np.integer):
        idx = np.asarray(targets)
        want = z.shape[:ax] + z.shape[ax + 1 :]
        if idx.shape != want:
            raise ShapeError(f"cross_entropy: class indices of shape {idx.shape}, expected {want} (logits {z.shape})")
        n = z.shape[ax]
        if not isinstance(n, int):
            raise ShapeError("cross_entropy: class indices need an int number of classes")
        p: Expr = one_hot(idx, n, name="Y")
        if ax != z.ndim - 1:
            p = p.transpose([*range(ax), p.ndim - 1, *range(ax, p.ndim - 1)])
    else:
        p = as_expr(targets)
        if p.shape != z.shape:
            raise ShapeError(f"cross_entropy: target probabilities of shape {p.shape}, logits {z.shape}")
    per_entry = -sum_(p * log_softmax(z, ax), ax)
    return _reduce(per_entry, reduction)


def mse(pred: Any, target: Any) -> Expr:
    """The mean squared error: mean((pred - target)²)."""
    diff = as_expr(pred) - target
    return mean(diff * diff)


def logistic_loss(logits: Any, labels: Any, reduction: str = "mean") -> Expr:
    """Binary cross entropy from logits, labels in {0, 1}: softplus(z) - y z (averaged)."""
    z = as_expr(logits)
    return _reduce(softplus(z) - z * as_expr(labels), reduction)


def layer_norm(x: Any, gain: Any = None, bias: Any = None, axis: int = -1, eps: float = 1e-5) -> Expr:
    """Layer normalisation along `axis`: (x - μ) / √(σ² + ε), then ⊙ gain + bias (optional;
    they have the size of `axis` and broadcast along the others)."""
    x = as_expr(x)
    ax = axis % x.ndim
    centred = x - mean(x, ax, keepdims=True)
    var = mean(centred * centred, ax, keepdims=True)
    y = centred * (var + eps) ** -0.5
    shape = (x.shape[ax],) + (1,) * (x.ndim - 1 - ax)
    for param, name in ((gain, "gain"), (bias, "bias")):
        if param is None:
            continue
        pe = as_expr(param)
        if pe.shape != (x.shape[ax],):
            raise ShapeError(f"layer_norm: {name} has shape {pe.shape}, expected ({x.shape[ax]},)")
        if len(shape) > 1:
            pe = pe[(slice(None),) + (None,) * (len(shape) - 1)]
        y = y * pe if name == "gain" else y + pe
    return y


def attention(q: Any, k: Any, v: Any, mask: Any = None) -> Expr:
    """Scaled dot-product attention, softmax(Q Kᵀ / √d + M) V, for Q (..., n, d), K (..., m, d)
    and V (..., m, e) with the same leading (batch) axes. Where the boolean `mask` (n x m, or
    with the batch axes) is False the score is -inf: those keys get weight 0. A function of
    several tensors (`attention`, or `masked_attention` with the mask as a fourth, constant,
    argument) with one derivative rule per argument."""
    q, k, v = as_expr(q), as_expr(k), as_expr(v)
    if q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim:
        raise ShapeError(
            f"attention needs Q, K, V with the same number (>= 2) of axes; got shapes {q.shape}, {k.shape}, {v.shape}"
        )
    nbatch = q.ndim - 2
    if mask is None:
        return call("attention", q, k, v, nbatch=nbatch)
    m = np.asarray(mask)
    want = tuple(q.shape[:-1]) + (k.shape[-2],)
    if m.dtype != bool or m.shape != want[-m.ndim :] or m.ndim < 2:
        raise ShapeError(f"attention: the mask must be a boolean array of shape {want}, got {m.dtype} {m.shape}")
    bias = np.broadcast_to(np.where(m, 0.0, -np.inf), want) if all(isinstance(s, int) for s in want) else None
    if bias is None:
        raise ShapeError("attention: a mask needs int sizes")
    return call("masked_attention", q, k, v, Constant("M", bias), nbatch=nbatch)
