"""Sec. 6.4: a recurrent net (RNN) unrolled over tau = 3 steps."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, one_hot, rng
from ._common import dot, softmax_rows

N, NX, NH, NO, TAU = 4, 3, 5, 3, 3  # samples, inputs, hidden units, classes, steps


def network():
    """The variables and the loss J = Σ_t J_t."""
    W, U, b = tnet.Variable("W", NH, NH), tnet.Variable("U", NX, NH), tnet.Variable("b", NH)
    V, c, Z0 = tnet.Variable("V", NH, NO), tnet.Variable("c", NO), tnet.Variable("Z0", N, NH)
    Xs = [tnet.Variable(f"X{t}", N, NX) for t in range(1, TAU + 1)]
    Ys = [tnet.Variable(f"Y{t}", N, NO) for t in range(1, TAU + 1)]
    Z, J = Z0, None
    for X, Y in zip(Xs, Ys):
        A = Z @ W + X @ U + b  # A_t = Z_{t-1} W + X_t U + 1 b^T
        Z = tnet.tanh(A)  # Z_t = tanh(A_t)
        O = Z @ V + c  # O_t = Z_t V + 1 c^T
        Jt = (-1 / N) * dot(tnet.log(tnet.softmax(O)), Y)  # J_t = -(1/N) ln(s¹(O_t)) · Y_t
        J = Jt if J is None else J + Jt
    return (W, U, b, V, c, Z0), Xs, Ys, J


def derive() -> Outcome:
    params, Xs, Ys, J = network()
    out = Outcome()
    W, U, b, V, c, Z = params  # name Z_t and s^1(O_t) in the printed results, as the paper does
    for t, X in enumerate(Xs, 1):
        Z = tnet.tanh(Z @ W + X @ U + b)
        out.names[Z] = f"Z{t}"
        out.names[tnet.softmax(Z @ V + c)] = f"Yhat{t}"
    out.derivation(J, params[0], name="J")
    grads = tnet.grad(J, list(params))  # reverse mode: the gradients share their products
    out.figures.append(("∇_W J by tnet.grad (reverse mode: a sum over t of Z_{t-1}^T ∇_{A_t} J)", grads[0]))
    out.results = [(f"∇_{p.name} J", g) for p, g in zip(params, grads)]
    g = rng(64)
    W, U, b, V, c, Z0 = params
    out.arrays = {
        W: 0.5 * g.normal(size=(NH, NH)),
        U: g.normal(size=(NX, NH)),
        b: 0.1 * g.normal(size=NH),
        V: g.normal(size=(NH, NO)),
        c: 0.1 * g.normal(size=NO),
        Z0: 0.5 * g.normal(size=(N, NH)),
    }
    for X, Y in zip(Xs, Ys):
        out.arrays[X] = g.normal(size=(N, NX))
        out.arrays[Y] = one_hot(N, NO, g)
    return out


def check(out: Outcome) -> dict[str, float]:
    arrays = list(out.arrays.values())
    W, U, b, V, c, Z0 = arrays[:6]
    Xs, Ys = arrays[6::2], arrays[7::2]
    # forward
    Zs, As, Os = [Z0], [], []
    for X in Xs:
        As.append(Zs[-1] @ W + X @ U + b)
        Zs.append(np.tanh(As[-1]))
        Os.append(Zs[-1] @ V + c)
    # the paper's final equations, t = tau, ..., 1, with ∇_{A_{tau+1}} J = 0
    gO = [(-1 / N) * (Y - softmax_rows(O)) for Y, O in zip(Ys, Os)]
    gA = [None] * TAU
    nxt = np.zeros((N, NH))
    for t in range(TAU - 1, -1, -1):
        gA[t] = (1 - np.tanh(As[t]) ** 2) * (nxt @ W.T + gO[t] @ V.T)
        nxt = gA[t]
    ones = np.ones(N)
    want = {
        "∇_W J": sum(Zs[t].T @ gA[t] for t in range(TAU)),
        "∇_U J": sum(Xs[t].T @ gA[t] for t in range(TAU)),
        "∇_b J": sum(gA[t].T @ ones for t in range(TAU)),
        "∇_V J": sum(Zs[t + 1].T @ gO[t] for t in range(TAU)),
        "∇_c J": sum(gO[t].T @ ones for t in range(TAU)),
        "∇_Z0 J": gA[0] @ W.T,
    }
    formulas = {
        "∇_W J": "Σ_t Z_{t-1}^T ∇_{A_t} J",
        "∇_U J": "Σ_t X_t^T ∇_{A_t} J",
        "∇_b J": "Σ_t ∇_{A_t} J^T 1",
        "∇_V J": "Σ_t Z_t^T ∇_{O_t} J",
        "∇_c J": "Σ_t ∇_{O_t} J^T 1",
        "∇_Z0 J": "∇_{A_1} J W^T",
    }
    got = tnet.evaluate([e for _, e in out.results], out.arrays)
    return {
        f"{label} vs {formulas[label]}": max_error(value, want[label]) for (label, _), value in zip(out.results, got)
    }


ENTRY = Entry(
    slug="sec6-4-rnn",
    section="6.4",
    title="Recurrent net (RNN), tau = 3",
    formula="A_t = Z_{t-1} W + X_t U + 1b^T,  Z_t = tanh(A_t),  O_t = Z_t V + 1c^T,  J = Σ_t -(1/N) ln(s¹(O_t))·Y_t;   "
    "∇_{O_t} J = -(1/N)(Y_t - s¹(O_t)),  ∇_{A_t} J = (11^T - tanh²(A_t)) ⊙ (∇_{A_{t+1}} J W^T + ∇_{O_t} J V^T),  "
    "∇_W J = Σ_t Z_{t-1}^T ∇_{A_t} J,  ∇_U J = Σ_t X_t^T ∇_{A_t} J,  ∇_b J = Σ_t ∇_{A_t} J^T 1,  "
    "∇_V J = Σ_t Z_t^T ∇_{O_t} J,  ∇_c J = Σ_t ∇_{O_t} J^T 1",
    derive=derive,
    check=check,
    note="One set of weights shared by every step; the pictures derive ∇_W J. Every tanh and softmax "
    "of the unrolled net is drawn once (tanh#k, softmax¹#k) and used by name. The differential route "
    "expands every path from W to J into a term of its own; the last picture is tnet.grad's reverse "
    "mode, which keeps ∇_{A_t} J as shared products, as the paper's recursion does.",
    slow=True,
)
