"""Sec. 5: f(X) = a^T X b, ∇_X f = a b^T."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng


def derive() -> Outcome:
    a, X, b = tnet.Variable("a", 3), tnet.Variable("X", 3, 4), tnet.Variable("b", 4)
    out = Outcome()
    out.results = [("∇_X a^T X b", out.derivation(a @ X @ b, X, name="a^T X b"))]
    g = rng(53)
    out.arrays = {a: g.normal(size=3), X: g.normal(size=(3, 4)), b: g.normal(size=4)}
    return out


def check(out: Outcome) -> dict[str, float]:
    a, _, b = out.arrays.values()
    got = tnet.evaluate(out.result("∇_X a^T X b"), out.arrays)
    return {"∇_X a^T X b vs a b^T": max_error(got, np.outer(a, b))}


ENTRY = Entry(
    slug="sec5-bilinear",
    section="5",
    title="a^T X b",
    formula="d(a^T X b) = a ·_1 dX ·_1 b = [a dX_1][dX_2 b] = (a b^T) · dX,   ∇_X f = a b^T",
    derive=derive,
    check=check,
)
