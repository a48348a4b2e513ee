"""Benchmark tnet.contract against numpy.einsum.

Run as a script: ``python benchmarks/bench_contract.py``.  For each network it prints

* the FLOPs tnet plans divided by the FLOPs of ``numpy.einsum_path(optimize="optimal")`` (both
  under numpy's counting convention, numpy's printed ``+ 1`` removed by replaying its path);
* the time of ``tnet.contract`` (plan cached, steady state) divided by the time of
  ``numpy.einsum(spec, *arrays, optimize="optimal")``, both measured in this process, best of
  several timeit repeats.

numpy's "optimal" search is factorial in the number of operands; where planning one network
takes numpy more than a second the row is compared with ``optimize="greedy"`` instead and says
so in the "numpy" column.  BLAS runs on one thread unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS
/ MKL_NUM_THREADS are set.
"""

from __future__ import annotations

import functools
import os
import statistics
import string
import time
import timeit

# One BLAS thread unless the caller says otherwise: on a shared machine a busy core stalls
# multi-threaded BLAS calls at random, which swamps the differences measured here.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import tnet  # noqa: E402
from tnet.contract import contract, numpy_path_flops, plan_contraction  # noqa: E402

Network = tuple[str, dict[str, int]]  # ("ij,jk->ik", sizes)


def numpy_flops(spec: str, sizes: dict[str, int], path: list) -> int:
    """numpy's FLOP count for `path`, replayed exactly (numpy prints it rounded and plus one)."""
    lhs, out = spec.split("->")
    return numpy_path_flops(lhs.split(","), out, sizes, path)


def best_times(fns: list, min_total: float = 0.1, rounds: int = 7) -> list[float]:
    """Seconds per call of each function: timeit loops of about `min_total` seconds, run in
    interleaved rounds (so a noisy neighbour slows all of them alike), best round kept."""
    timers = [timeit.Timer(fn) for fn in fns]
    numbers = []
    for timer in timers:
        number = 1
        while timer.timeit(number) < min_total / 10:
            number *= 4
        per_call = timer.timeit(number) / number
        numbers.append(max(1, int(min_total / max(per_call, 1e-9))))
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for k, (timer, number) in enumerate(zip(timers, numbers)):
            best[k] = min(best[k], timer.timeit(number) / number)
    return best


def random_network(seed: int, n: int) -> Network:
    """A seeded random hypergraph with `n` operands whose planned cost is moderate."""
    rng = np.random.default_rng(seed)
    pool = string.ascii_lowercase[: n + 3]
    while True:
        terms = []
        for _ in range(n):
            k = int(rng.integers(1, 4))
            terms.append("".join(rng.choice(list(pool), size=k, replace=False)))
        present = sorted(set("".join(terms)))
        out = "".join(e for e in present if rng.random() < 0.3)
        sizes = {e: int(rng.integers(6, 33)) for e in present}
        spec = ",".join(terms) + "->" + out
        plan = plan_contraction([tuple(t) for t in terms], tuple(out), sizes)
        if 2e6 <= plan.flops <= 1e8 and plan.naive_flops > 5 * plan.flops:
            return spec, sizes


def networks() -> list[tuple[str, Network]]:
    nets: list[tuple[str, Network]] = [
        ("matrix chain", ("ij,jk,kl,lm->im", dict(i=100, j=400, k=60, l=400, m=100))),
        ("a^T X X^T a", ("i,ij,kj,k->", dict(i=600, j=800, k=600))),
        ("bilinear form", ("i,ij,j->", dict(i=1000, j=1200))),
        ("bilinear batch", ("ni,ij,nj->n", dict(n=256, i=256, j=256))),
        ("MLP hadamard", ("na,ab,nb,bc,nc->nc", dict(n=256, a=128, b=256, c=128))),
        ("RNN-ish", ("na,ah,nh,hk,nk,ko,no->no", dict(n=128, a=96, h=192, k=192, o=64))),
        ("trace chain 4", ("ab,bc,cd,da->", dict(a=150, b=150, c=150, d=150))),
        ("star hyperedge", ("ia,ib,ic,abc->i", dict(i=256, a=24, b=24, c=24))),
        ("chain 8", ("ab,bc,cd,de,ef,fg,gh,hi->ai", dict(zip("abcdefghi", [80, 120] * 4 + [80])))),
        (
            "chain 10",
            ("ab,bc,cd,de,ef,fg,gh,hi,ij,jk->ak", dict(zip("abcdefghijk", [80, 120] * 5 + [80]))),
        ),
    ]
    for n, seed in ((3, 1), (4, 2), (5, 3), (6, 4), (7, 5), (8, 6), (9, 7), (10, 8)):
        nets.append((f"random {n} (seed {seed})", random_network(seed, n)))
    return nets


def main() -> None:
    rng = np.random.default_rng(0)
    rows = []
    ratios = []
    header = (
        "network",
        "ops",
        "numpy",
        "FLOPs tnet/np",
        "tnet/np nolimit",
        "tnet ms",
        "numpy ms",
        "time tnet/np",
        "evaluate/np",
    )
    evaluate_ratios = []
    for name, (spec, sizes) in networks():
        lhs, out = spec.split("->")
        terms = lhs.split(",")
        arrays = [rng.standard_normal([sizes[e] for e in t]) for t in terms]
        inputs = [tuple(t) for t in terms]
        start = time.perf_counter()
        path, _ = np.einsum_path(spec, *arrays, optimize="optimal") if len(terms) <= 8 else (None, "")
        kind = "optimal"
        if path is None or time.perf_counter() - start > 1.0:
            kind = "greedy"
            path, _ = np.einsum_path(spec, *arrays, optimize="greedy")
        plan = plan_contraction(inputs, tuple(out), sizes)
        theirs = numpy_flops(spec, sizes, path)
        unlimited = "-"
        if len(terms) <= 7:  # numpy's optimal search without its memory limit: slow beyond 7
            free_path, _ = np.einsum_path(spec, *arrays, optimize=("optimal", 10**30))
            unlimited = f"{plan.flops / numpy_flops(spec, sizes, free_path):.2f}"
        ours = contract(inputs, tuple(out), sizes, arrays)
        ref = np.einsum(spec, *arrays, optimize=kind)
        assert np.allclose(ours, ref, rtol=1e-9, atol=1e-9 * float(np.abs(ref).max() or 1))
        output = tuple(out)
        # the same network built as a tnet expression and run through tnet.evaluate
        variables = [tnet.Variable(f"T{k}", *a.shape) for k, a in enumerate(arrays)]
        expr = tnet.einsum(spec, *variables)
        bindings = {v.name: a for v, a in zip(variables, arrays)}
        assert np.allclose(tnet.evaluate(expr, bindings), ref, rtol=1e-9, atol=1e-9 * float(np.abs(ref).max() or 1))
        t_ours, t_np, t_eval = best_times(
            [
                functools.partial(contract, inputs, output, sizes, arrays),
                functools.partial(np.einsum, spec, *arrays, optimize=kind),
                functools.partial(tnet.evaluate, expr, bindings),
            ]
        )
        ratios.append(t_ours / t_np)
        evaluate_ratios.append(t_eval / t_np)
        rows.append(
            (
                name,
                str(len(terms)),
                kind,
                f"{plan.flops / theirs:.2f}",
                unlimited,
                f"{t_ours * 1e3:.3f}",
                f"{t_np * 1e3:.3f}",
                f"{t_ours / t_np:.2f}",
                f"{t_eval / t_np:.2f}",
            )
        )
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(v.ljust(w) if c == 0 else v.rjust(w) for c, (v, w) in enumerate(zip(r, widths))))
    print(f"\nmedian time ratio tnet/numpy: {statistics.median(ratios):.2f} (contract.py alone)")
    whole = statistics.median(evaluate_ratios)
    print(f"median time ratio tnet.evaluate/numpy: {whole:.2f} (the whole expression path)")
    print(
        "FLOP ratios below 1: numpy's 'optimal' keeps intermediates within the largest input/output\n"
        "(its default memory limit; the 'nolimit' column lifts it, up to 7 operands) and cannot sum an\n"
        "operand's private edges before its first pairwise step; tnet has neither restriction."
    )


if __name__ == "__main__":
    main()
