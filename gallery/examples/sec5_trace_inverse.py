"""Sec. 5: f(X) = tr(A X^-1 B), ∇_X f = -X^-T A^T B^T X^-T."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng


def derive() -> Outcome:
    A, X, B = tnet.Variable("A", 2, 3), tnet.Variable("X", 3, 3), tnet.Variable("B", 3, 2)
    out = Outcome()
    f = tnet.trace(A @ tnet.inv(X) @ B)
    out.results = [("∇_X tr(A X⁻¹ B)", out.derivation(f, X, name="tr(A X⁻¹ B)"))]
    g = rng(55)
    out.arrays = {A: g.normal(size=(2, 3)), X: g.normal(size=(3, 3)) + 3 * np.eye(3), B: g.normal(size=(3, 2))}
    return out


def check(out: Outcome) -> dict[str, float]:
    A, X, B = out.arrays.values()
    xit = np.linalg.inv(X).T
    got = tnet.evaluate(out.result("∇_X tr(A X⁻¹ B)"), out.arrays)
    return {"∇_X tr(A X⁻¹ B) vs -X^-T A^T B^T X^-T": max_error(got, -xit @ A.T @ B.T @ xit)}


ENTRY = Entry(
    slug="sec5-trace-inverse",
    section="5",
    title="tr(A X⁻¹ B)",
    formula="d tr(A X⁻¹ B) = -(A X⁻¹ dX X⁻¹ B) · I,   ∇_X f = -U^T V^T = -X^-T A^T B^T X^-T",
    derive=derive,
    check=check,
    note="X⁻¹ occurs once, so the differential has one term; the rule d(X⁻¹) = -X⁻¹ dX X⁻¹ puts the "
    "inverse in it twice, on either side of dX. Removing dX leaves -X^-T A^T B^T X^-T.",
)
