"""The stages of a derivation, drawn: f, its differential, its gradient before and after
simplification (the paper's way of working, sec. 4.2 and eq. 29)."""

from __future__ import annotations

import graphviz

from tnet.diff import differential, gradient_of_differential
from tnet.expr import Expr, Variable
from tnet.simplify import simplify

from .dot import to_dot

__all__ = ["derivation", "derivation_expressions", "STAGES"]

STAGES = ("function", "differential", "gradient before simplification", "gradient after simplification")


def derivation_expressions(f: Expr, x: Variable) -> list[tuple[str, Expr]]:
    """The four expressions of a derivation, with their stage names (see `STAGES`):
    f; df = tnet.differential(f, X), one term per occurrence of X, each holding the dX node;
    tnet.gradient_of_differential(df, X); and tnet.simplify of that."""
    df = differential(f, x)
    raw = gradient_of_differential(df, x)
    return list(zip(STAGES, (f, df, raw, simplify(raw))))


def derivation(f: Expr, x: Variable) -> list[tuple[str, graphviz.Digraph]]:
    """[(stage name, drawing), ...] for f and X, in this order: the function's network; its
    differential (one term per occurrence of X, the dX node highlighted); the gradient before
    simplification; the gradient after simplification."""
    name = x.name
    titles = {
        "function": "f",
        "differential": f"df: one term per occurrence of {name}, d{name} highlighted",
        "gradient before simplification": f"∇_{name} f, before simplification",
        "gradient after simplification": f"∇_{name} f, after simplification",
    }
    return [(stage, to_dot(e, title=titles[stage])) for stage, e in derivation_expressions(f, x)]
