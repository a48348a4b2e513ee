"""Sec. 6.3: a multi-layer net for classification (softmax + cross entropy), with the general
E of eq. 40 and the easier E of eq. 43, shown equal."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, one_hot, rng
from ._common import dot, softmax_rows

N = 6  # samples
SIZES = [3, 4, 4, 3]  # Z_0 = X; the last layer has one output per class
L = len(SIZES) - 1
LAMBDA = 0.05


def derive() -> Outcome:
    X, Y = tnet.Variable("X", N, SIZES[0]), tnet.Variable("Y", N, SIZES[-1])
    Ws = [tnet.Variable(f"W{j}", SIZES[j - 1], SIZES[j]) for j in range(1, L + 1)]
    bs = [tnet.Variable(f"b{j}", SIZES[j]) for j in range(1, L + 1)]
    Z = X
    names = {}
    for j, (W, b) in enumerate(zip(Ws, bs), 1):
        A = Z @ W + b
        Z = tnet.softmax(A) if j == L else tnet.tanh(A)  # Z_L = s^1(A_L), eq. 37
        names[Z] = f"Z{j}"
    J = (-1 / N) * dot(tnet.log(Z), Y)
    for W in Ws:
        J = J + (LAMBDA / 2) * dot(W, W)

    # E = ∇_{A_L} J_1 both ways, with A_L as a variable of its own
    AL = tnet.Variable("A_L", N, SIZES[-1])
    J1_general = (-1 / N) * dot(tnet.log(tnet.softmax(AL)), Y)  # through ∇s (eq. 40)
    lse = tnet.einsum("i,j->ij", tnet.logsumexp(AL), tnet.ones(SIZES[-1]))  # 1 ln(1^T e^{a_i}) per row
    J1_easy = (-1 / N) * dot(AL - lse, Y)  # ln s(a_i) = a_i - 1 ln(1^T e^{a_i}), eq. 41

    out = Outcome(names=names)
    out.names[tnet.softmax(AL)] = "s(A_L)"
    E_general = out.derivation(J1_general, AL, name="J_1")
    E_easy = tnet.grad(J1_easy, AL)
    E_eq43 = (-1 / N) * (Y - tnet.softmax(AL))
    out.figures.append(("E the easier way (eq. 41): ∇_{A_L} J_1 with ln s(a) = a - 1 ln(1^T e^a)", E_easy))
    grads = tnet.grad(J, Ws + bs)
    out.results = [("E (eq. 40, general)", E_general), ("E (eq. 41, easier)", E_easy), ("E (eq. 43)", E_eq43)]
    out.results += [(f"∇_W{j} J", g) for j, g in enumerate(grads[:L], 1)]
    out.results += [(f"∇_b{j} J", g) for j, g in enumerate(grads[L:], 1)]
    g = rng(63)
    out.arrays = {X: g.normal(size=(N, SIZES[0])), Y: one_hot(N, SIZES[-1], g), AL: g.normal(size=(N, SIZES[-1]))}
    for j, (W, b) in enumerate(zip(Ws, bs), 1):
        out.arrays[W] = g.normal(size=(SIZES[j - 1], SIZES[j]))
        out.arrays[b] = 0.1 * g.normal(size=SIZES[j])
    return out


def check(out: Outcome) -> dict[str, float]:
    arrays = list(out.arrays.values())
    X, Y, AL, rest = arrays[0], arrays[1], arrays[2], arrays[3:]
    Ws, bs = rest[0::2], rest[1::2]
    got = tnet.evaluate([e for _, e in out.results], out.arrays)
    E_general, E_easy, E_eq43, grads = got[0], got[1], got[2], got[3:]
    want_E = (-1 / N) * (Y - softmax_rows(AL))
    errors = {
        "E (eq. 40) vs -(1/N)(Y - s¹(A_L))": max_error(E_general, want_E),
        "E (eq. 41) vs -(1/N)(Y - s¹(A_L))": max_error(E_easy, want_E),
        "E (eq. 40) vs E (eq. 41)": max_error(E_general, E_easy),
        "E (eq. 43) vs E (eq. 40)": max_error(E_eq43, E_general),
    }
    # backpropagation with the paper's formulas, from E = -(1/N)(Y - Z_L)
    Zs, As = [X], []
    for j, (W, b) in enumerate(zip(Ws, bs), 1):
        As.append(Zs[-1] @ W + b)
        Zs.append(softmax_rows(As[-1]) if j == L else np.tanh(As[-1]))
    S = (-1 / N) * (Y - Zs[L])  # E = ∇_{A_L} J
    for j in range(L, 0, -1):
        errors[f"∇_W{j} J vs Z_{j - 1}^T S_{j} + λW_{j}"] = max_error(
            grads[j - 1], Zs[j - 1].T @ S + LAMBDA * Ws[j - 1]
        )
        errors[f"∇_b{j} J vs S_{j}^T 1"] = max_error(grads[L + j - 1], S.T @ np.ones(N))
        if j > 1:
            S = (S @ Ws[j - 1].T) * (1 - np.tanh(As[j - 2]) ** 2)  # S_{j-1} = ∇_{Z_{j-1}} J ⊙ f'(A_{j-1})
    return errors


ENTRY = Entry(
    slug="sec6-3-classification",
    section="6.3, 6.3.1",
    title="Multi-layer net (classification): the general E and the easier way",
    formula="Z_L = s¹(A_L),  J = -(1/N) ln(Z_L)·Y + ½λ Σ_k W_k·W_k;   "
    "E = -(1/N) (Y ⊘ Z_L)^{1 2̄} ⊙^{13} ∇s¹(A_L)  (eq. 40)  =  -(1/N)(Y - Z_L)  (eq. 43)",
    derive=derive,
    check=check,
    note="The pictures derive E = ∇_{A_L} J_1 the general way, through the softmax's own gradient; "
    "the last picture is the easier way, with ln s(a) = a - 1 ln(1^T e^a). Both agree with "
    "-(1/N)(Y - Z_L) (Y one-hot), and the full network's gradients match the paper's backpropagation.",
)
