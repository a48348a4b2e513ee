"""Sec. 4.4: d tr(X) = tr(dX), so ∇ tr(X) = I."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng


def derive() -> Outcome:
    X = tnet.Variable("X", 3, 3)
    out = Outcome()
    grad = out.derivation(tnet.trace(X), X, name="tr X")
    out.results = [("∇_X tr X", grad)]
    out.arrays = {X: rng(441).normal(size=(3, 3))}
    return out


def check(out: Outcome) -> dict[str, float]:
    got = tnet.evaluate(out.result("∇_X tr X"), out.arrays)
    return {"∇_X tr X vs I": max_error(got, np.eye(3))}


ENTRY = Entry(
    slug="sec4-4-trace",
    section="4.4",
    title="The trace",
    formula="d(tr X) = d(X · I) = dX · I = tr(dX),   ∇_X tr X = I",
    derive=derive,
    check=check,
    note="The trace is a loop: both legs of X on one edge. Removing dX leaves an identity (a Delta) "
    "that keeps the two output axes apart.",
)
