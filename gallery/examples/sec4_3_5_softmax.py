"""Sec. 4.3.5: the gradient of the softmax, ∇s = diag(s) - s s^T."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng


def derive() -> Outcome:
    a = tnet.Variable("a", 4)
    s = tnet.softmax(a)
    out = Outcome()
    grad = out.derivation(s, a, name="s(a)")
    out.results = [("∇s", grad)]
    out.arrays = {a: rng(435).normal(size=4)}
    return out


def check(out: Outcome) -> dict[str, float]:
    (a,) = out.arrays.values()
    s = np.exp(a - a.max())
    s /= s.sum()
    got = tnet.evaluate(out.result("∇s"), out.arrays)
    return {"∇s vs diag(s) - s s^T": max_error(got, np.diag(s) - np.outer(s, s))}


ENTRY = Entry(
    slug="sec4-3-5-softmax",
    section="4.3.5",
    title="The softmax gradient",
    formula="s(a) = e^a / (1^T e^a),   ∇s = s ⊙_1 (I - 1 s^T) = diag(s) - s s^T",
    derive=derive,
    check=check,
    note="The softmax box is small, so it is drawn at each of its uses. The simplified gradient has two "
    "terms: diag(s), an identity whose second axis is fused with s (the dot), and -s s^T.",
)
