"""Sec. 6.1: a single-layer fully-connected net (regression)."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng
from ._common import dot

N, D, K = 5, 3, 2  # samples, inputs, outputs


def derive() -> Outcome:
    X, Y = tnet.Variable("X", N, D), tnet.Variable("Y", N, K)
    W, b = tnet.Variable("W", D, K), tnet.Variable("b", K)
    h = tnet.tanh(X @ W + b)  # f(XW + 1 b^T): the broadcast of b is the paper's 1 b^T
    J = 0.5 * dot(h - Y, h - Y)
    out = Outcome()
    out.names[h] = "h"
    grad_W = out.derivation(J, W, name="J")
    grad_b = tnet.grad(J, b)
    out.figures.append(("∇_b J, after simplification", grad_b))
    out.results = [("∇_W J", grad_W), ("∇_b J", grad_b)]
    g = rng(61)
    out.arrays = {X: g.normal(size=(N, D)), Y: g.normal(size=(N, K)), W: g.normal(size=(D, K)), b: g.normal(size=K)}
    return out


def check(out: Outcome) -> dict[str, float]:
    X, Y, W, b = out.arrays.values()
    h = np.tanh(X @ W + b)
    Z, C = h - Y, 1 - h**2  # Z = h - Y, C = f'(XW + 1 b^T)
    gW, gb = tnet.evaluate([e for _, e in out.results], out.arrays)
    return {
        "∇_W J vs X^T (Z ⊙ C)": max_error(gW, X.T @ (Z * C)),
        "∇_b J vs (Z ⊙ C)^T 1": max_error(gb, (Z * C).T @ np.ones(N)),
    }


ENTRY = Entry(
    slug="sec6-1-single-layer",
    section="6.1",
    title="Single-layer net (regression)",
    formula="h = f(XW + 1b^T),  J = ½ (h - Y)·(h - Y);   ∇_W J = X^T (Z ⊙ C),  ∇_b J = (Z ⊙ C)^T 1,  "
    "Z = h - Y,  C = f'(XW + 1b^T)   (f = tanh)",
    derive=derive,
    check=check,
)
