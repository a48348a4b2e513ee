"""Sec. 5: f(x) = x^T A x, ∇_x f = (A + A^T) x."""

from __future__ import annotations

import tnet

from ..entry import Entry, Outcome, max_error, rng


def derive() -> Outcome:
    x, A = tnet.Variable("x", 4), tnet.Variable("A", 4, 4)
    out = Outcome()
    out.results = [("∇_x x^T A x", out.derivation(x @ A @ x, x, name="x^T A x"))]
    g = rng(52)
    out.arrays = {x: g.normal(size=4), A: g.normal(size=(4, 4))}
    return out


def check(out: Outcome) -> dict[str, float]:
    x, A = out.arrays.values()
    got = tnet.evaluate(out.result("∇_x x^T A x"), out.arrays)
    return {"∇_x x^T A x vs (A + A^T) x": max_error(got, (A + A.T) @ x)}


ENTRY = Entry(
    slug="sec5-quadratic",
    section="5",
    title="x^T A x",
    formula="d(x^T A x) = dx^T A x + x^T A dx = ((A + A^T) x) · dx,   ∇_x f = (A + A^T) x",
    derive=derive,
    check=check,
    note="Two occurrences of x, so the differential has two terms; they do not merge (A is not "
    "symmetric), and the gradient keeps two terms: A x and A^T x.",
)
