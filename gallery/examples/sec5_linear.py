"""Sec. 5: f(x) = a^T x, ∇_x f = a."""

from __future__ import annotations

import tnet

from ..entry import Entry, Outcome, max_error, rng


def derive() -> Outcome:
    a, x = tnet.Variable("a", 4), tnet.Variable("x", 4)
    out = Outcome()
    out.results = [("∇_x a^T x", out.derivation(a @ x, x, name="a^T x"))]
    g = rng(51)
    out.arrays = {a: g.normal(size=4), x: g.normal(size=4)}
    return out


def check(out: Outcome) -> dict[str, float]:
    a, _ = out.arrays.values()
    return {"∇_x a^T x vs a": max_error(tnet.evaluate(out.result("∇_x a^T x"), out.arrays), a)}


ENTRY = Entry(
    slug="sec5-linear",
    section="5",
    title="a^T x",
    formula="d(a^T x) = a^T dx = a · dx,   ∇_x f = a",
    derive=derive,
    check=check,
)
