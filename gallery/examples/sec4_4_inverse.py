"""Sec. 4.4: d(X^-1) = -X^-1 dX X^-1."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng


def derive() -> Outcome:
    X = tnet.Variable("X", 3, 3)
    out = Outcome()
    grad = out.derivation(tnet.inv(X), X, name="X⁻¹")
    out.results = [("∇_X X⁻¹", grad)]
    out.arrays = {X: rng(442).normal(size=(3, 3)) + 3 * np.eye(3)}
    return out


def check(out: Outcome) -> dict[str, float]:
    (x,) = out.arrays.values()
    xi = np.linalg.inv(x)
    got = tnet.evaluate(out.result("∇_X X⁻¹"), out.arrays)
    # d(X^-1)_il = -Σ_pq (X^-1)_ip dX_pq (X^-1)_ql, so the gradient (X's axes p, q first) is:
    want = -np.einsum("ip,ql->pqil", xi, xi)
    return {"∇_X X⁻¹ vs -(X⁻¹)_ip (X⁻¹)_ql": max_error(got, want)}


ENTRY = Entry(
    slug="sec4-4-inverse",
    section="4.4",
    title="The inverse",
    formula="d(X⁻¹) = -X⁻¹ (dX) X⁻¹",
    derive=derive,
    check=check,
    note="The gradient of a matrix-valued function is a 4-axis tensor: X's two axes first (markers "
    "1, 2), then the two axes of X⁻¹ (markers 3, 4).",
)
