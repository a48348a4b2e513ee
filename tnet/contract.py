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
* the order is a plan tree from orders.py: up to ``exhaustive_limit`` operands optimal (dynamic
  programming over subsets of operands, fewest FLOPs, ties broken on the largest
  intermediate); beyond that as the `planner` chooses (tnet's greedy orders and bisections, or
  opt_einsum's or cotengra's path optimizers from planners.py, each improved by subtree
  reconfiguration), so that a plan prints the same whoever found it.

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import ContractionError
from .orders import Edge, EdgeSizes, Labels, MaskedNetwork, Tree, bits, large_network_tree, optimal_tree
from .planners import PLANNERS, check_planner

__all__ = [
    "ContractionError",
    "PLANNERS",
    "Plan",
    "Step",
    "contract",
    "execute",
    "plan_contraction",
]


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
    sizes: EdgeSizes = field(default_factory=dict, compare=False)
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
def _check_structure(
    inputs: Sequence[Sequence[Edge]], output: Sequence[Edge], sizes: EdgeSizes
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


class _Builder:
    """Turns a plan tree into steps with prepared kernels."""

    def __init__(self, net: MaskedNetwork) -> None:
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
                summed=tuple(label[e] for e in bits(summed)),
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
        kept = frozenset(bits(mask))
        edges, kernel = _unary_kernel(net.edges[i], kept)
        flops = net.unary_flops(i) if reduced else 0
        summed = net.private[i] if reduced else 0
        return self._emit((i,), edges, summed, flops, kernel), mask

    def pair(self, x: int, mx: int, y: int, my: int, keep: int, last: bool) -> int:
        net = self.net
        inv = mx | my
        flops = net.msize(inv) * (2 if inv & ~keep else 1)
        order = tuple(net.index[e] for e in net.output) if last else None
        kept = frozenset(bits(keep))
        edges, kernel = pair_kernel(self.current[x], self.current[y], kept, net.size_of, order)
        if kernel.mode == "matmul" and _disorder(edges, net.rank) > 0:
            # a product's free axes come out a's first: taken the other way round, they may
            # follow the output's order (no transpose after, row-major results that the next
            # element-wise step reads in order)
            swapped, other = pair_kernel(self.current[y], self.current[x], kept, net.size_of, order)
            if _disorder(swapped, net.rank) < _disorder(edges, net.rank):
                return self._emit((y, x), swapped, inv & ~keep, flops, other)
        return self._emit((x, y), edges, inv & ~keep, flops, kernel)

    def build(self, tree: Tree, last: bool = False) -> tuple[int, int, int]:
        """Emit the steps of `tree` (`last`: it is the whole network), left subtree, right
        subtree, then their pair; returns (operand number, edge mask, leaf subset mask). An
        explicit stack, not recursion: a chain of thousands of products is a tree as deep."""
        net = self.net
        holders: dict[int, int] = {}  # edge -> mask of the operands that need it (after their own step)
        for k, m in enumerate(net.reduced):
            for e in bits(m):
                holders[e] = holders.get(e, 0) | 1 << k
        done: list[tuple[int, int, int]] = []
        stack: list[tuple[Tree, bool]] = [(tree, False)]
        while stack:
            node, children_done = stack.pop()
            if node[0] == "leaf":
                t, mask = self.leaf(node[1], node[2])
                done.append((t, mask, 1 << node[1]))
            elif not children_done:
                stack += [(node, True), (node[2], False), (node[1], False)]
            else:
                y, my, sy = done.pop()
                x, mx, sx = done.pop()
                s = sx | sy
                # kept: the output's edges and those an operand outside this subtree needs
                keep = (mx | my) & net.out_mask
                for e in bits((mx | my) & ~keep):
                    if holders.get(e, 0) & ~s:
                        keep |= 1 << e
                done.append((self.pair(x, mx, y, my, keep, last and node is tree), keep, s))
        return done[0]


def _disorder(edges: Sequence[int], rank: Sequence[int]) -> int:
    """How many pairs of `edges` are out of the output's order (`rank`: each edge's position in
    the output, edges not in it after all those that are, by number)."""
    ranks = [rank[e] for e in edges]
    return sum(1 for i, r in enumerate(ranks) for s in ranks[i + 1 :] if s < r)


def _make_plan(net: MaskedNetwork, tree: Tree | None) -> Plan:
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


def _tree_cost(net: MaskedNetwork, tree: Tree) -> tuple[int, int]:
    """(FLOPs, largest intermediate) of a tree, counted as `Plan` counts them."""
    plan = _make_plan(net, tree)
    return plan.flops, plan.largest


def plan_contraction(
    inputs: Sequence[Sequence[Edge]],
    output: Sequence[Edge],
    sizes: EdgeSizes,
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
    net = MaskedNetwork(inputs_t, output_t, sizes)
    n = len(inputs_t)
    if n == 0:
        return _make_plan(net, None)
    if n <= max(exhaustive_limit, 2):
        return _make_plan(net, optimal_tree(net))
    return _make_plan(net, large_network_tree(net, exhaustive_limit, planner, time_budget))


def numpy_path_flops(
    inputs: Sequence[Sequence[Edge]], output: Sequence[Edge], sizes: EdgeSizes, path: Sequence[Any]
) -> int:
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
    sizes: EdgeSizes,
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
    sizes: EdgeSizes,
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
