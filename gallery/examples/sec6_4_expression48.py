"""Sec. 6.4, expression 48: G · ((B ⊙ D) W) = [G_1 B_1][B_2 W_1][Ḡ_2 W_2] · D, and its
simplification to B ⊙ (G W^T)."""

from __future__ import annotations

import tnet

from ..entry import Entry, Outcome, max_error, rng
from ._common import dot

N, H = 3, 4  # rows, hidden units


def derive() -> Outcome:
    G, B = tnet.Variable("G", N, H), tnet.Variable("B", N, H)
    D, W = tnet.Variable("D", N, H), tnet.Variable("W", H, H)
    out = Outcome()
    bracket = out.derivation(dot(G, (B * D) @ W), D, name="G · ((B ⊙ D) W)")
    neat = B * (G @ W.T)
    out.figures.append(
        ("B ⊙ (G W^T), simplified: the same network as [G_1 B_1][B_2 W_1][Ḡ_2 W_2]", tnet.simplify(neat))
    )
    out.results = [("[G_1 B_1][B_2 W_1][Ḡ_2 W_2]", bracket), ("B ⊙ (G W^T)", neat)]
    out.extra["difference"] = tnet.simplify(bracket - neat)
    g = rng(48)
    out.arrays = {
        G: g.normal(size=(N, H)),
        B: g.normal(size=(N, H)),
        D: g.normal(size=(N, H)),
        W: g.normal(size=(H, H)),
    }
    return out


def check(out: Outcome) -> dict[str, float]:
    G, B, _, W = out.arrays.values()
    assert isinstance(out.extra["difference"], tnet.Zero), "simplify(expression 48 - B ⊙ (G W^T)) should be 0"
    bracket, neat = tnet.evaluate([e for _, e in out.results], out.arrays)
    return {
        "[G_1 B_1][B_2 W_1][Ḡ_2 W_2] vs B ⊙ (G W^T) in numpy": max_error(bracket, B * (G @ W.T)),
        "tnet's B ⊙ (G W^T) vs numpy": max_error(neat, B * (G @ W.T)),
    }


ENTRY = Entry(
    slug="sec6-4-expression48",
    section="6.4 (expression 48)",
    title="Expression 48 and its simplification",
    formula="G · ((B ⊙ D) W) = [G_1 B_1][B_2 W_1][Ḡ_2 W_2] · D = (B ⊙ (G W^T)) · D",
    derive=derive,
    check=check,
    note="The gradient before simplification is the paper's graph of expression 48, with what the "
    "paper says its graph lacks: the output markers 1, 2 give the order of [G_1 B_1] and [B_2 W_1]. "
    "tnet simplifies its difference with B ⊙ (G W^T) to 0: the two are one network.",
)
