"""Benchmarks for differentiation, simplification and evaluation. Prints tables; asserts nothing.

1. Derive + simplify the gradients for all parameters of the sec. 6.2 network (tanh, L2 term)
   with L = 1, 2, 4, 8, 16, 32 layers, printed with the ratio t(L) / t(4).
   Targets: L = 16 under 2 s on a 2-core machine, and t(16) / t(4) at most 8.
   For scale: a published symbolic tensor library, measured on the same kind of machine with the
   same net, took 3.2 s at L = 4 and 24 s at L = 6.
2. The same for the sec. 6.4 RNN with tau = 1, 2, 4, 8, 16, 32 steps (gradients of W, U, b, V, c
   and Z_0), with the ratio t(tau) / t(4).
3. Evaluation: all 2L parameter gradients of the sec. 6.2 net (N = 256, width 256, L = 4)
   evaluated together by `tnet.evaluate(list)`, against hand-written numpy backprop (the paper's
   final formulas), best-of-n timings side by side in this process. Target: at most 2x. Also
   each gradient evaluated on its own (nothing shared between them), to show that sharing
   sub-expressions is what brings the cost down to that of backprop.

Run: python benchmarks/bench_diff.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import time

import numpy as np

import tnet
from tnet.expr import walk

_tag = itertools.count()


# ---------------------------------------------------------------------------------------------
# the two models (fresh variable names on every build, so hash-consing reuses nothing between
# repetitions)
# ---------------------------------------------------------------------------------------------
def mlp_loss(L, width=8, N="N", lam=0.1):
    """Sec. 6.2: Z_0 = X, A_j = Z_{j-1} W_j + 1 b_j^T, Z_j = tanh(A_j),
    J = 1/(2N) (Z_L - Y) · (Z_L - Y) + λ/2 Σ_k W_k · W_k. Returns J, [W_1..W_L, b_1..b_L]."""
    t = next(_tag)
    X = tnet.Variable(f"X_{t}", N, width)
    Y = tnet.Variable(f"Y_{t}", N, width)
    Ws = [tnet.Variable(f"W{j}_{t}", width, width) for j in range(1, L + 1)]
    bs = [tnet.Variable(f"b{j}_{t}", width) for j in range(1, L + 1)]
    Z: tnet.Expr = X
    for W, b in zip(Ws, bs):
        Z = tnet.tanh(Z @ W + b)
    D = Z - Y
    n = N if isinstance(N, int) else 1
    J = (1 / (2 * n)) * tnet.cdot_k(D, D, 2)
    for W in Ws:
        J = J + 0.5 * lam * tnet.cdot_k(W, W, 2)
    return J, Ws + bs, (X, Y)


def rnn_loss(tau, N="N", d=8, h=8, k=8):
    """Sec. 6.4: A_t = Z_{t-1} W + X_t U + 1 b^T, Z_t = tanh(A_t), O_t = Z_t V + 1 c^T,
    J = Σ_t -(1/N) ln(s^1(O_t)) · Y_t. Returns J, [W, U, b, V, c, Z_0]."""
    t = next(_tag)
    W, U, V = tnet.Variable(f"W_{t}", h, h), tnet.Variable(f"U_{t}", d, h), tnet.Variable(f"V_{t}", h, k)
    b, c = tnet.Variable(f"b_{t}", h), tnet.Variable(f"c_{t}", k)
    Z0 = tnet.Variable(f"Z0_{t}", N, h)
    Z: tnet.Expr = Z0
    J: tnet.Expr | None = None
    for s in range(1, tau + 1):
        Xs, Ys = tnet.Variable(f"X{s}_{t}", N, d), tnet.Variable(f"Y{s}_{t}", N, k)
        Z = tnet.tanh(Z @ W + Xs @ U + b)
        O = Z @ V + c
        Js = -1.0 * tnet.cdot_k(tnet.log(tnet.softmax(O)), Ys, 2)
        J = Js if J is None else J + Js
    return J, [W, U, b, V, c, Z0]


# ---------------------------------------------------------------------------------------------
# timing helpers
# ---------------------------------------------------------------------------------------------
def best_of(fns, repeat, min_time=0.0):
    """Smallest wall time of each of fns over `repeat` rounds (and at least min_time spent).

    The functions run interleaved, one after the other in every round, so that a load that
    comes and goes on the machine affects them alike and their ratios stay meaningful."""
    best = [float("inf")] * len(fns)
    spent, rounds = 0.0, 0
    while rounds < repeat or spent < min_time:
        for k, fn in enumerate(fns):
            gc.collect()
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            best[k] = min(best[k], dt)
            spent += dt
        rounds += 1
    return best


def time_derivation(build, size, repeat):
    """Best-of-repeat time of grad(J, params) (derive + simplify) on a freshly built model, and
    the number of distinct sub-expressions of the simplified gradients."""
    best, nodes = float("inf"), 0
    for _ in range(repeat):
        J, params = build(size)[:2]
        gc.collect()
        t0 = time.perf_counter()
        grads = tnet.grad(J, params)
        dt = time.perf_counter() - t0
        best = min(best, dt)
        nodes = len(walk(grads))
        del J, params, grads
    return best, nodes


def derivation_table(title, label, build, sizes, repeat, ref=4):
    print(f"\n{title}")
    print(f"{label:>5} | {'derive+simplify (s)':>20} | {'t / t(' + str(ref) + ')':>10} | {'DAG nodes':>9}")
    print("-" * 56)
    times = {}
    rows = []
    for s in sizes:
        t, n = time_derivation(build, s, repeat if s <= 16 else max(1, repeat // 2))
        times[s] = t
        rows.append((s, t, n))
    for s, t, n in rows:
        ratio = t / times[ref] if ref in times else float("nan")
        print(f"{s:>5} | {t:>20.4f} | {ratio:>10.2f} | {n:>9}")
    return times


# ---------------------------------------------------------------------------------------------
# evaluation against numpy backprop
# ---------------------------------------------------------------------------------------------
def numpy_backprop(v, L, N, lam):
    """The paper's final formulas of sec. 6.2: all ∇W_j and ∇b_j."""
    Zs = [v["X"]]
    for j in range(1, L + 1):
        Zs.append(np.tanh(Zs[-1] @ v[f"W{j}"] + v[f"b{j}"]))
    gW, gb = [None] * L, [None] * L
    G = (Zs[L] - v["Y"]) / N  # ∇Z_L J
    for j in range(L, 0, -1):
        S = G * (1 - Zs[j] ** 2)
        gW[j - 1] = Zs[j - 1].T @ S + lam * v[f"W{j}"]
        gb[j - 1] = S.T @ np.ones(N)
        if j > 1:
            G = S @ v[f"W{j}"].T
    return gW + gb


def evaluation_table(N=256, width=256, L=4, lam=0.1, repeat=20):
    J, params, (X, Y) = mlp_loss(L, width=width, N=N, lam=lam)
    grads = tnet.grad(J, params)
    rng = np.random.default_rng(0)
    v = {X.name: rng.normal(size=(N, width)), Y.name: rng.normal(size=(N, width))}
    vn = {"X": v[X.name], "Y": v[Y.name]}
    for j in range(1, L + 1):
        W = rng.normal(size=(width, width)) / np.sqrt(width)
        b = 0.1 * rng.normal(size=width)
        v[params[j - 1].name], v[params[L + j - 1].name] = W, b
        vn[f"W{j}"], vn[f"b{j}"] = W, b

    # correctness first; this first call also plans every contraction (plans are cached). numpy
    # runs once before it, so that starting BLAS's threads is not counted against tnet.
    want = numpy_backprop(vn, L, N, lam)
    t0 = time.perf_counter()
    got = tnet.evaluate(grads, v)
    first = time.perf_counter() - t0
    err = max(float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b))))) for a, b in zip(got, want))
    t_np, t_tn, t_np_fw, t_fw = best_of(
        [
            lambda: numpy_backprop(vn, L, N, lam),
            lambda: tnet.evaluate(grads, v),
            lambda: _numpy_forward_loss(vn, L, N, lam),
            lambda: tnet.evaluate(J, v),
        ],
        repeat,
        min_time=1.0,
    )
    t_np2, t_sep = best_of(
        [lambda: numpy_backprop(vn, L, N, lam), lambda: [tnet.evaluate(g, v) for g in grads]],
        max(3, repeat // 4),
    )
    t_np = min(t_np, t_np2)

    print(
        f"\n3. Evaluating all {2 * L} parameter gradients of the sec. 6.2 net (N={N}, width={width}, L={L}), "
        f"best of >= {repeat}, interleaved"
    )
    print(f"{'what':<58} | {'time (ms)':>10} | {'/ numpy backprop':>16}")
    print("-" * 92)
    rows = [
        ("numpy backprop (paper's final formulas)", t_np),
        ("tnet.evaluate(all gradients together)", t_tn),
        ("tnet.evaluate(all gradients together), first call (plans)", first),
        ("tnet.evaluate(each gradient separately), summed", t_sep),
        ("numpy forward pass (loss only)", t_np_fw),
        ("tnet.evaluate(loss only)", t_fw),
    ]
    for name, t in rows:
        print(f"{name:<58} | {1e3 * t:>10.2f} | {t / t_np:>16.2f}")
    print(f"max relative difference tnet vs numpy: {err:.2e}")
    return t_tn / t_np, t_sep / t_np


def _numpy_forward_loss(v, L, N, lam):
    Z = v["X"]
    for j in range(1, L + 1):
        Z = np.tanh(Z @ v[f"W{j}"] + v[f"b{j}"])
    D = Z - v["Y"]
    return np.sum(D * D) / (2 * N) + 0.5 * lam * sum(np.sum(v[f"W{j}"] ** 2) for j in range(1, L + 1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    repeat = 2 if args.quick else 5
    print(f"tnet derivation and evaluation benchmarks; numpy {np.__version__}, {os.cpu_count()} CPUs")

    mlp = derivation_table(
        "1. Derive + simplify all parameter gradients of the sec. 6.2 net (tanh, L2), tnet.grad(J, [W.., b..])",
        "L",
        lambda L: mlp_loss(L),
        [1, 2, 4, 8, 16, 32],
        repeat,
    )
    print(
        f"   targets: t(16) = {mlp[16]:.3f} s (< 2 s: {'yes' if mlp[16] < 2 else 'NO'}); "
        f"t(16)/t(4) = {mlp[16] / mlp[4]:.2f} (<= 8: {'yes' if mlp[16] / mlp[4] <= 8 else 'NO'})"
    )
    print(
        "   for scale: a published symbolic tensor library took 3.2 s at L = 4 and 24 s at L = 6 "
        f"(tnet: {mlp[4]:.3f} s at L = 4, {3.2 / mlp[4]:.0f}x less)"
    )

    rnn = derivation_table(
        "2. Derive + simplify the gradients of W, U, b, V, c, Z_0 of the sec. 6.4 RNN, tnet.grad(J, [...])",
        "tau",
        lambda tau: rnn_loss(tau),
        [1, 2, 4, 8, 16, 32],
        repeat,
    )
    print(f"   t(16)/t(4) = {rnn[16] / rnn[4]:.2f}, t(32)/t(16) = {rnn[32] / rnn[16]:.2f}")

    together, separate = evaluation_table(repeat=8 if args.quick else 20)
    print(
        f"   target: together / numpy <= 2: {'yes' if together <= 2 else 'NO'} ({together:.2f}); "
        f"without sharing it would be {separate:.2f}x"
    )


if __name__ == "__main__":
    main()
