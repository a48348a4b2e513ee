"""Sec. 2.1: the matrix product as an outer product, then a fusion, then a sum (M1, M2, M3)."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng


def derive() -> Outcome:
    A = tnet.Variable("A", 2, 3)
    B = tnet.Variable("B", 3, 4)
    M1 = tnet.kron(A, B)  # (A_ij B_lm | ijlm)
    M2 = tnet.einsum("ijjm->ijm", M1)  # fuse the 2nd and 3rd axes: (A_ij B_jm | ijm)
    M3 = tnet.sum(M2, axis=1)  # sum over j: (A_ij B_jm | im) = AB
    out = Outcome()
    out.figures = [
        ("M1 = A ⊗ B = (A_ij B_lm | ijlm)", M1),
        ("M2 = (A_ij B_jm | ijm)", M2),
        ("M3 = (A_ij B_jm | im)", M3),
    ]
    out.results = [("M1", M1), ("M2", M2), ("M3", M3)]
    g = rng(21)
    out.arrays = {A: g.normal(size=(2, 3)), B: g.normal(size=(3, 4))}
    out.extra["M3 is A @ B"] = M3 is A @ B
    return out


def check(out: Outcome) -> dict[str, float]:
    a, b = out.arrays.values()
    M1, M2, M3 = tnet.evaluate([e for _, e in out.results], out.arrays)
    assert out.extra["M3 is A @ B"], "M3 should be the very expression A @ B (hash-consing)"
    return {
        "M1 vs numpy.multiply.outer(A, B)": max_error(M1, np.multiply.outer(a, b)),
        "M2 vs einsum('ij,jm->ijm')": max_error(M2, np.einsum("ij,jm->ijm", a, b)),
        "M3 vs A @ B": max_error(M3, a @ b),
    }


ENTRY = Entry(
    slug="sec2-1-matrix-product",
    section="2.1",
    title="The matrix product: outer product, fuse, sum",
    formula="M1 = (A_ij B_lm | ijlm),  M2 = (A_ij B_jm | ijm),  M3 = (A_ij B_jm | im) = AB",
    derive=derive,
    check=check,
    note="M1 has four output markers. Fusing j and l puts A's 2nd leg and B's 1st leg on one output "
    "edge, drawn as a dot (a fused output); summing over it leaves an ordinary edge between A and B. "
    "M3 is the very object that A @ B builds.",
)
