"""Sec. 2.4: associativity of the paper's operators, where it fails and where it holds."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng


def derive() -> Outcome:
    A, B, C = (tnet.Variable(name, 3, 3) for name in "ABC")
    dot_left = tnet.cdot(tnet.cdot(A, B, [0], [0]), C, [0], [0])  # [A1 B1][A2 C1] B2 C2
    dot_right = tnet.cdot(A, tnet.cdot(B, C, [0], [0]), [0], [0])  # [B1 C1][A1 B2] A2 C2
    odot_left = tnet.odot(tnet.odot(A, B, [0], [0]), C, [0], [0])  # [A1 B1 C1] A2 B2 C2
    odot_right = tnet.odot(A, tnet.odot(B, C, [0], [0]), [0], [0])  # the same
    mixed_left = tnet.odot(tnet.odot(A, B, [1], [0]), C, [0], [0])  # [A1 C1][A2 B1] B2 C2
    mixed_right = tnet.odot(A, tnet.odot(B, C, [0], [0]), [1], [0])  # A1 [A2 B1 C1] B2 C2
    out = Outcome()
    out.figures = [
        ("(A ¹·¹ B) ¹·¹ C = [A1 B1][A2 C1] B2 C2", dot_left),
        ("A ¹·¹ (B ¹·¹ C) = [B1 C1][A1 B2] A2 C2", dot_right),
        ("(A ¹⊙¹ B) ¹⊙¹ C = A ¹⊙¹ (B ¹⊙¹ C) = [A1 B1 C1] A2 B2 C2", odot_left),
        ("(A ²⊙¹ B) ¹⊙¹ C = [A1 C1][A2 B1] B2 C2", mixed_left),
        ("A ²⊙¹ (B ¹⊙¹ C) = A1 [A2 B1 C1] B2 C2", mixed_right),
    ]
    out.results = [
        ("(A ¹·¹ B) ¹·¹ C", dot_left),
        ("A ¹·¹ (B ¹·¹ C)", dot_right),
        ("(A ¹⊙¹ B) ¹⊙¹ C", odot_left),
        ("A ¹⊙¹ (B ¹⊙¹ C)", odot_right),
        ("(A ²⊙¹ B) ¹⊙¹ C", mixed_left),
        ("A ²⊙¹ (B ¹⊙¹ C)", mixed_right),
    ]
    g = rng(24)
    out.arrays = {v: g.normal(size=(3, 3)) for v in (A, B, C)}
    out.extra["odot agree"] = odot_left is odot_right
    return out


def check(out: Outcome) -> dict[str, float]:
    a, b, c = out.arrays.values()
    dl, dr, ol, orr, ml, mr = tnet.evaluate([e for _, e in out.results], out.arrays)
    assert np.max(np.abs(dl - dr)) > 1e-3, "the two ¹·¹ results should differ"
    assert np.max(np.abs(ml - mr)) > 1e-3, "the two ²⊙¹ results should differ"
    assert out.extra["odot agree"], "(A ¹⊙¹ B) ¹⊙¹ C and A ¹⊙¹ (B ¹⊙¹ C) should be one object"
    return {
        "(A ¹·¹ B) ¹·¹ C vs Σ_km A_km B_kj C_ml": max_error(dl, np.einsum("km,kj,ml->jl", a, b, c)),
        "A ¹·¹ (B ¹·¹ C) vs Σ_km B_km C_kl A_mi": max_error(dr, np.einsum("km,kl,mi->il", b, c, a)),
        "(A ¹⊙¹ B) ¹⊙¹ C vs A_ia B_ib C_ic": max_error(ol, np.einsum("ia,ib,ic->iabc", a, b, c)),
        "A ¹⊙¹ (B ¹⊙¹ C) vs A_ia B_ib C_ic": max_error(orr, np.einsum("ia,ib,ic->iabc", a, b, c)),
        "(A ²⊙¹ B) ¹⊙¹ C vs A_ij B_jb C_ic": max_error(ml, np.einsum("ij,jb,ic->ijbc", a, b, c)),
        "A ²⊙¹ (B ¹⊙¹ C) vs A_ij B_jb C_jc": max_error(mr, np.einsum("ij,jb,jc->ijbc", a, b, c)),
    }


ENTRY = Entry(
    slug="sec2-4-associativity",
    section="2.4",
    title="Associativity: where it fails and where it holds",
    formula="(A ¹·¹ B) ¹·¹ C ≠ A ¹·¹ (B ¹·¹ C),   (A ¹⊙¹ B) ¹⊙¹ C = A ¹⊙¹ (B ¹⊙¹ C),   "
    "(A ²⊙¹ B) ¹⊙¹ C ≠ A ²⊙¹ (B ¹⊙¹ C)",
    derive=derive,
    check=check,
    note="Summing over an axis shifts the positions of the axes after it, so the two ¹·¹ groupings "
    "contract different axes (the check confirms their values differ). The two ¹⊙¹ groupings "
    "build one and the same network (one 3-leg hyperedge, drawn as a dot).",
)
