"""One scaled dot-product attention head: the gradients with respect to Q, K and V."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng
from ._common import softmax_rows

N, M, D, E = 3, 4, 2, 2


def derive() -> Outcome:
    Q, K, V = tnet.Variable("Q", N, D), tnet.Variable("K", M, D), tnet.Variable("V", M, E)
    R = tnet.Variable("R", N, E)  # the upstream gradient: f = R · attention(Q, K, V)
    f = tnet.sum(R * tnet.attention(Q, K, V))
    out = Outcome()
    gQ = out.derivation(f, Q, name="f")
    gK, gV = tnet.grad(f, [K, V])
    out.results = [("∇_Q f", gQ), ("∇_K f", gK), ("∇_V f", gV)]
    g = rng(103)
    out.arrays = {Q: g.normal(size=(N, D)), K: g.normal(size=(M, D)), V: g.normal(size=(M, E)),
                  R: g.normal(size=(N, E))}  # fmt: skip
    return out


def check(out: Outcome) -> dict[str, float]:
    Q, K, V, R = out.arrays.values()
    P = softmax_rows(Q @ K.T / np.sqrt(D))
    dP = R @ V.T
    dS = P * (dP - np.sum(dP * P, axis=1, keepdims=True)) / np.sqrt(D)
    gQ, gK, gV = tnet.evaluate([e for _, e in out.results], out.arrays)
    return {
        "∇_Q f vs dS K": max_error(gQ, dS @ K),
        "∇_K f vs dSᵀ Q": max_error(gK, dS.T @ Q),
        "∇_V f vs Pᵀ R": max_error(gV, P.T @ R),
    }


ENTRY = Entry(
    slug="ml-attention",
    section="new words",
    title="Scaled dot-product attention: ∇ with respect to Q, K and V",
    formula="f = R · softmax(Q Kᵀ/√d) V;   ∇_V f = Pᵀ R,  ∇_Q f = dS K,  ∇_K f = dSᵀ Q,  "
    "dS = P ⊙ (R Vᵀ - (P ⊙ R Vᵀ) 1 1ᵀ)/√d",
    derive=derive,
    check=check,
    note="The softmax's gradient (sec. 4.3.5) is what couples the rows of the scores; the three "
    "gradients are the textbook backward pass of attention.",
)
