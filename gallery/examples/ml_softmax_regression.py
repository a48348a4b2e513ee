"""Softmax regression with cross_entropy: the paper's sec. 6.3 (one layer) with the new words."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng
from ._common import softmax_rows

N, D, C = 6, 4, 3
LAMBDA = 0.1


def derive() -> Outcome:
    X, W, b = tnet.Variable("X", N, D), tnet.Variable("W", D, C), tnet.Variable("b", C)
    g = rng(101)
    labels = g.integers(0, C, size=N)
    J = tnet.cross_entropy(X @ W + b, labels) + (LAMBDA / 2) * tnet.frobenius2(W)
    out = Outcome()
    gW = out.derivation(J, W, name="J")
    gb = tnet.grad(J, b)
    out.results = [("∇_W J", gW), ("∇_b J", gb)]
    out.arrays = {X: g.normal(size=(N, D)), W: g.normal(size=(D, C)), b: 0.1 * g.normal(size=C)}
    out.extra["labels"] = labels
    return out


def check(out: Outcome) -> dict[str, float]:
    X, W, b = out.arrays.values()
    Y = np.eye(C)[out.extra["labels"]]
    P = softmax_rows(X @ W + b)
    gW, gb = tnet.evaluate([e for _, e in out.results], out.arrays)
    return {
        "∇_W J vs Xᵀ(P - Y)/N + λW": max_error(gW, X.T @ (P - Y) / N + LAMBDA * W),
        "∇_b J vs (P - Y)ᵀ1/N": max_error(gb, (P - Y).sum(0) / N),
    }


ENTRY = Entry(
    slug="ml-softmax-regression",
    section="6.3 (new words)",
    title="Softmax regression with cross_entropy",
    formula="J = cross_entropy(X W + 1 bᵀ, labels) + ½λ ‖W‖²_F;   ∇_W J = Xᵀ(P - Y)/N + λW",
    derive=derive,
    check=check,
    note="The class-index targets become a one-hot constant and the loss is -mean(Y · log_softmax(Z)), "
    "so it stays finite at large logits; the gradient agrees with the paper's E = (P - Y)/N.",
)
