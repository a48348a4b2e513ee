"""Sec. 6.2: a multi-layer fully-connected net (regression) with L2 regularization, L = 4."""

from __future__ import annotations

import numpy as np

import tnet

from ..entry import Entry, Outcome, max_error, rng
from ._common import dot

N = 5  # samples
SIZES = [3, 4, 4, 4, 2]  # Z_0 = X has 3 columns; layers 1..4
L = len(SIZES) - 1
LAMBDA = 0.1


def network():
    """X, Y, [W_1..W_L], [b_1..b_L] and the loss J (f_j = tanh)."""
    X, Y = tnet.Variable("X", N, SIZES[0]), tnet.Variable("Y", N, SIZES[-1])
    Ws = [tnet.Variable(f"W{j}", SIZES[j - 1], SIZES[j]) for j in range(1, L + 1)]
    bs = [tnet.Variable(f"b{j}", SIZES[j]) for j in range(1, L + 1)]
    Z = X  # Z_0
    for W, b in zip(Ws, bs):
        Z = tnet.tanh(Z @ W + b)  # Z_j = f_j(Z_{j-1} W_j + 1 b_j^T)
    J = (1 / (2 * N)) * dot(Z - Y, Z - Y)
    for W in Ws:
        J = J + (LAMBDA / 2) * dot(W, W)
    return X, Y, Ws, bs, J


def derive() -> Outcome:
    X, Y, Ws, bs, J = network()
    out = Outcome()
    Z = X  # name the activations Z_j in the printed results, as the paper does (hash-consing
    for j, (W, b) in enumerate(zip(Ws, bs), 1):  # gives back the very objects inside J)
        Z = tnet.tanh(Z @ W + b)
        out.names[Z] = f"Z{j}"
    out.derivation(J, Ws[0], name="J")  # the deepest weight: the longest chain
    grads = tnet.grad(J, Ws + bs)  # reverse mode: the gradients share their products
    out.figures.append(("∇_W1 J by tnet.grad (reverse mode, products shared with the other gradients)", grads[0]))
    out.results = [(f"∇_W{j} J", g) for j, g in enumerate(grads[:L], 1)]
    out.results += [(f"∇_b{j} J", g) for j, g in enumerate(grads[L:], 1)]
    g = rng(62)
    out.arrays = {X: g.normal(size=(N, SIZES[0])), Y: g.normal(size=(N, SIZES[-1]))}
    for j, (W, b) in enumerate(zip(Ws, bs), 1):
        out.arrays[W] = g.normal(size=(SIZES[j - 1], SIZES[j])) / np.sqrt(SIZES[j - 1])
        out.arrays[b] = 0.1 * g.normal(size=SIZES[j])
    return out


def paper_gradients(X, Y, Ws, bs):
    """The paper's final formulas: ∇_{Z_L} J = (Z_L - Y)/N, S_j = ∇_{Z_j} J ⊙ f'(A_j),
    ∇_{W_j} J = Z_{j-1}^T S_j + λ W_j, ∇_{b_j} J = S_j^T 1, ∇_{Z_{j-1}} J = S_j W_j^T."""
    Zs, As = [X], []
    for W, b in zip(Ws, bs):
        As.append(Zs[-1] @ W + b)
        Zs.append(np.tanh(As[-1]))
    gW, gb = [None] * L, [None] * L
    gZ = (Zs[L] - Y) / N
    for j in range(L, 0, -1):
        S = gZ * (1 - np.tanh(As[j - 1]) ** 2)
        gW[j - 1] = Zs[j - 1].T @ S + LAMBDA * Ws[j - 1]
        gb[j - 1] = S.T @ np.ones(N)
        gZ = S @ Ws[j - 1].T
    return gW, gb


def check(out: Outcome) -> dict[str, float]:
    arrays = list(out.arrays.values())
    X, Y, rest = arrays[0], arrays[1], arrays[2:]
    Ws, bs = rest[0::2], rest[1::2]
    gW, gb = paper_gradients(X, Y, Ws, bs)
    got = tnet.evaluate([e for _, e in out.results], out.arrays)
    errors = {f"∇_W{j} J vs Z_{j - 1}^T S_{j} + λW_{j}": max_error(got[j - 1], gW[j - 1]) for j in range(1, L + 1)}
    errors.update({f"∇_b{j} J vs S_{j}^T 1": max_error(got[L + j - 1], gb[j - 1]) for j in range(1, L + 1)})
    return errors


ENTRY = Entry(
    slug="sec6-2-multi-layer",
    section="6.2",
    title="Multi-layer net (regression, L = 4) with L2 regularization",
    formula="A_j = Z_{j-1} W_j + 1 b_j^T,  Z_j = f_j(A_j),  J = 1/(2N) (Z_L - Y)·(Z_L - Y) + ½λ Σ_k W_k·W_k;   "
    "∇_{Z_L} J = (Z_L - Y)/N,  S_j = ∇_{Z_j} J ⊙ f'_j(A_j),  ∇_{W_j} J = Z_{j-1}^T S_j + λW_j,  "
    "∇_{b_j} J = S_j^T 1,  ∇_{Z_j} J = S_{j+1} W_{j+1}^T",
    derive=derive,
    check=check,
    note="The pictures derive ∇_{W1} J, the longest chain. Each layer's activation tanh#k is drawn "
    "once and used by name; the dots are the fused (element-wise) products of the backward pass.",
    slow=True,
)
