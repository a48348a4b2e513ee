"""The negative log-likelihood of a Gaussian, with respect to the mean and a symmetric covariance."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng

N, D = 5, 3


def derive() -> Outcome:
    X = tnet.Variable("X", N, D)
    mu, S = tnet.Variable("mu", D), tnet.Variable("S", D, D, symmetric=True)
    R = X - mu  # rows x_i - μ (μ broadcasts)
    J = (N / 2) * tnet.logdet(S) + 0.5 * tnet.sum((R @ tnet.inv(S)) * R)
    out = Outcome()
    g_mu = tnet.grad(J, mu)
    g_S = out.derivation(J, S, name="J")
    out.results = [("∇_μ J", g_mu), ("∇_Σ J", g_S)]
    g = rng(105)
    A = g.normal(size=(D, D))
    out.arrays = {X: g.normal(size=(N, D)), mu: g.normal(size=D), S: A @ A.T + D * np.eye(D)}
    return out


def _nll(X: np.ndarray, mu: np.ndarray, S: np.ndarray) -> float:
    R = X - mu
    return float(N / 2 * np.linalg.slogdet(S)[1] + 0.5 * np.sum((R @ np.linalg.inv(S)) * R))


def check(out: Outcome) -> dict[str, float]:
    X, mu, S = out.arrays.values()
    g_mu, g_S = tnet.evaluate([e for _, e in out.results], out.arrays)
    Si = np.linalg.inv(S)
    R = X - mu
    want_S = N / 2 * Si - 0.5 * Si @ R.T @ R @ Si
    E = np.arange(1.0, D * D + 1).reshape(D, D)
    E = E + E.T  # a symmetric direction
    h = 1e-6
    fd = (_nll(X, mu, S + h * E) - _nll(X, mu, S - h * E)) / (2 * h)
    return {
        "∇_μ J vs -Σ⁻¹ Σᵢ (xᵢ - μ)": max_error(g_mu, -Si @ R.sum(0)),
        "∇_Σ J vs ½N Σ⁻¹ - ½ Σ⁻¹ Rᵀ R Σ⁻¹": max_error(g_S, want_S),
        "∇_Σ J · E vs central difference along symmetric E": abs(np.sum(g_S * E) - fd) / max(1.0, abs(fd)),
    }


ENTRY = Entry(
    slug="ml-gaussian-nll",
    section="new words",
    title="Gaussian negative log-likelihood: ∇ with respect to μ and a symmetric Σ",
    formula="J = ½N ln|Σ| + ½ Σᵢ (xᵢ - μ)ᵀ Σ⁻¹ (xᵢ - μ);   ∇_μ J = -Σ⁻¹ Σᵢ (xᵢ - μ),  "
    "∇_Σ J = sym(½N Σ⁻¹ - ½ Σ⁻¹ Rᵀ R Σ⁻¹)",
    derive=derive,
    check=check,
    note="Σ is a symmetric Variable: its gradient is sym(G) = (G + Gᵀ)/2 of the unconstrained gradient "
    "G (Srinivasan and Panda, 2020); here G is already symmetric, and a finite difference along a "
    "symmetric direction agrees (to the accuracy of the difference, hence the tolerance).",
    tolerance=1e-6,
)
