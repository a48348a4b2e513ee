"""Sec. 2.2-2.3, eq. 4 and eq. 5: A^{12} ⊙^{32} B and B^{32} ⊙^{12} A, one tensor up to a
permutation of its axes."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng


def derive() -> Outcome:
    A = tnet.Variable("A", 2, 3, 4)  # (A_ijk | ijk)
    B = tnet.Variable("B", 5, 3, 2)  # (B_lmn | lmn), its 3rd axis meets A's 1st, its 2nd A's 2nd
    eq4 = tnet.odot(A, B, (0, 1), (2, 1))  # (A_ijk B_lji | ijkl)
    eq5 = tnet.odot(B, A, (2, 1), (0, 1))  # (B_lji A_ijk | ljik)
    permuted = tnet.permute(eq4, (3, 1, 0, 2))  # ijkl -> ljik
    out = Outcome()
    out.figures = [
        ("eq. 4: A^{12} ⊙^{32} B = (A_ijk B_lji | ijkl)", eq4),
        ("eq. 5: B^{32} ⊙^{12} A = (B_lji A_ijk | ljik)", eq5),
    ]
    out.results = [("eq. 4", eq4), ("eq. 5", eq5), ("eq. 4 permuted by (4 2 1 3)", permuted)]
    g = rng(22)
    out.arrays = {A: g.normal(size=(2, 3, 4)), B: g.normal(size=(5, 3, 2))}
    out.extra["difference"] = tnet.simplify(eq5 - permuted)
    return out


def check(out: Outcome) -> dict[str, float]:
    a, b = out.arrays.values()
    eq4, eq5, permuted = tnet.evaluate([e for _, e in out.results], out.arrays)
    assert isinstance(out.extra["difference"], tnet.Zero), "simplify(eq. 5 - permuted eq. 4) should be 0"
    return {
        "eq. 4 vs einsum('ijk,lji->ijkl')": max_error(eq4, np.einsum("ijk,lji->ijkl", a, b)),
        "eq. 5 vs einsum('lji,ijk->ljik')": max_error(eq5, np.einsum("lji,ijk->ljik", b, a)),
        "eq. 5 vs eq. 4 permuted": max_error(eq5, permuted),
    }


ENTRY = Entry(
    slug="sec2-2-eq4-eq5",
    section="2.2, 2.3 (eq. 4, 5)",
    title="A^{12} ⊙^{32} B and B^{32} ⊙^{12} A: equal up to a permutation",
    formula="A^{12} ⊙^{32} B = (A_ijk B_lji | ijkl),   B^{32} ⊙^{12} A = (B_lji A_ijk | ljik)",
    derive=derive,
    check=check,
    note="The two networks have the same nodes and hyperedges; only the numbering of the output "
    "markers differs. tnet simplifies eq. 5 minus the permuted eq. 4 to 0.",
)
