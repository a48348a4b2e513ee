"""A two-layer perceptron with layer normalisation: gradients of every parameter."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng

N, D, H, O = 5, 3, 4, 2
EPS = 1e-5


def derive() -> Outcome:
    X, Y = tnet.Variable("X", N, D), tnet.Variable("Y", N, O)
    W1, b1, W2 = tnet.Variable("W1", D, H), tnet.Variable("b1", H), tnet.Variable("W2", H, O)
    gain, bias = tnet.Variable("g", H), tnet.Variable("beta", H)
    Z = tnet.tanh(tnet.layer_norm(X @ W1 + b1, gain, bias, eps=EPS))
    J = tnet.mse(Z @ W2, Y)
    out = Outcome(names={Z: "Z"})
    params = [W1, b1, gain, bias, W2]
    grads = tnet.grad(J, params)
    out.figures.append(("J = mse(tanh(layer_norm(X W1 + 1 b1ᵀ; g, β)) W2, Y)", J))
    out.figures.append(("∇_g J", grads[2]))
    out.results = [(f"∇_{p.name} J", gr) for p, gr in zip(params, grads)]
    r = rng(102)
    out.arrays = {X: r.normal(size=(N, D)), Y: r.normal(size=(N, O)), W1: r.normal(size=(D, H)),
                  b1: 0.1 * r.normal(size=H), gain: 1 + 0.1 * r.normal(size=H), bias: 0.1 * r.normal(size=H),
                  W2: r.normal(size=(H, O))}  # fmt: skip
    return out


def _loss(a: dict[str, np.ndarray]) -> float:
    A = a["X"] @ a["W1"] + a["b1"]
    c = A - A.mean(1, keepdims=True)
    Z = np.tanh(c / np.sqrt((c**2).mean(1, keepdims=True) + EPS) * a["g"] + a["beta"])
    return float(np.mean((Z @ a["W2"] - a["Y"]) ** 2))


def check(out: Outcome) -> dict[str, float]:
    arrays = {v.name: a for v, a in out.arrays.items()}
    got = tnet.evaluate([e for _, e in out.results], out.arrays)
    errors = {}
    for (label, _), g in zip(out.results, got):
        name = label[2:-2]
        want = np.zeros_like(arrays[name])
        for idx in np.ndindex(*want.shape):  # central differences of the numpy forward pass
            step = np.zeros_like(want)
            step[idx] = 1e-6
            plus = _loss({**arrays, name: arrays[name] + step})
            minus = _loss({**arrays, name: arrays[name] - step})
            want[idx] = (plus - minus) / 2e-6
        errors[f"{label} vs central differences"] = max_error(g, want)
    return errors


ENTRY = Entry(
    slug="ml-layer-norm-mlp",
    section="new words",
    title="A layer-norm MLP",
    formula="Z = tanh(layer_norm(X W₁ + 1 b₁ᵀ) ⊙ g + β),  J = mse(Z W₂, Y)",
    derive=derive,
    check=check,
    note="layer_norm is (A - μ) ⊘ √(σ² + ε) with the row statistics kept as size-1 axes (keepdims), so "
    "they broadcast without einsum. Checked against central differences of a numpy forward pass.",
    tolerance=1e-6,
)
