"""Sec. 5: f(x) = x x^T, whose gradient is a 3-axis tensor (expression 35)."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng


def derive() -> Outcome:
    x = tnet.Variable("x", 3)
    out = Outcome()
    out.results = [("∇_x x x^T", out.derivation(tnet.kron(x, x), x, name="x x^T"))]
    out.arrays = {x: rng(56).normal(size=3)}
    return out


def check(out: Outcome) -> dict[str, float]:
    (x,) = out.arrays.values()
    eye = np.eye(3)
    # expression 35, (I_1 x I_2 + x I_2 I_1) ·_1 dx, with x's axis p first: δ_ip x_j + x_i δ_jp
    want = np.einsum("pi,j->pij", eye, x) + np.einsum("i,pj->pij", x, eye)
    got = tnet.evaluate(out.result("∇_x x x^T"), out.arrays)
    return {"∇_x x x^T vs δ_ip x_j + x_i δ_jp": max_error(got, want)}


ENTRY = Entry(
    slug="sec5-outer",
    section="5",
    title="x x^T",
    formula="d(x x^T) = dx x^T + x dx^T = (I_1 x I_2 + x I_2 I_1) ·_1 dx   (expression 35)",
    derive=derive,
    check=check,
    note="The gradient has x's axis first (marker 1), then the two axes of x x^T. Each term keeps an "
    "identity (a Delta) that ties the gradient's axis p to i or to j: δ_ip x_j + x_i δ_jp.",
)
