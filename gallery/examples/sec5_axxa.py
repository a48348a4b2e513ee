"""Sec. 5: f(X) = a^T X X^T a, ∇_X f = 2 a a^T X."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng


def derive() -> Outcome:
    a, X = tnet.Variable("a", 3), tnet.Variable("X", 3, 4)
    out = Outcome()
    out.results = [("∇_X a^T X X^T a", out.derivation(a @ X @ X.T @ a, X, name="a^T X X^T a"))]
    g = rng(54)
    out.arrays = {a: g.normal(size=3), X: g.normal(size=(3, 4))}
    return out


def check(out: Outcome) -> dict[str, float]:
    a, X = out.arrays.values()
    got = tnet.evaluate(out.result("∇_X a^T X X^T a"), out.arrays)
    return {"∇_X a^T X X^T a vs 2 a a^T X": max_error(got, 2 * np.outer(a, a) @ X)}


ENTRY = Entry(
    slug="sec5-axxa",
    section="5",
    title="a^T X X^T a",
    formula="d(a^T X X^T a) = 2 a^T dX X^T a = 2 [a dX_1][dX_2 X_2][X_1 a],   ∇_X f = 2 a a^T X",
    derive=derive,
    check=check,
    note="The two terms of the gradient are isomorphic networks, so simplification merges them into "
    "one term with coefficient 2.",
)
