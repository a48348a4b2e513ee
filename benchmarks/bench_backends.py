"""tnet.compile against each framework's own autodiff on the sec. 6.2 net (L = 4, tanh, all 8
gradients): medians of ratios measured side by side in one process, one thread.

    python benchmarks/bench_backends.py [--quick] [--only rows|joint|hessians] [--dask]

Rows: N, d. Columns: the numpy backend / hand-written numpy backprop, tnet.evaluate / the same,
the torch backend / torch.autograd.grad, jax.jit(the jax backend) / jax.jit(jax.grad). Then the
gradients simplified one at a time against simplified together (both compiled), and three
Hessians, each backend against the closed form in its own library and against
jax.jit(jax.hessian). Each timing sample is about 2 ms of calls, so that calls of a few µs are
timed above the clock's and the loop's noise.
`--dask` adds the MLP gradients over 2·10⁷ chunked rows on a LocalCluster with a memory limit,
with the peak memory the workers report. No GPU is measured here."""

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
    Z: tnet.Expr = X
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


def _number(f, seconds=0.002):
    """How many calls of f take about `seconds` (at least 1): one timing sample."""
    number, elapsed = timeit.Timer(f).autorange()
    return max(1, round(number * seconds / max(elapsed, 1e-9)))


def median_ratio(f, g, repeats):
    """The median over `repeats` rounds of time(f) / time(g), each the best of 3 samples of
    about 2 ms of calls, f and g measured alternately."""
    f(), g()
    nf, ng = _number(f), _number(g)
    ratios = []
    for _ in range(repeats):
        tf = min(timeit.repeat(f, number=nf, repeat=3)) / nf
        tg = min(timeit.repeat(g, number=ng, repeat=3)) / ng
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


def separate_vs_joint(N, d, repeats):
    J, params = net(d)
    env = arrays(N, d)
    separately = tnet.compile([tnet.simplify(g) for g in tnet.grad(J, params)])
    jointly = tnet.compile(tnet.simplify(tnet.grad(J, params)))
    return median_ratio(lambda: separately(env), lambda: jointly(env), repeats)


def hessians(n, repeats):
    """(name, ratios): each Hessian, tnet's numpy / torch / jax backends each against the
    closed form written in that backend's own library (jax's under jax.jit, as tnet's), then
    jax.jit(the jax backend) and the numpy backend against jax.jit(jax.hessian)."""
    rng = np.random.default_rng(1)
    x, A = tnet.Variable("x", n), tnet.Variable("A", n, n)
    Xd, w, y = tnet.Variable("X", 4 * n, n), tnet.Variable("w", n), tnet.Variable("y", 4 * n)
    Av, xv = rng.normal(size=(n, n)), rng.normal(size=n)
    Xv, yv, wv = rng.normal(size=(4 * n, n)), (rng.random(4 * n) < 0.5).astype(float), 0.1 * rng.normal(size=n)

    def quadratic_closed(lib, p):
        return p["A"] + p["A"].T

    def logistic_closed(lib, p):
        s = 1 / (1 + lib.exp(-(p["X"] @ p["w"])))
        return (p["X"].T * (s * (1 - s))) @ p["X"]

    def lse_closed(lib, p):
        z = p["A"] @ p["x"]
        q = lib.exp(z - z.max())
        q = q / q.sum()
        v = p["A"].T @ q
        return (p["A"].T * q) @ p["A"] - v[:, None] * v[None, :]

    cases = [
        ("x^T A x", x @ A @ x, x, {"x": xv, "A": Av}, quadratic_closed,
         lambda p: p["x"] @ p["A"] @ p["x"], "x"),
        ("logistic loss", tnet.logistic_loss(Xd @ w, y, reduction="sum"), w, {"X": Xv, "w": wv, "y": yv},
         logistic_closed, lambda p: jnp.sum(jnp.logaddexp(0.0, p["X"] @ p["w"]) - p["y"] * (p["X"] @ p["w"])), "w"),
        ("logsumexp(Ax)", tnet.logsumexp(A @ x), x, {"x": xv, "A": Av}, lse_closed,
         lambda p: jax.nn.logsumexp(p["A"] @ p["x"]), "x"),
    ]  # fmt: skip
    return [
        (name, hessian_ratios(f, var, env, closed, jf, wrt, repeats)) for name, f, var, env, closed, jf, wrt in cases
    ]


def hessian_ratios(f, var, env, closed, jf, wrt, repeats):
    H = tnet.simplify(tnet.hessian(f, var))
    c_np = tnet.compile(H)
    c_t = tnet.compile(H, "torch")
    c_j = tnet.compile(H, "jax")
    tenv = {k: torch.tensor(v) for k, v in env.items()}
    jenv = {k: jnp.asarray(v) for k, v in env.items()}
    assert np.allclose(c_np(env), closed(np, env))
    assert np.allclose(c_t(tenv).numpy(), closed(torch, tenv).numpy())
    j_ours = jax.jit(c_j.__call__)
    j_closed = jax.jit(lambda p: closed(jnp, p))
    assert np.allclose(j_ours(jenv), j_closed(jenv))
    others = {k: v for k, v in jenv.items() if k != wrt}
    j_hess = jax.jit(jax.hessian(lambda v, o: jf({**o, wrt: v})))

    def ours():
        return jax.block_until_ready(j_ours(jenv))

    def theirs():
        return jax.block_until_ready(j_hess(jenv[wrt], others))

    return (
        median_ratio(lambda: c_np(env), lambda: closed(np, env), repeats),
        median_ratio(lambda: c_t(tenv), lambda: closed(torch, tenv), repeats),
        median_ratio(ours, lambda: jax.block_until_ready(j_closed(jenv)), repeats),
        median_ratio(ours, theirs, repeats),
        median_ratio(lambda: c_np(env), theirs, repeats),
    )


def dask_run(N=20_000_000, d=8, chunk=500_000, limit=2**30):
    """The MLP gradients over N chunked rows on one LocalCluster worker limited to `limit`
    bytes; returns (seconds, peak bytes the worker reported, the data's bytes)."""
    import time

    import dask.array as da
    import distributed
    from distributed.diagnostics import MemorySampler

    J, params = net(d)
    compiled = tnet.compile(tnet.simplify(tnet.grad(J, params)), "dask")
    env = arrays(4, d)
    rng = da.random.default_rng(0)
    args = {k: da.from_array(v) for k, v in env.items() if k not in ("X", "Y")}
    args["X"] = rng.normal(size=(N, d), chunks=(chunk, d))
    args["Y"] = rng.normal(size=(N, d), chunks=(chunk, d))
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, memory_limit=limit, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        sampler = MemorySampler()
        start = time.perf_counter()
        with sampler.sample("run", client=client, interval=0.2):
            client.gather(client.compute(compiled(args)))
        seconds = time.perf_counter() - start
    return seconds, max(m for _, m in sampler.samples["run"]), 2 * N * d * 8


def main() -> None:
    quick = "--quick" in sys.argv
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None  # rows, joint or hessians
    repeats = 3 if quick else 7
    sizes = [(32, 32), (256, 256)] if quick else [(32, 32), (256, 256), (1024, 512)]
    if only in (None, "rows"):
        print(HEADER)
        print("|---|---|---|---|---|")
        for N, d in sizes:
            r = row(N, d, repeats)
            print(f"| {N}, {d} | " + " | ".join(f"{x:.2f}" for x in r) + " |", flush=True)
        print()
    if only in (None, "joint"):
        print("| N, d | simplified one at a time / simplified together (both compiled, numpy) |")
        print("|---|---|")
        for N, d in sizes[:2]:
            print(f"| {N}, {d} | {separate_vs_joint(N, d, repeats):.2f} |", flush=True)
        print()
    if only in (None, "hessians"):
        print(
            "| Hessian | numpy / numpy closed form | torch / torch closed form | jax / jax closed form "
            "| jax / jax.jit(jax.hessian) | numpy / jax.jit(jax.hessian) |"
        )
        print("|---|---|---|---|---|---|")
        for n in (64, 512):
            for name, r in hessians(n, repeats):
                print(f"| {name}, n = {n} | " + " | ".join(f"{x:.2f}" for x in r) + " |", flush=True)
    if "--dask" in sys.argv:
        seconds, peak, data = dask_run()
        print()
        print(
            f"dask: 2e7 rows x 8, X and Y {data / 2**30:.2f} GiB, one worker limited to 1 GiB: "
            f"{seconds:.0f} s, peak worker memory {peak / 2**20:.0f} MiB"
        )


if __name__ == "__main__":
    main()
