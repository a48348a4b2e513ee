"""Contraction orders for large networks, found by the field's own path optimizers.

tnet searches the order of small networks itself (contract.py: exhaustive, optimal up to about
8 operands). Beyond that this module asks well-kept libraries through their public APIs:

* opt_einsum (a core dependency): ``DynamicProgramming`` (an optimal order for up to
  `DP_LIMIT` operands) and ``RandomGreedy`` (many greedy orders with a random tie-breaking
  temperature; each trial has a fixed seed, but the search visits sets of edges in Python's
  hash order, so the path found may differ between processes, and a time budget cuts it short;
  the value of a contraction never depends on its plan, only its cost does);
* cotengra (the optional extra ``tnet-calculus[hyper]``): ``HyperOptimizer``, which tunes the
  greedy and partitioning contraction-tree builders of very large networks within a time budget.

A network is given as contract.py holds it: one tuple of edge numbers per operand (an edge may
join any number of operands, a hyperedge; it may repeat inside one operand), the output edges
and each edge's size. The libraries see each operand's set of edges and the output set, which
is all a path search needs: diagonals and private edges are handled by tnet's own leaf steps,
and a hyperedge stays open until no remaining operand and not the output needs it, which is
how both libraries treat an index held by several inputs. What comes back is a path in
opt_einsum's format (positions in the shrinking list of operands, each contraction appended
at the end); contract.py turns it into its own plan, so plans print the same whoever found them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import opt_einsum

from .errors import ContractionError

try:  # the optional extra `hyper`; without it planner="hyper" raises a ContractionError
    import cotengra
except ImportError:  # pragma: no cover - CI installs it (.ci/run); this is for plain installs
    cotengra = None

#: the planners a user may name: "auto" picks by size and time budget (below), "optimal" an
#: optimal order at any size (exponential time), "greedy" the fastest search, "hyper" cotengra
PLANNERS = ("auto", "optimal", "greedy", "hyper")

#: up to this many operands "auto" uses opt_einsum's dynamic programming (optimal, fast enough)
DP_LIMIT = 14

#: greedy trials of "auto" beyond DP_LIMIT when no time budget is given
RANDOM_GREEDY_TRIALS = 32

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
    "auto" dynamic programming up to `DP_LIMIT` operands and random greedy beyond (32 trials, or
    as many as `time_budget` seconds allow); "hyper" cotengra's hyper-optimizer (within
    `time_budget`, 1 s when none is given)."""
    symbol = [opt_einsum.get_symbol(e) for e in range(len(sizes))]
    sets = [frozenset(symbol[e] for e in edges) for edges in inputs]
    out = frozenset(symbol[e] for e in output)
    size_dict = {symbol[e]: max(int(s), 1) for e, s in enumerate(sizes)}
    state = random.getstate()  # both libraries seed Python's random module for their trials
    try:
        if planner == "hyper":
            return _hyper_path(sets, out, size_dict, time_budget)
        optimizer: Any
        if planner == "optimal" or (planner == "auto" and len(inputs) <= DP_LIMIT):
            optimizer = opt_einsum.DynamicProgramming(minimize="flops", search_outer=planner == "optimal")
        elif planner == "greedy":
            optimizer = opt_einsum.paths.get_path_fn("greedy")
        elif time_budget is not None:
            optimizer = opt_einsum.RandomGreedy(max_repeats=10**6, max_time=time_budget, minimize="flops")
        else:
            optimizer = opt_einsum.RandomGreedy(max_repeats=RANDOM_GREEDY_TRIALS, minimize="flops")
        return [tuple(step) for step in optimizer(sets, out, size_dict)]
    finally:
        random.setstate(state)


def _hyper_path(
    sets: list[frozenset[str]], out: frozenset[str], size_dict: dict[str, int], time_budget: float | None
) -> Path:
    """cotengra's hyper-optimized path (fewest FLOPs found within the budget, 1 s by default)."""
    if cotengra is None:
        raise ContractionError("planner='hyper' needs cotengra: pip install 'tnet-calculus[hyper]'")
    optimizer = cotengra.HyperOptimizer(
        methods=["greedy", "labels"],  # the tree builders that need no further package
        minimize="flops",
        max_time=time_budget if time_budget is not None else 1.0,
        max_repeats=128,
        parallel=False,
        progbar=False,
    )
    return [tuple(step) for step in optimizer.search(sets, out, size_dict).get_path()]
