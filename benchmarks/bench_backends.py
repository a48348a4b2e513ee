"""tnet.compile against each framework's own autodiff on the sec. 6.2 net (L = 4, tanh, all 8
gradients): medians of ratios measured side by side in one process, one thread.

    python benchmarks/bench_backends.py [--quick]

Rows: N, d. Columns: the numpy backend / hand-written numpy backprop, tnet.evaluate / the same,
the torch backend / torch.autograd.grad, jax.jit(the jax backend) / jax.jit(jax.grad). No GPU is
measured here."""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS"):
    os.environ.setdefault(_var, "1" if _var != "XLA_FLAGS" else "--xla_cpu_multi_thread_eigen=false")

import statistics  # noqa: E402
import sys  # noqa: E402
import timeit  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import tnet  # noqa: E402

jax.config.update("jax_enable_x64", True)
torch.set_num_threads(1)
L = 4


def net(d):
    X, Y = tnet.Variable("X", "N", d), tnet.Variable("Y", "N", d)
    Ws = [tnet.Variable(f"W{j}", d, d) for j in range(1, L + 1)]
    bs = [tnet.Variable(f"b{j}", d) for j in range(1, L + 1)]
    Z = X
    for W, b in zip(Ws, bs):
        Z = tnet.tanh(Z @ W + b)
    J = 0.5 * tnet.sum((Z - Y) * (Z - Y))
    return J, Ws + bs


def arrays(N, d):
    rng = np.random.default_rng(0)
    env = {"X": rng.normal(size=(N, d)), "Y": rng.normal(size=(N, d))}
    for j in range(1, L + 1):
        env[f"W{j}"] = rng.normal(size=(d, d)) / np.sqrt(d)
        env[f"b{j}"] = 0.1 * rng.normal(size=d)
    return env


def numpy_backprop(X, Y, Ws, bs):
    Zs = [X]
    for W, b in zip(Ws, bs):
        Zs.append(np.tanh(Zs[-1] @ W + b))
    gW, gb = [None] * L, [None] * L
    gZ = Zs[L] - Y
    for j in range(L, 0, -1):
        S = gZ * (1 - Zs[j] ** 2)
        gW[j - 1] = Zs[j - 1].T @ S
        gb[j - 1] = S.sum(axis=0)
        gZ = S @ Ws[j - 1].T
    return gW + gb


def loss(Ws, bs, X, Y, lib):
    Z = X
    for W, b in zip(Ws, bs):
        Z = lib.tanh(Z @ W + b)
    return 0.5 * ((Z - Y) ** 2).sum()


def median_ratio(f, g, repeats):
    f(), g()
    ratios = []
    for _ in range(repeats):
        tf = min(timeit.repeat(f, number=3, repeat=3)) / 3
        tg = min(timeit.repeat(g, number=3, repeat=3)) / 3
        ratios.append(tf / tg)
    return statistics.median(ratios)


def row(N, d, repeats):
    J, params = net(d)
    grads = tnet.simplify(tnet.grad(J, params))
    env = arrays(N, d)
    Ws = [env[f"W{j}"] for j in range(1, L + 1)]
    bs = [env[f"b{j}"] for j in range(1, L + 1)]
    hand = lambda: numpy_backprop(env["X"], env["Y"], Ws, bs)  # noqa: E731
    c_np = tnet.compile(grads)
    r_np = median_ratio(lambda: c_np(env), hand, repeats)
    r_eval = median_ratio(lambda: tnet.evaluate(grads, env), hand, repeats)

    tenv = {k: torch.tensor(v) for k, v in env.items()}
    c_t = tnet.compile(grads, "torch")
    tparams = [tenv[f"W{j}"].clone().requires_grad_() for j in range(1, L + 1)]
    tparams += [tenv[f"b{j}"].clone().requires_grad_() for j in range(1, L + 1)]

    def autograd():
        return torch.autograd.grad(loss(tparams[:L], tparams[L:], tenv["X"], tenv["Y"], torch), tparams)

    r_torch = median_ratio(lambda: c_t(tenv), autograd, repeats)

    jenv = {k: jnp.asarray(v) for k, v in env.items()}
    c_j = jax.jit(tnet.compile(grads, "jax").__call__)
    names = [f"W{j}" for j in range(1, L + 1)] + [f"b{j}" for j in range(1, L + 1)]
    jgrad = jax.jit(jax.grad(lambda p, X, Y: loss(p[:L], p[L:], X, Y, jnp)))
    jp = [jenv[n] for n in names]

    def ours():
        return jax.block_until_ready(c_j(jenv))

    def theirs():
        return jax.block_until_ready(jgrad(jp, jenv["X"], jenv["Y"]))

    r_jax = median_ratio(ours, theirs, repeats)
    return r_np, r_eval, r_torch, r_jax


HEADER = (
    "| N, d | numpy backend / numpy backprop | tnet.evaluate / numpy backprop "
    "| torch backend / autograd | jax backend / jax.jit(grad) |"
)


def main() -> None:
    quick = "--quick" in sys.argv
    sizes = [(32, 32), (256, 256)] if quick else [(32, 32), (256, 256), (1024, 512)]
    print(HEADER)
    print("|---|---|---|---|---|")
    for N, d in sizes:
        r = row(N, d, 3 if quick else 7)
        print(f"| {N}, {d} | " + " | ".join(f"{x:.2f}" for x in r) + " |", flush=True)


if __name__ == "__main__":
    main()
