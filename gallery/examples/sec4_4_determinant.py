"""Sec. 4.4: d|X| = |X| X^-T · dX."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng


def derive() -> Outcome:
    X = tnet.Variable("X", 3, 3)
    out = Outcome()
    grad = out.derivation(tnet.det(X), X, name="|X|")
    out.results = [("∇_X |X|", grad)]
    out.arrays = {X: rng(443).normal(size=(3, 3)) + 3 * np.eye(3)}
    return out


def check(out: Outcome) -> dict[str, float]:
    (x,) = out.arrays.values()
    got = tnet.evaluate(out.result("∇_X |X|"), out.arrays)
    return {"∇_X |X| vs |X| X^-T": max_error(got, np.linalg.det(x) * np.linalg.inv(x).T)}


ENTRY = Entry(
    slug="sec4-4-determinant",
    section="4.4",
    title="The determinant",
    formula="d|X| = |X| X^-T · dX = |X| tr(X⁻¹ dX),   ∇_X |X| = |X| X^-T",
    derive=derive,
    check=check,
)
