"""The Hessian of the logistic-regression loss: Xᵀ diag(s ⊙ (1 - s)) X / N."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng

N, D = 8, 3


def derive() -> Outcome:
    X, w = tnet.Variable("X", N, D), tnet.Variable("w", D)
    g = rng(104)
    labels = g.integers(0, 2, size=N).astype(float)
    J = tnet.logistic_loss(X @ w, labels)
    out = Outcome()
    grad = out.derivation(J, w, name="J")
    hess = tnet.hessian(J, w)
    out.figures.append(("the Hessian ∇²_w J", hess))
    out.results = [("∇_w J", grad), ("∇²_w J", hess)]
    out.arrays = {X: g.normal(size=(N, D)), w: g.normal(size=D)}
    out.extra["labels"] = labels
    return out


def check(out: Outcome) -> dict[str, float]:
    X, w = out.arrays.values()
    y = out.extra["labels"]
    s = 1 / (1 + np.exp(-(X @ w)))
    grad, hess = tnet.evaluate([e for _, e in out.results], out.arrays)
    return {
        "∇_w J vs Xᵀ(s - y)/N": max_error(grad, X.T @ (s - y) / N),
        "∇²_w J vs Xᵀ diag(s(1 - s)) X / N": max_error(hess, X.T @ np.diag(s * (1 - s)) @ X / N),
    }


ENTRY = Entry(
    slug="ml-logistic-hessian",
    section="new words",
    title="The Hessian of logistic regression",
    formula="J = mean(softplus(X w) - y ⊙ X w);   ∇²_w J = Xᵀ diag(s ⊙ (1 - s)) X / N,  s = σ(X w)",
    derive=derive,
    check=check,
    note="logistic_loss is softplus(z) - y z, which never overflows; softplus' = σ and σ' = σ(1 - σ) "
    "give the Hessian to second order.",
)
