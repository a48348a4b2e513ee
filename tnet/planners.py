"""Contraction orders for large networks, found by the field's own path optimizers.

tnet searches the order of small networks itself (contract.py: exhaustive, optimal up to about
8 operands). Beyond that this module asks well-kept libraries through their public APIs:

* opt_einsum (a core dependency): ``DynamicProgramming`` (an optimal order for up to
  `DP_LIMIT` operands) and ``RandomGreedy`` (greedy orders whose choices are drawn at a
  temperature, each trial seeded by its number). "auto" runs several random-greedy searches
  with different heuristics and temperatures (`GREEDY_SEARCHES`) and hands all their best
  paths to contract.py, which improves each by subtree reconfiguration and keeps the cheapest.
  The edges are given to opt_einsum as integers: the searches visit sets of edges in hash
  order, and the hash of an integer, unlike a string's, is the same in every process, so
  without a time budget the paths (and so the plans) are the same in every run;
* cotengra (the optional extra ``tnet-calculus[hyper]``): ``HyperOptimizer``, which tunes the
  greedy and partitioning contraction-tree builders of very large networks within a time budget.

A network is given as contract.py holds it: one tuple of edge numbers per operand (an edge may
join any number of operands, a hyperedge; it may repeat inside one operand), the output edges
and each edge's size. The libraries see each operand's set of edges and the output set, which
is all a path search needs: diagonals and private edges are handled by tnet's own leaf steps,
and a hyperedge stays open until no remaining operand and not the output needs it, which is
how both libraries treat an index held by several inputs. What comes back is a path in
opt_einsum's format (positions in the shrinking list of operands, each contraction appended
at the end); contract.py turns it into its own plan, so plans print the same whoever found it.
Both libraries seed Python's global `random` generator; its state is restored afterwards.
"""

from __future__ import annotations

import contextlib
import importlib
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any

import opt_einsum

from .errors import ContractionError

#: the planners a user may name: "auto" picks by size and time budget (below), "optimal" an
#: optimal order at any size (exponential time), "greedy" the fastest search, "hyper" cotengra
PLANNERS = ("auto", "optimal", "greedy", "hyper")

#: up to this many operands "auto" uses opt_einsum's dynamic programming (optimal, fast enough)
DP_LIMIT = 14

#: greedy trials of "auto" beyond DP_LIMIT when no time budget is given (all searches together)
RANDOM_GREEDY_TRIALS = 12

#: the random-greedy searches of "auto" beyond DP_LIMIT: (alpha, temperature) of each, alpha
#: weighting the operands' sizes in the greedy score (`_size_change`), the temperature how far
#: a trial strays from the greedy choice (opt_einsum's ``RandomGreedy``)
GREEDY_SEARCHES: tuple[tuple[float, float], ...] = ((1.0, 1.0), (1.0, 0.1), (0.5, 0.3), (1.5, 0.3))

Path = list[tuple[int, ...]]


def check_planner(planner: Any, time_budget: Any) -> None:
    """A clear error for an unknown planner or a time budget that is not a positive number."""
    if planner not in PLANNERS:
        raise ContractionError(f"unknown planner {planner!r}; expected one of {', '.join(map(repr, PLANNERS))}")
    if time_budget is not None:
        if isinstance(time_budget, bool) or not isinstance(time_budget, (int, float)) or not time_budget > 0:
            raise ContractionError(f"time_budget must be a positive number of seconds or None, got {time_budget!r}")


def library_path(
    inputs: Sequence[Sequence[int]],
    output: Sequence[int],
    sizes: Sequence[int],
    planner: str,
    time_budget: float | None,
) -> Path:
    """A pairwise contraction path of the network from opt_einsum or cotengra.

    `inputs` holds each operand's edge numbers, `output` the output's, `sizes[e]` edge e's
    size. "optimal" is opt_einsum's dynamic programming at any size; "greedy" one greedy order;
    "auto" the first of `auto_paths`; "hyper" cotengra's hyper-optimizer (within `time_budget`,
    1 s when none is given)."""
    if planner == "auto":
        return auto_paths(inputs, output, sizes, time_budget)[0]
    if planner == "hyper":
        with _own_random_state():
            return _hyper_path(*_edge_sets(inputs, output, sizes, opt_einsum.get_symbol), time_budget)
    optimizer: Any
    if planner == "optimal":
        optimizer = opt_einsum.DynamicProgramming(minimize="flops", search_outer=True)
    else:
        optimizer = opt_einsum.paths.get_path_fn("greedy")
    return _run(optimizer, inputs, output, sizes)


def auto_paths(
    inputs: Sequence[Sequence[int]],
    output: Sequence[int],
    sizes: Sequence[int],
    time_budget: float | None,
) -> list[Path]:
    """The paths "auto" starts from: opt_einsum's dynamic programming (one optimal path) up to
    `DP_LIMIT` operands; beyond, the best path of each random-greedy search of `GREEDY_SEARCHES`
    (`RANDOM_GREEDY_TRIALS` trials in all; with a `time_budget`, as many as it allows, each
    search given an equal share of the time left when its turn comes, and the searches whose
    turn comes after the budget is spent skipped: a trial is never cut short, so a budget
    smaller than one trial still runs one), cheapest first by opt_einsum's count. Several
    searches with different heuristics and temperatures give starting points of different
    shapes, which tnet's subtree reconfiguration (contract.py) then improves; the best one
    after that is not always the one that was cheapest before.

    The edges reach opt_einsum as integers, whose hashes do not depend on the process, so the
    searches visit candidates in the same order every time; each trial is seeded by its number:
    without a time budget the paths are the same in every run."""
    if len(inputs) <= DP_LIMIT:
        return [_run(opt_einsum.DynamicProgramming(minimize="flops"), inputs, output, sizes)]
    found: list[tuple[float, int, Path]] = []
    trials = max(1, RANDOM_GREEDY_TRIALS // len(GREEDY_SEARCHES))
    deadline = None if time_budget is None else time.perf_counter() + time_budget
    for k, (alpha, temperature) in enumerate(GREEDY_SEARCHES):
        share = None
        if deadline is not None:  # an equal share of what is left; none left: no more searches
            left = deadline - time.perf_counter()
            if left <= 0 and found:
                break
            share = max(left, 0.0) / (len(GREEDY_SEARCHES) - k)
        optimizer = opt_einsum.RandomGreedy(
            cost_fn=_size_change(alpha),
            temperature=temperature,
            max_repeats=trials if share is None else 10**6,
            max_time=share,
            minimize="flops",
        )
        path = _run(optimizer, inputs, output, sizes)
        found.append((min(optimizer.costs), len(found), path))
    return [path for _, _, path in sorted(found)]


def _size_change(alpha: float) -> Any:
    """A greedy heuristic: the size of a pair's result less `alpha` times its operands' sizes
    (alpha = 1 is opt_einsum's "memory-removed"; a larger alpha favours removing big tensors,
    a smaller one keeping results small)."""

    def cost(size12: int, size1: int, size2: int, k12: Any, k1: Any, k2: Any) -> float:
        return size12 - alpha * (size1 + size2)

    return cost


@contextlib.contextmanager
def _own_random_state() -> Iterator[None]:
    """Saves Python's `random` state and restores it on exit: the libraries seed the module's
    global generator for their trials, which must not change the caller's."""
    state = random.getstate()
    try:
        yield
    finally:
        random.setstate(state)


def _run(optimizer: Any, inputs: Sequence[Sequence[int]], output: Sequence[int], sizes: Sequence[int]) -> Path:
    """An opt_einsum optimizer's path, the edges given as integers (see `auto_paths`)."""
    sets, out, size_dict = _edge_sets(inputs, output, sizes)
    with _own_random_state():
        return [tuple(step) for step in optimizer(sets, out, size_dict)]


def _edge_sets(
    inputs: Sequence[Sequence[int]], output: Sequence[int], sizes: Sequence[int], name: Any = None
) -> tuple[list[frozenset[Any]], frozenset[Any], dict[Any, int]]:
    """The network as the libraries take it: each operand's set of edges, the output's, and
    every edge's size (at least 1); each edge as its number or as `name(number)`."""
    label = (lambda e: e) if name is None else name
    sets = [frozenset(map(label, edges)) for edges in inputs]
    return sets, frozenset(map(label, output)), {label(e): max(int(s), 1) for e, s in enumerate(sizes)}


def _hyper_path(
    sets: list[frozenset[str]], out: frozenset[str], size_dict: dict[str, int], time_budget: float | None
) -> Path:
    """cotengra's hyper-optimized path (fewest FLOPs found within the budget, 1 s by default)."""
    try:  # the optional extra `hyper`, imported on first use: most programs never plan with it
        cotengra = importlib.import_module("cotengra")
    except ImportError as error:  # pragma: no cover - CI installs it (.ci/run); this is for plain installs
        raise ContractionError("planner='hyper' needs cotengra: pip install 'tnet-calculus[hyper]'") from error
    optimizer = cotengra.HyperOptimizer(
        methods=["greedy", "labels"],  # the tree builders that need no further package
        minimize="flops",
        max_time=time_budget if time_budget is not None else 1.0,
        max_repeats=128,
        parallel=False,
        progbar=False,
    )
    return [tuple(step) for step in optimizer.search(sets, out, size_dict).get_path()]
