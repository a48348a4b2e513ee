"""Scale benchmarks (issue 12). Prints tables; asserts nothing.

1. Derivation of all gradients (derive + simplify, `tnet.grad(J, params)`) of the sec. 6.2 MLP
   (L layers) and the sec. 6.4 RNN (tau steps) at 64, 128, 256 and 512, each run in a fresh
   Python process (so that no run inherits another's interned expressions), median of the runs,
   in CPU seconds. `--before DIR` times another checkout of tnet alongside (e.g. an older
   commit, extracted with `git archive`).
   Targets: MLP L = 512 under 1 s, RNN tau = 512 under 2 s, t(512) / t(256) <= 2.3 for both.
   The ratio is also measured over back-to-back pairs of runs (median of 9 pairs), and the
   time per layer (step) at 128, 256, 512 and 1024, which is flat when the work is linear.
2. Contraction planning on random 3-regular graphs and random hypergraphs of 20, 40, 80 and
   200 operands (8 seeds each, edge sizes 8..64): FLOPs of tnet's plan (planner="auto")
   divided by those of opt_einsum's `auto-hq` path, both counted by tnet's cost model (the
   auto-hq path is turned into a tnet plan), and the planning times, side by side in this
   process. Targets: median ratio <= 1.1, worst <= 2, planning time no more than auto-hq's;
   at 200 operands a plan within the time budget given (planner="auto", time_budget=1 s).

3. Printing and drawing (`--only print`): the text of the first gradient of the MLP and the
   RNN at 100, 200 and 400 layers (steps) in each notation and in DOT, in characters and CPU
   seconds: linear in the size when the printers write shared sub-expressions once.
4. `--instructions`: t(512) / t(256) of the derivation counted in machine instructions by
   valgrind's callgrind, which gives the same count on every run: the ratio of the work done,
   free of the machine's noise (the times above vary by up to 1.7x between processes).

Run: python benchmarks/bench_scale.py [--quick] [--only derive|plan|print] [--before DIR] [--instructions]
     [--hash-seeds 1,2,3] (the planning table in one fresh process per PYTHONHASHSEED value)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import networkx as nx
import numpy as np
import opt_einsum

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from bench_diff import mlp_loss, rnn_loss  # noqa: E402

import tnet  # noqa: E402
from tnet import contract, orders  # noqa: E402
from tnet.notation.mathml_out import to_mathml  # noqa: E402
from tnet.render import to_dot  # noqa: E402

# ---------------------------------------------------------------------------------------------
# 1. derivation, one fresh process per run
# ---------------------------------------------------------------------------------------------
_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
sys.path.insert(0, {here!r})
from bench_diff import mlp_loss, rnn_loss
import tnet
J, params = ({kind}_loss)({size})[:2]
t0 = time.process_time()
if {derive}:
    tnet.grad(J, params)
print(time.process_time() - t0)
"""


def derivation_time(kind: str, size: int, root: str) -> float:
    """CPU seconds of grad(J, params) in a fresh process importing tnet from the checkout
    `root` (CPU time, not wall time: on a shared machine the wall time mostly measures the
    other processes)."""
    out = subprocess.run([sys.executable, "-c", _child(kind, size, root)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _child(kind: str, size: int, root: str, derive: bool = True) -> str:
    return _CHILD.format(here=os.path.join(root, "benchmarks"), root=root, kind=kind, size=size, derive=derive)


def instruction_ratios(kinds: tuple[str, ...] = ("mlp", "rnn")) -> None:
    """t(512) / t(256) in machine instructions rather than seconds: valgrind's callgrind counts
    the instructions of a process, the same count on every run whatever else the machine does.
    The derivation's count is that of a process that builds the loss and derives it, less that
    of one that only builds it (the two run side by side, under valgrind about 60x slower)."""
    print("\nDerivation in instructions (valgrind --tool=callgrind), millions")
    counts: dict[tuple[str, int], int] = {}
    for kind in kinds:
        for size in (256, 512):
            procs = [
                subprocess.Popen(
                    [
                        "valgrind",
                        "--tool=callgrind",
                        f"--callgrind-out-file={os.devnull}",
                        sys.executable,
                        "-c",
                        _child(kind, size, os.path.join(HERE, ".."), derive),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for derive in (True, False)
            ]
            total, build = (_collected(p.communicate()[1]) for p in procs)
            counts[kind, size] = total - build
            print(
                f"{kind} {size}: {counts[kind, size] / 1e6:,.0f}"
                f" (build and derive {total / 1e6:,.0f}, build {build / 1e6:,.0f})"
            )
        print(f"{kind}: t(512) / t(256) in instructions = {counts[kind, 512] / counts[kind, 256]:.3f}")


def _collected(stderr: str) -> int:
    for line in stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1])
    raise RuntimeError("valgrind printed no instruction count:\n" + stderr[-2000:])


def derivation_table(sizes: list[int], runs: int, before: str | None) -> None:
    """Derivation times; with `before` (another checkout of tnet, e.g. an older commit), its
    times too, interleaved size by size so that the machine's load affects both alike."""
    print("\nDerivation of all gradients (derive + simplify), CPU seconds, one process per run, median of", runs)
    roots = {"now": os.path.join(HERE, "..")} | ({"before": before} if before else {})
    print(" size | " + " | ".join(f"{kind} {name:>6} (s)" for name in roots for kind in ("MLP", "RNN")))
    times: dict[tuple[str, int], float] = {}
    for s in sizes:
        row = []
        for name, root in roots.items():
            for kind in ("mlp", "rnn"):
                runs_ = [derivation_time(kind, s, root) for _ in range(runs)]
                row.append(statistics.median(runs_))
                if name == "now":
                    times[kind, s] = row[-1]
        print(f"{s:>5} | " + " | ".join(f"{t:>14.3f}" for t in row))
    if 256 in sizes and 512 in sizes:
        for kind in ("mlp", "rnn"):
            print(f"{kind}: t(512) / t(256) = {times[kind, 512] / times[kind, 256]:.2f} (from the medians)")


def paired_ratios(kind: str, pairs: int) -> list[float]:
    """t(512) / t(256) of `pairs` pairs of runs, each pair a 256 run then a 512 run, back to
    back: a slow spell of the machine then touches both sides of a ratio alike."""
    root = os.path.join(HERE, "..")
    return [derivation_time(kind, 512, root) / derivation_time(kind, 256, root) for _ in range(pairs)]


def linearity(kind: str, sizes: list[int], runs: int) -> None:
    """Milliseconds per layer (MLP) or per step (RNN) at each size: flat when the derivation is
    linear."""
    root = os.path.join(HERE, "..")
    per = [1000 * statistics.median(derivation_time(kind, s, root) for _ in range(runs)) / s for s in sizes]
    print(f"{kind}: ms per layer/step at " + ", ".join(f"{s}: {p:.2f}" for s, p in zip(sizes, per)))


def printing_table(sizes: list[int]) -> None:
    """Characters and CPU seconds of each printed form of the first gradient (W_1 of the MLP,
    W of the RNN): linear in the size when every shared sub-expression is written once."""
    forms: dict[str, Callable[[tnet.Expr], str]] = {
        "to_bracket": lambda g: g.to_bracket(),
        "to_latex": lambda g: g.to_latex(),
        "to_matrix": lambda g: g.to_matrix(),
        "to_mathml": lambda g: to_mathml(g),
        "DOT": lambda g: to_dot(g).source,
    }
    print("\nPrinting the first gradient: thousands of characters / CPU seconds")
    print(f"{'net':<4} {'size':>5} | " + " | ".join(f"{name:>16}" for name in forms))
    for kind in ("mlp", "rnn"):
        for size in sizes:
            J, params = (mlp_loss if kind == "mlp" else rnn_loss)(size)[:2]
            g = tnet.grad(J, params[0])
            cells = []
            for form in forms.values():
                t0 = time.process_time()
                text = form(g)
                cells.append(f"{len(text) / 1000:>8,.0f}k {time.process_time() - t0:5.2f}s")
            print(f"{kind:<4} {size:>5} | " + " | ".join(cells))


# ---------------------------------------------------------------------------------------------
# 2. planning
# ---------------------------------------------------------------------------------------------
def regular_graph(n: int, seed: int) -> tuple[list[tuple[int, ...]], tuple[int, ...], dict[int, int]]:
    """A random 3-regular graph: one operand per vertex, one summed edge per graph edge."""
    rng = np.random.default_rng(seed)
    g = nx.random_regular_graph(3, n, seed=seed)
    inputs: list[list[int]] = [[] for _ in range(n)]
    sizes = {}
    for k, (u, v) in enumerate(g.edges()):
        inputs[u].append(k)
        inputs[v].append(k)
        sizes[k] = int(rng.integers(8, 65))
    return [tuple(x) for x in inputs], (), sizes


def hypergraph(n: int, seed: int) -> tuple[list[tuple[int, ...]], tuple[int, ...], dict[int, int]]:
    """A random hypergraph: n operands of 2 to 4 edges drawn from n edges, so that an edge joins
    about 3 operands (2 to 6 on average); two edges are output edges; sizes 8..64."""
    rng = np.random.default_rng(seed)
    n_edges = n
    inputs = [tuple(int(e) for e in rng.choice(n_edges, size=int(rng.integers(2, 5)), replace=False)) for _ in range(n)]
    used = sorted({e for x in inputs for e in x})
    sizes = {e: int(rng.integers(8, 65)) for e in used}
    output = tuple(int(e) for e in rng.choice(used, size=2, replace=False))
    return inputs, output, sizes


def autohq_flops(inputs: list[tuple[int, ...]], output: tuple[int, ...], sizes: dict[int, int]) -> tuple[int, float]:
    """opt_einsum's auto-hq path, timed, counted by tnet's cost model."""
    letters = {e: opt_einsum.get_symbol(k) for k, e in enumerate(sizes)}
    eq = ",".join("".join(letters[e] for e in x) for x in inputs) + "->" + "".join(letters[e] for e in output)
    shapes = [tuple(sizes[e] for e in x) for x in inputs]
    t0 = time.perf_counter()
    path, _ = opt_einsum.contract_path(eq, *shapes, shapes=True, optimize="auto-hq")
    dt = time.perf_counter() - t0
    net = orders.MaskedNetwork(tuple(inputs), tuple(output), sizes)
    return contract._make_plan(net, orders.path_tree(len(inputs), path)).flops, dt


def planning_table(ns: list[int], seeds: int, big: int, budget: float) -> None:
    print(f"\nPlanning: tnet planner='auto' vs opt_einsum auto-hq, {seeds} seeds, sizes 8..64")
    head = "tnet / auto-hq FLOPs, median [min..max]"
    print(f"{'family':<24} | {'ops':>4} | {head:<40} | planning time tnet / auto-hq (median)")
    print("-" * 110)
    for name, family in (("random 3-regular graph", regular_graph), ("random hypergraph", hypergraph)):
        for n in ns:
            ratios, t_tnet, t_hq = [], [], []
            for seed in range(seeds):
                inputs, output, sizes = family(n, seed)
                t0 = time.perf_counter()
                plan = contract.plan_contraction(inputs, output, sizes)
                t_tnet.append(time.perf_counter() - t0)
                ref, dt = autohq_flops(inputs, output, sizes)
                t_hq.append(dt)
                ratios.append(plan.flops / ref if ref else 1.0)
            spread = f"{statistics.median(ratios):.3f} [{min(ratios):.3f}..{max(ratios):.3f}]"
            times = f"{1e3 * statistics.median(t_tnet):.0f} ms / {1e3 * statistics.median(t_hq):.0f} ms"
            print(f"{name:<24} | {n:>4} | {spread:<40} | {times}")
        inputs, output, sizes = family(big, 0)
        t0 = time.perf_counter()
        plan = contract.plan_contraction(inputs, output, sizes, time_budget=budget)
        dt = time.perf_counter() - t0
        ref, dt_hq = autohq_flops(inputs, output, sizes)
        print(
            f"{name:<24} | {big:>4} | time_budget={budget} s: planned in {dt:.2f} s, FLOPs ratio {plan.flops / ref:.3f}"
            f" (auto-hq {dt_hq:.2f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer runs and seeds")
    parser.add_argument("--only", choices=["derive", "plan", "print"])
    parser.add_argument("--before", help="another tnet checkout to time derivation against")
    parser.add_argument(
        "--instructions", action="store_true", help="only t(512) / t(256) in instructions, with valgrind (minutes)"
    )
    parser.add_argument(
        "--hash-seeds",
        help="comma-separated PYTHONHASHSEED values: the planning table once per value, each in a fresh "
        "process (auto-hq's paths depend on Python's string hashing; tnet's must not)",
    )
    args = parser.parse_args()
    if args.instructions:
        instruction_ratios()
        return
    if args.hash_seeds:
        for value in args.hash_seeds.split(","):
            print(f"\n== PYTHONHASHSEED={value}", flush=True)
            quick = ["--quick"] if args.quick else []
            command = [sys.executable, os.path.abspath(__file__), "--only", "plan", *quick]
            subprocess.run(command, env={**os.environ, "PYTHONHASHSEED": value}, check=True)
        return
    if args.only in (None, "print"):
        printing_table([100, 200, 400])
    if args.only not in ("plan", "print"):
        derivation_table([64, 128, 256, 512], 1 if args.quick else 5, args.before)
        for kind in ("mlp", "rnn"):
            ratios = paired_ratios(kind, 3 if args.quick else 11)
            print(
                f"{kind}: t(512) / t(256) over back-to-back pairs: median {statistics.median(ratios):.2f} "
                f"[{min(ratios):.2f}..{max(ratios):.2f}]"
            )
            linearity(kind, [128, 256, 512, 1024], 1 if args.quick else 3)
    if args.only in (None, "plan"):
        contract.clear_cache()
        planning_table([20, 40, 80], 2 if args.quick else 8, 200, 1.0)


if __name__ == "__main__":
    main()
