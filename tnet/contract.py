"""Planning and executing the contraction of one tensor network (a hypergraph).

A network is given as a sequence of operands, each a tuple of edge labels (one label per axis),
an output tuple of edge labels fixing the axis order of the result, and the size of every edge.
An edge not in the output is summed; an edge may join any number of operands (a hyperedge) and
may repeat inside one operand (a trace or a diagonal); an output edge may be shared by several
operands (a Hadamard, or batch, edge).

`plan_contraction` finds the order in which to combine the operands pairwise:

* every operand first loses the edges it alone holds (they are summed) and its repeated labels
  (the diagonal is taken) in a single-operand step;
* operands are then combined two at a time.  An edge is summed at the first step after which
  neither a remaining operand nor the output needs it, so a hyperedge stays open until its last
  holder is merged; shared edges still needed elsewhere are kept as batch edges;
* up to ``exhaustive_limit`` operands the order is optimal (dynamic programming over subsets of
  operands, fewest FLOPs, ties broken on the largest intermediate); beyond that the `planner`
  chooses it: tnet's greedy order, or opt_einsum's or cotengra's path optimizers (planners.py),
  whose paths become the same plan trees, so that a plan prints the same whoever found it.

FLOPs are counted with the convention of ``numpy.einsum_path``: a step costs the product of the
sizes of every edge it involves, times ``max(1, n_terms - 1) + (1 if it sums an edge else 0)``.
So a pairwise step costs 2x when it sums an edge and 1x for a pure outer or Hadamard product, and a
single-operand step that sums costs 2x the operand's size.  Two deliberate departures:

* taking a diagonal or transposing is a strided view, not arithmetic, so a single-operand step
  that sums nothing is counted as 0 FLOPs (numpy counts the operand's size once);
* under that convention, summing an operand's private edges in a step of their own is sometimes
  dearer than summing them inside the operand's first pairwise step (``ij,j->``: ``2ij + 2j``
  against ``2ij``).  The planner counts whichever is cheaper; the executor sums private edges
  before the pairwise product either way.

numpy prints ``sum(step costs) + 1`` as its "Optimized FLOP count"; `Plan.flops` is the plain sum.

`execute` runs a plan: each pairwise step is one BLAS call where possible (both operands are
brought to ``(batch, free, contracted)`` layouts by a transpose and a reshape, which are views when
the memory order already fits, and multiplied with ``numpy.matmul``); steps without a contracted
edge are broadcast products.  `contract` plans (with a cache keyed on the network's structure)
and executes.
"""

from __future__ import annotations

import functools
import heapq
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import ContractionError
from .planners import DP_LIMIT, PLANNERS, auto_paths, check_planner, library_path

__all__ = [
    "ContractionError",
    "PLANNERS",
    "Plan",
    "Step",
    "contract",
    "execute",
    "plan_contraction",
]

Edge = Hashable
Labels = tuple[Edge, ...]

# Plan trees of large networks are reconfigured in windows of this many sub-trees, then the
# best one in larger windows (see `_Reconfigurer` and `_large_network_tree`).
_REFINE_WINDOW = 6
_REFINE_WINDOW_LARGE = 8
# Windows costing less than 1 / _NEGLIGIBLE of the whole tree are not re-solved; in the large
# windows, less than 1 / _NEGLIGIBLE_LARGE.
_NEGLIGIBLE = 10**12
_NEGLIGIBLE_LARGE = 100
# At most this many reconfiguration passes per window size (a fixpoint usually comes first).
_MAX_PASSES = 50
# Shares of a time budget: the path searches end by the first, the reconfiguration by the second.
_SEARCH_SHARE = 0.4
_REFINE_SHARE = 0.9
# The balances of the recursive bisections "auto" starts from (see `_bisection_tree`), and the
# most operands it bisects (its Laplacian is dense: n x n numbers, an O(n^3) eigensolver).
_BISECTION_BALANCES = (0.25, 0.4)
_BISECTION_LIMIT = 1000

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


# --------------------------------------------------------------------------------------------
# Kernels: what one step does to numpy arrays.  Built at planning time from edge orders only.
# --------------------------------------------------------------------------------------------


class _UnaryKernel:
    """Diagonal of repeated labels and/or sum of some axes of one operand."""

    __slots__ = ("subscripts", "sum_axes")

    def __init__(self, subscripts: tuple[list[int], list[int]] | None, sum_axes: tuple[int, ...]):
        self.subscripts = subscripts  # einsum sublists (in, out) when labels repeat
        self.sum_axes = sum_axes

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.subscripts is not None:
            return np.asarray(np.einsum(x, self.subscripts[0], self.subscripts[1]))
        return np.asarray(x.sum(axis=self.sum_axes))


class _PairKernel:
    """The product of two operands, as one numpy call on two prepared views.

    Each operand is summed over its private axes (edges no one else needs), transposed (`perm`,
    None when its axis order already fits) and reshaped (`shape`).  Then

    * "matmul": ``numpy.matmul`` of (batch, free, contracted) by (batch, contracted, free)
      matrices; ``swap`` marks a matrix stored as (contracted, free), used transposed, which
      BLAS does without a copy.  The transpose + reshape copies only when the memory order does
      not fit;
    * "rowdot": batched dot products of the rows of two (batch, contracted) matrices;
    * "mul": nothing is summed, a broadcast product of two views aligned on the result's axes.
    """

    __slots__ = ("mode", "out_shape", "perm_a", "perm_b", "shape_a", "shape_b", "sum_a", "sum_b", "swap_a", "swap_b")

    def __init__(
        self,
        mode: str,
        out_shape: tuple[int, ...],
        operand_a: tuple[tuple[int, ...], tuple[int, ...] | None, tuple[int, ...], bool],
        operand_b: tuple[tuple[int, ...], tuple[int, ...] | None, tuple[int, ...], bool],
    ) -> None:
        self.mode = mode
        self.out_shape = out_shape
        self.sum_a, self.perm_a, self.shape_a, self.swap_a = operand_a
        self.sum_b, self.perm_b, self.shape_b, self.swap_b = operand_b

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self.sum_a:
            a = a.sum(axis=self.sum_a)
        if self.sum_b:
            b = b.sum(axis=self.sum_b)
        if self.perm_a is not None:
            a = a.transpose(self.perm_a)
        if self.perm_b is not None:
            b = b.transpose(self.perm_b)
        a = a.reshape(self.shape_a)
        b = b.reshape(self.shape_b)
        mode = self.mode
        if mode == "matmul":
            if self.swap_a:
                a = a.swapaxes(-1, -2)
            if self.swap_b:
                b = b.swapaxes(-1, -2)
            out = np.matmul(a, b)
        elif mode == "mul":
            out = a * b
        else:
            out = np.einsum("ij,ij->i", a, b)
        return np.asarray(out).reshape(self.out_shape)


def _prod(values: Any) -> int:
    total = 1
    for v in values:
        total *= v
    return total


def _unary_kernel(edges: tuple[int, ...], kept: frozenset[int]) -> tuple[tuple[int, ...], _UnaryKernel]:
    """The kernel taking diagonals of `edges` and summing every edge not in `kept`."""
    result = tuple(e for i, e in enumerate(edges) if e in kept and e not in edges[:i])
    if len(set(edges)) < len(edges):
        local = {e: k for k, e in enumerate(dict.fromkeys(edges))}
        subscripts = ([local[e] for e in edges], [local[e] for e in result])
        return result, _UnaryKernel(subscripts, ())
    sum_axes = tuple(ax for ax, e in enumerate(edges) if e not in kept)
    return result, _UnaryKernel(None, sum_axes)


def pair_kernel(
    edges_a: tuple[int, ...],
    edges_b: tuple[int, ...],
    kept: frozenset[int],
    size_of: Sequence[int],
    order: tuple[int, ...] | None = None,
) -> tuple[tuple[int, ...], _PairKernel]:
    """The kernel multiplying operands whose (distinct) axis labels are `edges_a`, `edges_b`.

    Returns the result's axis labels and the kernel.  The result's axes are ordered (batch
    edges, free edges of a, free edges of b), except that a product summing nothing follows
    `order` when given (the last step writes the output's order directly).
    """
    set_a, set_b = set(edges_a), set(edges_b)
    sum_a = tuple(ax for ax, e in enumerate(edges_a) if e not in set_b and e not in kept)
    sum_b = tuple(ax for ax, e in enumerate(edges_b) if e not in set_a and e not in kept)
    ea = tuple(e for e in edges_a if e in set_b or e in kept)
    eb = tuple(e for e in edges_b if e in set_a or e in kept)
    free_a = [e for e in ea if e not in set_b]
    free_b = [e for e in eb if e not in set_a]
    contracted = [e for e in ea if e in set_b and e not in kept]
    nc = _prod(size_of[e] for e in contracted)

    if nc == 1:
        # Nothing (of size > 1) summed: each operand becomes a view transposed to the result's
        # order with unit axes for the edges it lacks; summed edges, all of size 1, are moved
        # last and dropped by the reshape.
        batch = [e for e in ea if e in set_b and e in kept]
        result = tuple(order) if order is not None else tuple(batch + free_a + free_b)

        def aligned(edges: tuple[int, ...], private: tuple[int, ...]) -> Any:
            perm = tuple(edges.index(e) for e in result if e in edges)
            perm += tuple(edges.index(e) for e in contracted)
            shape = tuple(size_of[e] if e in edges else 1 for e in result)
            return private, (None if perm == tuple(range(len(edges))) else perm), shape, False

        out_shape = tuple(size_of[e] for e in result)
        return result, _PairKernel("mul", out_shape, aligned(ea, sum_a), aligned(eb, sum_b))

    # Batch and contracted edges take the order they have in one operand (the one that makes
    # fewer elements move, the larger one on ties); free edges keep their own operand's order.
    size_a = _prod(size_of[e] for e in ea)
    size_b = _prod(size_of[e] for e in eb)
    best: Any = None
    for ref in (ea, eb) if size_a >= size_b else (eb, ea):
        batch = [e for e in ref if e in set_a and e in set_b and e in kept]
        summed = [e for e in ref if e in set_a and e in set_b and e not in kept]
        layouts_a = (batch + free_a + summed, batch + summed + free_a)
        layouts_b = (batch + summed + free_b, batch + free_b + summed)
        moved = (size_a if list(ea) not in layouts_a else 0) + (size_b if list(eb) not in layouts_b else 0)
        if best is None or moved < best[0]:
            best = (moved, batch, layouts_a, layouts_b)
    _, batch, layouts_a, layouts_b = best
    nb = _prod(size_of[e] for e in batch)
    nfa = _prod(size_of[e] for e in free_a)
    nfb = _prod(size_of[e] for e in free_b)
    lead = (nb,) if nb != 1 else ()

    def arrange(
        edges: tuple[int, ...],
        layouts: tuple[list[int], list[int]],
        private: tuple[int, ...],
        normal: tuple[int, ...],
        swapped: tuple[int, ...],
    ) -> Any:
        if list(edges) == layouts[0]:
            return private, None, normal, False
        if list(edges) == layouts[1]:
            return private, None, swapped, True
        return private, tuple(edges.index(e) for e in layouts[0]), normal, False

    if nfa == 1 and nfb == 1:
        # Size-1 free axes do not change the memory order: no swap needed.
        mode = "rowdot" if nb != 1 else "matmul"
        flat = (*lead, nc)
        operand_a = arrange(ea, layouts_a, sum_a, flat, flat)
        operand_b = arrange(eb, layouts_b, sum_b, flat, flat)
        operand_a = (*operand_a[:3], False)
        operand_b = (*operand_b[:3], False)
    else:
        mode = "matmul"
        operand_a = arrange(ea, layouts_a, sum_a, (*lead, nfa, nc), (*lead, nc, nfa))
        operand_b = arrange(eb, layouts_b, sum_b, (*lead, nc, nfb), (*lead, nfb, nc))
    result = tuple(batch + free_a + free_b)
    return result, _PairKernel(mode, tuple(size_of[e] for e in result), operand_a, operand_b)


# --------------------------------------------------------------------------------------------
# Public data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of a plan.

    Operands are numbered as they are created: ``0 .. n-1`` are the network's operands and step
    ``k`` creates operand ``n + k`` (its `result`).  A step consumes one operand (a diagonal and/or
    a sum over edges only it holds) or two (a pairwise product).
    """

    operands: tuple[int, ...]
    """The operands consumed, by number."""
    operand_edges: tuple[Labels, ...]
    """The edge labels of each consumed operand, in axis order."""
    edges: Labels
    """The edges kept, in the axis order of the result."""
    summed: Labels
    """The edges summed in this step."""
    flops: int
    """The step's cost under the ``numpy.einsum_path`` convention."""
    size: int
    """The number of elements of the result."""
    result: int
    """The number of the operand this step creates."""
    kernel: Any = field(default=None, repr=False, compare=False)
    """Internal: the prepared numpy calls."""


@dataclass(frozen=True)
class Plan:
    """A contraction order for one network, with its cost; see `plan_contraction`."""

    steps: tuple[Step, ...]
    flops: int
    """Total FLOPs of the steps (``numpy.einsum_path`` convention, without numpy's ``+ 1``)."""
    largest: int
    """Number of elements of the largest intermediate (0 when there are no steps)."""
    naive_flops: int
    """Cost of one einsum over all operands with no intermediates, numpy's convention."""
    inputs: tuple[Labels, ...] = ()
    output: Labels = ()
    sizes: Mapping[Edge, int] = field(default_factory=dict, compare=False)
    output_perm: tuple[int, ...] | None = field(default=None, repr=False, compare=False)
    """Internal: the transposition from the last step's axis order to `output` (None: none)."""
    input_shapes: tuple[tuple[int, ...], ...] = field(default=(), repr=False, compare=False)
    """Internal: the shape each array must have."""

    @property
    def speedup(self) -> float:
        """naive_flops / flops (infinite when the plan costs nothing)."""
        return self.naive_flops / self.flops if self.flops else float("inf")

    def letters(self) -> dict[Edge, str]:
        """One einsum letter per edge (first appearance order); ``[label]`` beyond 52 edges."""
        order = dict.fromkeys(e for labels in (*self.inputs, self.output) for e in labels)
        return {e: _LETTERS[k] if k < len(_LETTERS) else f"[{e!r}]" for k, e in enumerate(order)}

    def einsum_string(self) -> str:
        """The whole contraction in einsum notation, e.g. ``ab,bc->ac``."""
        letter = self.letters()
        lhs = ",".join("".join(letter[e] for e in labels) for labels in self.inputs)
        return lhs + "->" + "".join(letter[e] for e in self.output)

    def __str__(self) -> str:
        letter = self.letters()

        def word(labels: Labels) -> str:
            return "".join(letter[e] for e in labels)

        rows = []
        for k, step in enumerate(self.steps):
            spec = ",".join(word(x) for x in step.operand_edges) + "->" + word(step.edges)
            ops = ",".join(str(i) for i in step.operands) + f" -> {step.result}"
            rows.append((str(k), ops, spec, f"{step.flops:,}", f"{step.size:,}"))
        header = ("step", "operands", "contraction", "flops", "size")
        widths = [max(len(r[c]) for r in [header, *rows]) for c in range(5)]
        lines = [f"Contraction: {self.einsum_string()}"]
        lines.append(
            "  ".join(h.rjust(w) if c in (0, 3, 4) else h.ljust(w) for c, (h, w) in enumerate(zip(header, widths)))
        )
        lines.append("-" * len(lines[-1]))
        for r in rows:
            lines.append(
                "  ".join(v.rjust(w) if c in (0, 3, 4) else v.ljust(w) for c, (v, w) in enumerate(zip(r, widths)))
            )
        speedup = f"{self.speedup:,.3f}x" if self.flops else "n/a (no arithmetic)"
        lines.append(f"FLOPs:                {self.flops:,}")
        lines.append(f"Naive FLOPs:          {self.naive_flops:,}")
        lines.append(f"Speedup:              {speedup}")
        lines.append(f"Largest intermediate: {self.largest:,} elements")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------


def _bits(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


class _Sizer:
    """Product of the sizes of the edges in a bitmask, memoised."""

    def __init__(self, size_of: Sequence[int]) -> None:
        self.size_of = size_of
        self.cache: dict[int, int] = {0: 1}

    def __call__(self, mask: int) -> int:
        cache = self.cache
        got = cache.get(mask)
        if got is not None:
            return got
        # strip the lowest edge until a known product, then multiply back up (no recursion:
        # a mask may hold thousands of edges)
        stack = []
        while got is None:
            stack.append(mask)
            mask ^= mask & -mask
            got = cache.get(mask)
        for mask in reversed(stack):
            got *= self.size_of[(mask & -mask).bit_length() - 1]
            cache[mask] = got
        return got


def _check_structure(
    inputs: Sequence[Sequence[Edge]], output: Sequence[Edge], sizes: Mapping[Edge, int]
) -> tuple[tuple[Labels, ...], Labels]:
    inputs_t = tuple(tuple(labels) for labels in inputs)
    output_t = tuple(output)
    seen: dict[Edge, int] = {}
    for pos, e in enumerate(output_t):
        if e in seen:
            raise ContractionError(f"output edge {e!r} is listed twice (output positions {seen[e]} and {pos})")
        seen[e] = pos
    present = {e for labels in inputs_t for e in labels}
    for e in output_t:
        if e not in present:
            raise ContractionError(
                f"output edge {e!r} is not an edge of any operand (the operands' edges are "
                f"{sorted(map(repr, present))})"
            )
    for k, labels in enumerate(inputs_t):
        for ax, e in enumerate(labels):
            if e not in sizes:
                raise ContractionError(f"operand {k} axis {ax}: edge {e!r} has no size in sizes")
    for e in present:
        s = sizes[e]
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 0:
            raise ContractionError(f"edge {e!r} has size {s!r}; sizes must be integers >= 0")
    return inputs_t, output_t


class _Network:
    """The network with edges renumbered 0.. and stored as bitmasks."""

    def __init__(self, inputs: tuple[Labels, ...], output: Labels, sizes: Mapping[Edge, int]):
        self.inputs = inputs
        self.output = output
        self.labels: list[Edge] = list(dict.fromkeys(e for labels in (*inputs, output) for e in labels))
        self.index = {e: k for k, e in enumerate(self.labels)}
        self.size_of = [int(sizes[e]) for e in self.labels]
        self.msize = _Sizer(self.size_of)
        self.edges = [tuple(self.index[e] for e in labels) for labels in inputs]
        self.out_mask = sum(1 << self.index[e] for e in output)
        # each edge's place in the output (edges not in it after, by number): the axis order
        # the products aim for
        out_place = {self.index[e]: k for k, e in enumerate(output)}
        self.rank = [out_place.get(k, len(output) + k) for k in range(len(self.labels))]
        self.distinct = [sum(1 << e for e in set(edges)) for edges in self.edges]
        holders = [0] * len(self.labels)
        for mask in self.distinct:
            for e in _bits(mask):
                holders[e] += 1
        shared = sum(1 << e for e, h in enumerate(holders) if h > 1)
        # Edges an operand alone holds and the output does not need: summed on their own.
        self.private = [m & ~shared & ~self.out_mask for m in self.distinct]
        self.reduced = [m & ~p for m, p in zip(self.distinct, self.private)]
        self.repeats = [len(set(edges)) < len(edges) for edges in self.edges]

    def naive_flops(self) -> int:
        """numpy's naive cost: every edge at once, times (n - 1) plus one if an edge is shared."""
        n = len(self.edges)
        if n == 0:
            return 0
        every = 0
        for m in self.distinct:
            every |= m
        shared = sum(bin(m).count("1") for m in self.distinct) > bin(every).count("1")
        return self.msize(every) * (max(1, n - 1) + (1 if shared else 0))

    def unary_flops(self, i: int) -> int:
        """Cost of operand i's own step: 2x its size when it sums, 0 for a diagonal view."""
        return 2 * self.msize(self.distinct[i]) if self.private[i] else 0


# A plan tree: a leaf is ("leaf", i, reduced) where `reduced` tells whether operand i's private
# edges are summed in a step of their own (True) or inside its first pairwise step (False); a
# node is ("pair", left, right).
_Tree = tuple
# How a sub-network can be presented to its parent: (edge mask, FLOPs, largest, tree).
_Option = tuple[int, int, int, _Tree]


def _leaf_options(net: _Network, i: int) -> list[_Option]:
    """Operand i with its private edges summed first, and (if it has any) summed later."""
    msize = net.msize
    own_step = bool(net.private[i]) or net.repeats[i]
    ways = [
        (
            net.reduced[i],
            net.unary_flops(i),
            msize(net.reduced[i]) if own_step else 0,
            ("leaf", i, True),
        )
    ]
    if net.private[i]:
        big = msize(net.distinct[i]) if net.repeats[i] else 0
        ways.append((net.distinct[i], 0, big, ("leaf", i, False)))
    return ways


def _best_order(items: list[list[_Option]], need: int, msize: _Sizer) -> _Option:
    """Fewest-FLOPs pairwise order of `items` (ties: smallest largest intermediate).

    Dynamic programming over subsets.  Each item is a list of options whose first entry carries
    the edges the item may share with others; `need` holds the edges needed outside the items
    (output and the rest of the network).
    """
    n = len(items)
    if n == 1:
        return items[0][0]
    full = (1 << n) - 1
    union = [0] * (full + 1)
    for s in range(1, full + 1):
        low = s & -s
        union[s] = union[s ^ low] | items[low.bit_length() - 1][0][0]
    options: list[list[_Option]] = [[] for _ in range(full + 1)]
    for i, item in enumerate(items):
        options[1 << i] = item
    for s in range(1, full + 1):
        low = s & -s
        if s == low:
            continue
        keep = union[s] & (need | union[full ^ s])
        keep_size = msize(keep)
        best_cost = -1
        best_large = 0
        best_tree: _Tree = ()
        rest = s ^ low
        sub = rest
        while True:
            sub = (sub - 1) & rest
            a = low | sub
            for ea, ca, la, ta in options[a]:
                for eb, cb, lb, tb in options[s ^ a]:
                    inv = ea | eb
                    cost = ca + cb + msize(inv) * (2 if inv & ~keep else 1)
                    if cost < best_cost or best_cost < 0:
                        best_cost, best_large = cost, max(la, lb, keep_size)
                        best_tree = ("pair", ta, tb)
                    elif cost == best_cost:
                        large = max(la, lb, keep_size)
                        if large < best_large:
                            best_large, best_tree = large, ("pair", ta, tb)
            if sub == 0:
                break
        options[s] = [(keep, best_cost, best_large, best_tree)]
    return options[full][0]


def _window_order(items: list[list[_Option]], need: int, size_of: Sequence[int]) -> tuple[int, _Tree]:
    """Fewest-FLOPs pairwise order of a window's `items` (as in `_best_order`, without its tie
    break on the largest intermediate); returns (FLOPs, tree).

    The same dynamic programming over subsets, on the window's own edges renumbered from 0, so
    that the size of an edge set is a product of a few table entries (one per 8 edges) instead
    of a walk over a large bitmask."""
    n = len(items)
    every = 0
    for options in items:
        for option in options:
            every |= option[0]
    edges = _bits(every)
    local = {e: k for k, e in enumerate(edges)}

    def renumber(mask: int) -> int:
        got = 0
        for e in _bits(mask & every):
            got |= 1 << local[e]
        return got

    tables = []
    for start in range(0, len(edges), 8):
        chunk = edges[start : start + 8]
        table = [1] * (1 << len(chunk))
        for m in range(1, len(table)):
            low = m & -m
            table[m] = table[m ^ low] * size_of[chunk[low.bit_length() - 1]]
        tables.append(table)
    memo: dict[int, int] = {}

    def size(mask: int) -> int:
        got = memo.get(mask)
        if got is None:
            got = 1
            m = mask
            for table in tables:
                got *= table[m & 255]
                m >>= 8
            memo[mask] = got
        return got

    full = (1 << n) - 1
    first = [renumber(options[0][0]) for options in items]
    union = [0] * (full + 1)
    for s in range(1, full + 1):
        low = s & -s
        union[s] = union[s ^ low] | first[low.bit_length() - 1]
    outside_need = renumber(need)
    # the first way of presenting each subset: its mask, the mask's size, its cost; `alt` the
    # second way of a leaf that may keep its private edges; `choice` the best split
    km = [0] * (full + 1)
    ks = [1] * (full + 1)
    kc = [0] * (full + 1)
    alt: dict[int, tuple[int, int, int]] = {}
    for i, options in enumerate(items):
        for k, option in enumerate(options[:2]):
            mask = renumber(option[0])
            if k == 0:
                km[1 << i], ks[1 << i], kc[1 << i] = mask, size(mask), option[1]
            else:
                alt[1 << i] = (mask, size(mask), option[1])
    choice: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)] * (full + 1)
    memo_get = memo.get
    for s in range(3, full + 1):
        low = s & -s
        if s == low:
            continue
        keep = union[s] & (outside_need | union[full ^ s])
        best = -1
        pick = (0, 0, 0, 0)
        rest = s ^ low
        sub = rest
        while sub:
            sub = (sub - 1) & rest
            a = low | sub
            b = s ^ a
            ma = km[a]
            mb = km[b]
            common = ma & mb
            got = memo_get(common)
            if got is None:
                got = size(common)
            # the size of ma | mb, from the sizes of ma, mb and their common edges
            got = ks[a] * ks[b] // got if got else size(ma | mb)
            cost = kc[a] + kc[b] + got * (2 if (ma | mb) & ~keep else 1)
            if cost < best or best < 0:
                best = cost
                pick = (a, 0, b, 0)
            if a in alt or b in alt:  # a leaf's other way (private edges kept)
                ways_a = [(ma, ks[a], kc[a], 0)] + ([(*alt[a], 1)] if a in alt else [])
                ways_b = [(mb, ks[b], kc[b], 0)] + ([(*alt[b], 1)] if b in alt else [])
                for xa, _, ca, wa in ways_a:
                    for xb, _, cb, wb in ways_b:
                        cost = ca + cb + size(xa | xb) * (2 if (xa | xb) & ~keep else 1)
                        if cost < best:
                            best = cost
                            pick = (a, wa, b, wb)
        km[s], ks[s], kc[s] = keep, size(keep), best
        choice[s] = pick

    def tree(s: int, way: int) -> _Tree:
        if s & (s - 1) == 0:
            return items[s.bit_length() - 1][way][3]
        a, wa, b, wb = choice[s]
        return ("pair", tree(a, wa), tree(b, wb))

    if n == 1:
        return items[0][0][1], items[0][0][3]
    return kc[full], tree(full, 0)


def _optimal_tree(net: _Network) -> _Tree:
    """The optimal order of the whole network."""
    items = [_leaf_options(net, i) for i in range(len(net.edges))]
    return _best_order(items, net.out_mask, net.msize)[3]


def _greedy_pairs(net: _Network, masks: dict[int, int], by: str) -> list[tuple[int, int, int]]:
    """A greedy pairwise order over tensors {id: edge mask}; returns (x, y, result mask) merges.

    Connected pairs go first, scored by `by`: "size" (result size minus input sizes, then FLOPs)
    or "flops" (FLOPs, then the size change).  Disconnected parts are combined last, smallest
    first.
    """
    msize = net.msize
    out = net.out_mask
    masks = dict(masks)
    count = [0] * len(net.labels)
    holders: list[set[int]] = [set() for _ in net.labels]
    for t, m in masks.items():
        for e in _bits(m):
            count[e] += 1
            holders[e].add(t)
    next_id = max(masks, default=-1) + 1
    heap: list[tuple[int, int, int, int]] = []

    def removable(mx: int, my: int) -> int:
        removed = 0
        for e in _bits(mx & my & ~out):
            if count[e] == 2:
                removed |= 1 << e
        return removed

    def push(x: int, y: int) -> None:
        mx, my = masks[x], masks[y]
        inv = mx | my
        removed = removable(mx, my)
        cost = msize(inv) * (2 if removed else 1)
        change = msize(inv & ~removed) - msize(mx) - msize(my)
        key = (change, cost) if by == "size" else (cost, change)
        heapq.heappush(heap, (*key, min(x, y), max(x, y)))

    for hs in holders:
        ids = sorted(hs)
        for j, x in enumerate(ids):
            for y in ids[j + 1 :]:
                push(x, y)

    merges = []
    while heap:
        _, _, x, y = heapq.heappop(heap)
        if x not in masks or y not in masks:
            continue
        mx, my = masks.pop(x), masks.pop(y)
        inv = mx | my
        removed = removable(mx, my)
        z = next_id
        next_id += 1
        mz = inv & ~removed
        for e in _bits(inv):
            hs = holders[e]
            hs.discard(x)
            hs.discard(y)
            if mz >> e & 1:
                hs.add(z)
            if mx >> e & 1 and my >> e & 1:
                count[e] -= 2 if removed >> e & 1 else 1
        masks[z] = mz
        merges.append((x, y, mz))
        neighbours: set[int] = set()
        for e in _bits(mz):
            neighbours |= holders[e]
        neighbours.discard(z)
        for w in sorted(neighbours):
            push(z, w)

    # Disconnected parts: smallest two first.
    parts = [(msize(m), t) for t, m in masks.items()]
    heapq.heapify(parts)
    while len(parts) > 1:
        _, x = heapq.heappop(parts)
        _, y = heapq.heappop(parts)
        mz = masks.pop(x) | masks.pop(y)
        z = next_id
        next_id += 1
        masks[z] = mz
        merges.append((x, y, mz))
        heapq.heappush(parts, (msize(mz), z))
    return merges


def _greedy_tree(net: _Network, by: str) -> _Tree:
    n = len(net.edges)
    trees: dict[int, _Tree] = {i: ("leaf", i, True) for i in range(n)}
    for x, y, _ in _greedy_pairs(net, dict(enumerate(net.reduced)), by):
        trees[len(trees)] = ("pair", trees[x], trees[y])
    return trees[len(trees) - 1]


def _bisection_tree(net: _Network, balance: float) -> _Tree:
    """A tree from recursive spectral bisection: each part of the network is cut in two where
    the fewest (by log size) edges cross, and the two halves are ordered the same way.

    A part's operands are sorted along the Fiedler vector (the eigenvector of the second
    smallest eigenvalue of the part's weighted Laplacian: operands sharing an edge are joined
    with weight log2(size) / (holders - 1), a hyperedge spread over its holders), and the cut
    is the prefix of that order whose crossing edges (held on both sides, or by one side and
    the output or the rest of the network) have the smallest product of sizes, among prefixes
    holding between `balance` and 1 - `balance` of the part. A greedy order builds trees
    whose first steps are cheap and whose last are huge; cutting where the network is thin
    puts the big edges last, which is the shape good plans of large graph-like networks have.
    Parts of up to `_REFINE_WINDOW` operands are ordered optimally (`_best_order`). The result
    is a starting tree for `_Reconfigurer`."""
    n = len(net.edges)
    log_size = [float(np.log2(max(s, 1))) for s in net.size_of]
    holders: list[list[int]] = [[] for _ in net.size_of]
    for i, mask in enumerate(net.reduced):
        for e in _bits(mask):
            holders[e].append(i)
    weight = np.zeros((n, n))
    for e, hs in enumerate(holders):
        if len(hs) > 1:
            w = log_size[e] / (len(hs) - 1)
            for a in hs:
                for b in hs:
                    if a != b:
                        weight[a, b] += w
    out = net.out_mask

    def split(part: list[int], need: int) -> _Tree:
        """The tree of `part`, whose outside needs the edges `need`."""
        m = len(part)
        if m <= _REFINE_WINDOW:  # small parts get their optimal order at once
            return _best_order([_leaf_options(net, i) for i in part], need, net.msize)[3]
        sub = weight[np.ix_(part, part)]
        laplacian = np.diag(sub.sum(axis=1)) - sub
        vectors = np.linalg.eigh(laplacian)[1]
        order = [part[k] for k in np.argsort(vectors[:, 1], kind="stable")]
        # sweep: the log size of the edges crossing the cut after each prefix
        total: dict[int, int] = {}
        for i in part:
            for e in _bits(net.reduced[i]):
                total[e] = total.get(e, 0) + 1
        inside: dict[int, int] = {}
        crossing = 0.0
        lo = max(1, int(np.ceil(balance * m)))
        hi = min(m - 1, max(lo, int(np.floor((1 - balance) * m))))
        best, cut = -1.0, lo
        for k in range(hi):
            for e in _bits(net.reduced[order[k]]):
                before = inside.get(e, 0)
                inside[e] = before + 1
                open_elsewhere = bool(need >> e & 1)
                was = before > 0 and (before < total[e] or open_elsewhere)
                now = before + 1 < total[e] or open_elsewhere
                crossing += log_size[e] * (now - was)
            if k + 1 >= lo and (best < 0 or crossing < best - 1e-9):
                best, cut = crossing, k + 1
        left, right = order[:cut], order[cut:]
        edges_left = edges_right = 0
        for i in left:
            edges_left |= net.reduced[i]
        for i in right:
            edges_right |= net.reduced[i]
        return ("pair", split(left, need | edges_right), split(right, need | edges_left))

    return split(list(range(n)), out)


class _Reconfigurer:
    """Subtree reconfiguration of a plan tree: every small connected piece of the tree is
    re-solved optimally, pass after pass, until a whole pass changes nothing.  Windows whose
    steps cost less than a fraction of the whole tree (1 / `negligible` of `run`) are skipped:
    their best order could not lower the total by more than that.

    The tree is held in arrays (node ids ``0 .. n-1`` are the leaves, ``n ..`` the pairwise
    steps).  A pass visits the steps children first; at a step `v` it takes a *window*: the
    sub-trees hanging below `v` once up to `size` of them are exposed, by opening the dearest
    step inside the window first (a step's cost is its own FLOPs).  `_window_order` orders the
    window's sub-trees optimally (their insides fixed: their costs are constants of the
    window; a leaf may also change whether its private edges are summed in a step of their
    own); the steps of the window are rebuilt when that is cheaper than what they cost now.
    So a pass never increases the FLOPs, and passes stop at a fixpoint, when `max_passes` are
    done or when the clock passes `deadline`.

    A step's result holds the edges of its leaves that a leaf outside it or the output needs,
    so a window's value depends only on the edge masks of its sub-trees and on the edges needed
    outside it: windows already solved are looked up in a table (local to one
    `_Reconfigurer`, dropped with it), which makes every pass after the first cheap.
    Everything is visited in a fixed order, so the result depends on the tree alone.
    """

    def __init__(self, net: _Network, tree: _Tree) -> None:
        self.net = net
        n = self.n = len(net.edges)
        self.left = [-1] * max(2 * n - 1, 1)
        self.right = [-1] * max(2 * n - 1, 1)
        self.inside = list(net.reduced) + [0] * max(n - 1, 0)  # union of the leaves' edges
        self.mask = list(net.reduced) + [0] * max(n - 1, 0)  # edges of the node's result
        self.red = [True] * n  # the leaf's private edges summed in a step of its own
        self.table: dict[tuple[Any, ...], tuple[int, _Tree]] = {}
        # tuples -> arrays, without recursion (a greedy tree may be as deep as it is wide)
        next_id = n
        stack: list[tuple[_Tree, int, int]] = [(tree, -1, 0)]  # (subtree, parent, side)
        while stack:
            sub, parent, side = stack.pop()
            if sub[0] == "leaf":
                node = sub[1]
                self.red[node] = sub[2]
            else:
                node = next_id
                next_id += 1
                stack.append((sub[2], node, 1))
                stack.append((sub[1], node, 0))
            if parent >= 0:
                (self.right if side else self.left)[parent] = node
        self.root = n if n > 1 else 0
        for i in range(n):
            if not self.red[i]:
                self.mask[i] = net.distinct[i]
        for v in reversed(self._preorder()):
            if v >= n:
                self.inside[v] = self.inside[self.left[v]] | self.inside[self.right[v]]
        self._set_masks(self.root, net.out_mask)

    def _preorder(self, top: int | None = None, stop: frozenset[int] = frozenset()) -> list[int]:
        """Node ids from `top` (the root by default) down, parents before children; the nodes
        in `stop` are listed but not descended into."""
        order = []
        stack = [self.root if top is None else top]
        n = self.n
        while stack:
            v = stack.pop()
            order.append(v)
            if v >= n and v not in stop:
                stack.append(self.right[v])
                stack.append(self.left[v])
        return order

    def _set_masks(self, top: int, need: int, stop: frozenset[int] = frozenset()) -> None:
        """Recompute the result masks below `top`, whose outside needs the edges `need`."""
        n, left, right, inside, mask = self.n, self.left, self.right, self.inside, self.mask
        stack = [(top, need)]
        while stack:
            v, outside = stack.pop()
            if v < n:
                continue
            mask[v] = inside[v] & outside
            if v in stop:
                continue
            stack.append((left[v], outside | inside[right[v]]))
            stack.append((right[v], outside | inside[left[v]]))

    def _step_cost(self, v: int) -> int:
        mask = self.mask
        inv = mask[self.left[v]] | mask[self.right[v]]
        return self.net.msize(inv) * (2 if inv & ~mask[v] else 1)

    def flops(self) -> int:
        """The tree's FLOPs, as `Plan` counts them."""
        total = sum(self.net.unary_flops(i) for i in range(self.n) if self.red[i])
        return total + sum(self._step_cost(v) for v in range(self.n, 2 * self.n - 1))

    def tree(self) -> _Tree:
        """The tree as nested tuples."""
        built: dict[int, _Tree] = {}
        for v in reversed(self._preorder()):
            if v < self.n:
                built[v] = ("leaf", v, self.red[v])
            else:
                built[v] = ("pair", built.pop(self.left[v]), built.pop(self.right[v]))
        return built[self.root]

    def _window(self, v: int, size: int) -> tuple[list[int], list[int]]:
        """The steps of the window at `v` (v first) and the sub-trees hanging below them."""
        n = self.n
        steps = [v]
        hanging = [self.left[v], self.right[v]]
        while len(hanging) < size:
            dearest, where = -1, -1
            for k, u in enumerate(hanging):
                if u >= n:
                    cost = self._step_cost(u)
                    if cost > dearest:
                        dearest, where = cost, k
            if where < 0:
                break
            u = hanging.pop(where)
            steps.append(u)
            hanging[where:where] = [self.left[u], self.right[u]]
        return steps, hanging

    def improve(self, v: int, size: int, need: int, floor: int = 0) -> bool:
        """Re-solve the window at step `v` (whose outside needs `need`) unless its steps cost
        less than `floor`; True if it got cheaper."""
        n, net = self.n, self.net
        steps, hanging = self._window(v, size)
        if len(hanging) < 3:
            return False
        now = sum(self._step_cost(u) for u in steps)
        now += sum(net.unary_flops(u) for u in hanging if u < n and self.red[u])
        if now < floor:
            return False
        # canonical order: leaves by number, then sub-trees by result mask (equal masks are
        # interchangeable for the window)
        hanging.sort(key=lambda u: (0, u) if u < n else (1, self.mask[u]))
        union = 0
        for u in hanging:
            union |= self.inside[u]
        key = (tuple(u if u < n else ~self.mask[u] for u in hanging), need & union)
        got = self.table.get(key)
        if got is None:
            items = [
                _leaf_options(net, u) if u < n else [(self.mask[u], 0, 0, ("item", k))] for k, u in enumerate(hanging)
            ]
            got = self.table[key] = _window_order(items, need, net.size_of)
        best, arrangement = got
        if best >= now:
            return False
        free = [u for u in steps if u != v]
        stack: list[tuple[_Tree, int, int]] = [(arrangement, -1, 0)]
        made: list[int] = []
        while stack:
            sub, parent, side = stack.pop()
            if sub[0] == "leaf":
                node = sub[1]
                self.red[node] = sub[2]
                self.mask[node] = net.reduced[node] if sub[2] else net.distinct[node]
            elif sub[0] == "item":
                node = hanging[sub[1]]
            else:
                node = v if parent < 0 else free.pop()
                made.append(node)
                stack.append((sub[2], node, 1))
                stack.append((sub[1], node, 0))
            if parent >= 0:
                (self.right if side else self.left)[parent] = node
        for u in reversed(made):
            self.inside[u] = self.inside[self.left[u]] | self.inside[self.right[u]]
        self._set_masks(v, need, frozenset(hanging))
        return True

    def run(self, size: int, max_passes: int, deadline: float | None, negligible: int = _NEGLIGIBLE) -> int:
        """Passes of windows of `size` sub-trees until one changes nothing (windows costing
        less than 1 / `negligible` of the tree skipped); returns the number of passes that
        changed the tree."""
        n, net = self.n, self.net
        changed = 0
        for _ in range(max_passes):
            # the edges each step's outside needs, then the steps children first
            need = {self.root: net.out_mask}
            order = self._preorder()
            for v in order:
                if v >= n:
                    need[self.left[v]] = need[v] | self.inside[self.right[v]]
                    need[self.right[v]] = need[v] | self.inside[self.left[v]]
            better = False
            floor = self.flops() // negligible
            for v in reversed(order):
                if v >= n and self.improve(v, size, need[v], floor):
                    better = True
                if deadline is not None and time.perf_counter() > deadline:
                    return changed + better
            if not better:
                break
            changed += 1
        return changed


class _Builder:
    """Turns a plan tree into steps with prepared kernels."""

    def __init__(self, net: _Network) -> None:
        self.net = net
        self.n = len(net.edges)
        self.steps: list[Step] = []
        self.current: dict[int, tuple[int, ...]] = dict(enumerate(net.edges))
        self.holders_left = list(net.distinct)  # masks of operands not yet merged, by leaf
        self.flops = 0
        self.largest = 0

    def _emit(
        self,
        operands: tuple[int, ...],
        edges: tuple[int, ...],
        summed: int,
        flops: int,
        kernel: Any,
    ) -> int:
        net = self.net
        result = self.n + len(self.steps)
        size = _prod(net.size_of[e] for e in edges)
        label = net.labels
        self.steps.append(
            Step(
                operands=operands,
                operand_edges=tuple(tuple(label[e] for e in self.current[i]) for i in operands),
                edges=tuple(label[e] for e in edges),
                summed=tuple(label[e] for e in _bits(summed)),
                flops=flops,
                size=size,
                result=result,
                kernel=kernel,
            )
        )
        self.current[result] = edges
        self.flops += flops
        self.largest = max(self.largest, size)
        return result

    def leaf(self, i: int, reduced: bool) -> tuple[int, int]:
        """Operand i after its own step (if any); returns (operand number, edge mask)."""
        net = self.net
        if not net.repeats[i] and not (reduced and net.private[i]):
            return i, net.distinct[i]
        mask = net.reduced[i] if reduced else net.distinct[i]
        kept = frozenset(_bits(mask))
        edges, kernel = _unary_kernel(net.edges[i], kept)
        flops = net.unary_flops(i) if reduced else 0
        summed = net.private[i] if reduced else 0
        return self._emit((i,), edges, summed, flops, kernel), mask

    def pair(self, x: int, mx: int, y: int, my: int, keep: int, last: bool) -> int:
        net = self.net
        inv = mx | my
        flops = net.msize(inv) * (2 if inv & ~keep else 1)
        order = tuple(net.index[e] for e in net.output) if last else None
        kept = frozenset(_bits(keep))
        edges, kernel = pair_kernel(self.current[x], self.current[y], kept, net.size_of, order)
        if kernel.mode == "matmul" and _disorder(edges, net.rank) > 0:
            # a product's free axes come out a's first: taken the other way round, they may
            # follow the output's order (no transpose after, row-major results that the next
            # element-wise step reads in order)
            swapped, other = pair_kernel(self.current[y], self.current[x], kept, net.size_of, order)
            if _disorder(swapped, net.rank) < _disorder(edges, net.rank):
                return self._emit((y, x), swapped, inv & ~keep, flops, other)
        return self._emit((x, y), edges, inv & ~keep, flops, kernel)

    def build(self, tree: _Tree, last: bool = False) -> tuple[int, int, int]:
        """Emit the steps of `tree` (`last`: it is the whole network); returns (operand number,
        edge mask, leaf subset mask)."""
        if tree[0] == "leaf":
            t, mask = self.leaf(tree[1], tree[2])
            return t, mask, 1 << tree[1]
        x, mx, sx = self.build(tree[1])
        y, my, sy = self.build(tree[2])
        s = sx | sy
        net = self.net
        others = net.out_mask
        for k, m in enumerate(net.reduced):
            if not s >> k & 1:
                others |= m
        keep = (mx | my) & others
        return self.pair(x, mx, y, my, keep, last), keep, s


def _disorder(edges: Sequence[int], rank: Sequence[int]) -> int:
    """How many pairs of `edges` are out of the output's order (`rank`: each edge's position in
    the output, edges not in it after all those that are, by number)."""
    ranks = [rank[e] for e in edges]
    return sum(1 for i, r in enumerate(ranks) for s in ranks[i + 1 :] if s < r)


def _make_plan(net: _Network, tree: _Tree | None) -> Plan:
    builder = _Builder(net)
    last_edges: tuple[int, ...] = ()
    if tree is not None:
        t, _, _ = builder.build(tree, last=True)
        last_edges = builder.current[t]
    want = tuple(net.index[e] for e in net.output)
    perm = None
    if tuple(last_edges) != want:
        perm = tuple(last_edges.index(e) for e in want)
    return Plan(
        steps=tuple(builder.steps),
        flops=builder.flops,
        largest=builder.largest,
        naive_flops=net.naive_flops(),
        inputs=net.inputs,
        output=net.output,
        sizes=MappingProxyType({e: s for e, s in zip(net.labels, net.size_of)}),
        output_perm=perm,
        input_shapes=tuple(tuple(net.size_of[e] for e in edges) for edges in net.edges),
    )


def _path_tree(n: int, path: Sequence[tuple[int, ...]]) -> _Tree:
    """The plan tree of a contraction path in opt_einsum's format (positions in the list of
    remaining operands, each result appended at the end); a step of three or more operands is
    taken pairwise, left to right, and a step of one is the operand's own leaf step."""
    current: list[_Tree] = [("leaf", i, True) for i in range(n)]
    for positions in path:
        taken = [current.pop(k) for k in sorted(positions, reverse=True)]
        tree = taken[-1]
        for other in reversed(taken[:-1]):
            tree = ("pair", tree, other)
        current.append(tree)
    tree = current[0]
    for other in current[1:]:  # a path that leaves parts apart: their outer product, last
        tree = ("pair", tree, other)
    return tree


def _tree_cost(net: _Network, tree: _Tree) -> tuple[int, int]:
    """(FLOPs, largest intermediate) of a tree, counted as `Plan` counts them."""
    plan = _make_plan(net, tree)
    return plan.flops, plan.largest


def _large_network_tree(net: _Network, exhaustive_limit: int, planner: str, time_budget: float | None) -> _Tree:
    """The order of a network beyond the exhaustive search.

    Starting trees: tnet's greedy orders for "greedy"; the library's path (planners.py) for
    "optimal" and "hyper"; for "auto" tnet's greedy order, its recursive bisections
    (`_bisection_tree`, one per balance in `_BISECTION_BALANCES`, up to `_BISECTION_LIMIT`
    operands) and opt_einsum's paths (one
    optimal path up to its DP limit, the best of several random-greedy searches beyond): which
    start ends cheapest after reconfiguration varies from network to network by orders of
    magnitude, so "auto" keeps several starts of different shapes. Each starting
    tree is improved by subtree reconfiguration (`_Reconfigurer`) in windows of
    `_REFINE_WINDOW` sub-trees until a pass changes nothing, and the cheapest result once more
    in windows of `_REFINE_WINDOW_LARGE` ("auto" and beyond `DP_LIMIT` operands only). Windows
    never exceed `exhaustive_limit` sub-trees.

    With a `time_budget` the searches share the first `_SEARCH_SHARE` of it and the
    reconfiguration stops at `_REFINE_SHARE` of it (a pass is cut short, its gains kept; each
    start gets an equal share of the time left when its turn comes, and the large windows one
    more), so that the whole stays within the budget; without one, every step is a fixed
    amount of work and the tree is the same in every run."""
    start = time.perf_counter()
    window = max(2, min(exhaustive_limit, _REFINE_WINDOW))
    large_window = max(2, min(exhaustive_limit, _REFINE_WINDOW_LARGE))
    deadline = None if time_budget is None else start + _REFINE_SHARE * time_budget
    n = len(net.edges)
    output = [net.index[e] for e in net.output]
    starts: list[_Tree] = []
    if planner in ("auto", "greedy"):
        starts += [_greedy_tree(net, by) for by in (("size",) if planner == "auto" else ("size", "flops"))]
    if planner == "auto":
        if n <= _BISECTION_LIMIT:
            starts += [_bisection_tree(net, balance) for balance in _BISECTION_BALANCES]
        budget = None if time_budget is None else _SEARCH_SHARE * time_budget
        starts += [_path_tree(n, path) for path in auto_paths(net.edges, output, net.size_of, budget)]
    elif planner != "greedy":
        path = library_path(net.edges, output, net.size_of, planner, time_budget and _SEARCH_SHARE * time_budget)
        starts.append(_path_tree(n, path))
    large = planner == "auto" and n > DP_LIMIT
    best: _Reconfigurer | None = None
    for k, tree in enumerate(starts):
        done = _Reconfigurer(net, tree)
        until = deadline
        if deadline is not None:  # an equal share of what is left (and one for the large windows)
            now = time.perf_counter()
            until = now + (deadline - now) / (len(starts) - k + large)
        done.run(window, _MAX_PASSES, until)
        if best is None or done.flops() < best.flops():
            best = done
    assert best is not None
    if large:
        best.run(large_window, _MAX_PASSES, deadline, _NEGLIGIBLE_LARGE)
    return best.tree()


def plan_contraction(
    inputs: Sequence[Sequence[Edge]],
    output: Sequence[Edge],
    sizes: Mapping[Edge, int],
    *,
    exhaustive_limit: int = 8,
    planner: str = "auto",
    time_budget: float | None = None,
) -> Plan:
    """Plan the contraction of a network.

    Args:
        inputs: one tuple of edge labels per operand, one label per axis (labels may repeat).
        output: the edges of the result, in axis order, each at most once.
        sizes: the size of every edge.
        exhaustive_limit: networks with up to this many operands get an optimal order from
            tnet's own search (dynamic programming over subsets, exponential in the count),
            whatever the planner; larger ones the planner's order.
        planner: who orders a larger network (planners.py): "auto" (the default) the
            cheapest of several starting orders (tnet's greedy order, recursive bisections,
            opt_einsum's dynamic programming up to 14 operands or several random-greedy
            searches beyond), each improved by subtree reconfiguration; "optimal" opt_einsum's
            dynamic programming at any size (exponential time); "greedy" tnet's greedy orders,
            reconfigured (fastest); "hyper" cotengra's hyper-optimizer (the optional extra
            ``tnet-calculus[hyper]``), reconfigured. The plan's value never depends on the
            planner, only its cost does.
        time_budget: seconds planning may take on a large network, searches and
            reconfiguration together (None: "auto" does a fixed amount of work, so its plan is
            the same in every run; "hyper" searches 1 s). A few fixed steps run whatever the
            budget (at 200 operands about 0.15 s), so a smaller budget is exceeded.

    Returns:
        The plan; ``str(plan)`` is a readable report.

    Raises:
        ContractionError: an output edge listed twice or held by no operand, an edge without a
            valid size, an unknown planner, a time budget that is not a positive number, or
            planner="hyper" without cotengra installed.
    """
    check_planner(planner, time_budget)
    inputs_t, output_t = _check_structure(inputs, output, sizes)
    net = _Network(inputs_t, output_t, sizes)
    n = len(inputs_t)
    if n == 0:
        return _make_plan(net, None)
    if n <= max(exhaustive_limit, 2):
        return _make_plan(net, _optimal_tree(net))
    return _make_plan(net, _large_network_tree(net, exhaustive_limit, planner, time_budget))


def numpy_path_flops(inputs: Sequence[Labels], output: Labels, sizes: Mapping[Edge, int], path: Sequence[Any]) -> int:
    """The exact FLOPs of a numpy.einsum_path path (numpy prints them rounded, plus one).

    numpy's convention: a contraction of k terms costs the product of the sizes of every index it
    involves, times max(1, k - 1), plus one more times if an index disappears in it.
    """
    sets = [set(labels) for labels in inputs]
    total = 0
    for positions in path[1:]:
        taken = [sets.pop(i) for i in sorted(positions, reverse=True)]
        union = set().union(*taken)
        kept = union & set(output).union(*sets)
        size = 1
        for e in union:
            size *= sizes[e]
        total += size * (max(1, len(taken) - 1) + (1 if union - kept else 0))
        sets.append(kept)
    return total


def _shape_error(plan: Plan, arrays: Sequence[np.ndarray]) -> ContractionError:
    if len(arrays) != len(plan.inputs):
        return ContractionError(f"expected {len(plan.inputs)} arrays (one per operand), got {len(arrays)}")
    for k, (labels, arr) in enumerate(zip(plan.inputs, arrays)):
        if arr.ndim != len(labels):
            return ContractionError(
                f"operand {k}: the array has {arr.ndim} axes (shape {arr.shape}) but the operand "
                f"has {len(labels)} edge labels {labels!r}"
            )
        for ax, (e, got) in enumerate(zip(labels, arr.shape)):
            if got != plan.sizes[e]:
                return ContractionError(
                    f"operand {k} axis {ax} (edge {e!r}): the array's size is {got} but sizes[{e!r}] is {plan.sizes[e]}"
                )
    return ContractionError("arrays do not match the plan")  # pragma: no cover


def execute(plan: Plan, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Contract `arrays` (one per operand of the planned network) following `plan`.

    The result has the axes of ``plan.output`` and the dtype ``numpy.result_type(*arrays)``,
    promoted by `sum_dtype` when the plan sums over an edge (a bool or small-integer network is
    summed as ``numpy.sum`` would, never wrapped around or cast back); an empty network gives
    ``array(1.0)``.  Like ``numpy.einsum``, a network that is one operand
    needing no arithmetic returns a view of it.

    Raises:
        ContractionError: wrong number of arrays, an array whose number of axes differs from
            its operand's number of labels, or an axis whose size differs from the edge's size.
    """
    values: list[Any] = [np.asarray(a) for a in arrays]
    shapes = plan.input_shapes
    if len(values) != len(shapes) or any(v.shape != s for v, s in zip(values, shapes)):
        raise _shape_error(plan, values)
    if not values:
        return np.array(1.0)
    dtype = functools.reduce(np.promote_types, [v.dtype for v in values])
    if any(step.summed for step in plan.steps):
        dtype = sum_dtype(dtype)
        values = [v if v.dtype == dtype else v.astype(dtype) for v in values]
    values.extend([None] * len(plan.steps))
    for step in plan.steps:
        ops = step.operands
        if len(ops) == 1:
            values[step.result] = step.kernel(values[ops[0]])
            values[ops[0]] = None
        else:
            values[step.result] = step.kernel(values[ops[0]], values[ops[1]])
            values[ops[0]] = values[ops[1]] = None
    result = values[-1]
    if plan.output_perm is not None:
        result = result.transpose(plan.output_perm)
    if result.dtype != dtype:
        result = result.astype(dtype)
    return result


def sum_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype of a sum of `dtype` values, as ``numpy.sum`` chooses it: bool and integers
    narrower than the platform integer are promoted to it (signed or unsigned), so that a sum of
    bools counts and a sum of int8 does not wrap; other dtypes are kept."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b" or (dtype.kind == "i" and dtype.itemsize < np.dtype(np.int_).itemsize):
        return np.dtype(np.int_)
    if dtype.kind == "u" and dtype.itemsize < np.dtype(np.uint).itemsize:
        return np.dtype(np.uint)
    return dtype


#: the plan cache: at most 1024 plans keyed by the network's structure and sizes and the
#: planner's settings (values only, so it never changes a result); cleared by `clear_cache()`
#: and `tnet.clear_caches()`
@functools.lru_cache(maxsize=1024)
def _cached_plan(
    inputs: tuple[Labels, ...],
    output: Labels,
    sizes: frozenset[tuple[Edge, int]],
    exhaustive_limit: int,
    planner: str,
    time_budget: float | None,
) -> Plan:
    return plan_contraction(
        inputs, output, dict(sizes), exhaustive_limit=exhaustive_limit, planner=planner, time_budget=time_budget
    )


def cached_plan(
    inputs: Sequence[Sequence[Edge]],
    output: Sequence[Edge],
    sizes: Mapping[Edge, int],
    *,
    exhaustive_limit: int = 8,
    planner: str = "auto",
    time_budget: float | None = None,
) -> Plan:
    """`plan_contraction` through the plan cache: a network of the same structure, sizes and
    planner's settings gets the plan found before."""
    key_inputs = tuple(labels if type(labels) is tuple else tuple(labels) for labels in inputs)
    key_output = output if type(output) is tuple else tuple(output)
    try:
        return _cached_plan(key_inputs, key_output, frozenset(sizes.items()), exhaustive_limit, planner, time_budget)
    except TypeError:  # an unhashable label or size: plan without the cache (plan_contraction names the problem)
        return plan_contraction(
            key_inputs, key_output, sizes, exhaustive_limit=exhaustive_limit, planner=planner, time_budget=time_budget
        )


def clear_cache() -> None:
    """Forget every cached contraction plan."""
    _cached_plan.cache_clear()


def contract(
    inputs: Sequence[Sequence[Edge]],
    output: Sequence[Edge],
    sizes: Mapping[Edge, int],
    arrays: Sequence[np.ndarray],
    *,
    planner: str = "auto",
    time_budget: float | None = None,
) -> np.ndarray:
    """Contract a network: plan it (plans are cached on the structure, the sizes and the
    planner's settings) and execute the plan. `planner` and `time_budget` are those of
    `plan_contraction`.

    Equivalent to ``numpy.einsum`` with one letter per edge, e.g. ``contract([(0, 1), (1, 2)],
    (0, 2), {0: 2, 1: 3, 2: 4}, [a, b])`` is ``a @ b``.
    """
    return execute(cached_plan(inputs, output, sizes, planner=planner, time_budget=time_budget), arrays)
