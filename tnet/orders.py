"""Contraction orders: the tree in which a network's operands are combined two at a time.

A network is held as `MaskedNetwork`: its edges renumbered 0.. and each operand's edges as a
bitmask, with the edges an operand alone holds (summed in its own step) set apart. A plan tree
is a leaf ("leaf", i, reduced), or a node ("pair", left, right); contract.py turns a tree into
the steps of a `Plan`, counting FLOPs with the same convention as here (see contract.py).

- `optimal_tree`: dynamic programming over subsets of operands (fewest FLOPs, ties broken on
  the largest intermediate): optimal, exponential in the number of operands.
- `large_network_tree`: beyond that, starting trees (tnet's greedy orders, recursive spectral
  bisections, or the paths of opt_einsum's and cotengra's optimizers from planners.py, read by
  `path_tree`), each improved by subtree reconfiguration (`_Reconfigurer`: every window of a
  few sub-trees re-solved exactly, pass after pass until none changes), the cheapest kept.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from .planners import DP_LIMIT, auto_paths, library_path

Edge = Hashable
Labels = tuple[Edge, ...]
#: the size of each edge; keyed by Any, not Edge, because a Mapping's key type is invariant:
#: Mapping[Hashable, int] would refuse a caller's dict[str, int]
EdgeSizes = Mapping[Any, int]

# Plan trees of large networks are reconfigured in windows of this many sub-trees, then the
# best one in larger windows (see `_Reconfigurer` and `large_network_tree`).
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


def bits(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


class Sizer:
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


class MaskedNetwork:
    """The network with edges renumbered 0.. and stored as bitmasks."""

    def __init__(self, inputs: tuple[Labels, ...], output: Labels, sizes: EdgeSizes):
        self.inputs = inputs
        self.output = output
        self.labels: list[Edge] = list(dict.fromkeys(e for labels in (*inputs, output) for e in labels))
        self.index = {e: k for k, e in enumerate(self.labels)}
        self.size_of = [int(sizes[e]) for e in self.labels]
        self.msize = Sizer(self.size_of)
        self.edges = [tuple(self.index[e] for e in labels) for labels in inputs]
        self.out_mask = sum(1 << self.index[e] for e in output)
        # each edge's place in the output (edges not in it after, by number): the axis order
        # the products aim for
        out_place = {self.index[e]: k for k, e in enumerate(output)}
        self.rank = [out_place.get(k, len(output) + k) for k in range(len(self.labels))]
        self.distinct = [sum(1 << e for e in set(edges)) for edges in self.edges]
        holders = [0] * len(self.labels)
        for mask in self.distinct:
            for e in bits(mask):
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
Tree = tuple
# How a sub-network can be presented to its parent: (edge mask, FLOPs, largest, tree).
_Option = tuple[int, int, int, Tree]


def _leaf_options(net: MaskedNetwork, i: int) -> list[_Option]:
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


def _best_order(items: list[list[_Option]], need: int, msize: Sizer) -> _Option:
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
        best_tree: Tree = ()
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


def _window_order(items: list[list[_Option]], need: int, size_of: Sequence[int]) -> tuple[int, Tree]:
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
    edges = bits(every)
    local = {e: k for k, e in enumerate(edges)}

    def renumber(mask: int) -> int:
        got = 0
        for e in bits(mask & every):
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

    def tree(s: int, way: int) -> Tree:
        if s & (s - 1) == 0:
            return items[s.bit_length() - 1][way][3]
        a, wa, b, wb = choice[s]
        return ("pair", tree(a, wa), tree(b, wb))

    if n == 1:
        return items[0][0][1], items[0][0][3]
    return kc[full], tree(full, 0)


def optimal_tree(net: MaskedNetwork) -> Tree:
    """The optimal order of the whole network."""
    items = [_leaf_options(net, i) for i in range(len(net.edges))]
    return _best_order(items, net.out_mask, net.msize)[3]


def _greedy_pairs(net: MaskedNetwork, masks: dict[int, int], by: str) -> list[tuple[int, int, int]]:
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
        for e in bits(m):
            count[e] += 1
            holders[e].add(t)
    next_id = max(masks, default=-1) + 1
    heap: list[tuple[int, int, int, int]] = []

    def removable(mx: int, my: int) -> int:
        removed = 0
        for e in bits(mx & my & ~out):
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
        for e in bits(inv):
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
        for e in bits(mz):
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


def _greedy_tree(net: MaskedNetwork, by: str) -> Tree:
    n = len(net.edges)
    trees: dict[int, Tree] = {i: ("leaf", i, True) for i in range(n)}
    for x, y, _ in _greedy_pairs(net, dict(enumerate(net.reduced)), by):
        trees[len(trees)] = ("pair", trees[x], trees[y])
    return trees[len(trees) - 1]


def _bisection_tree(net: MaskedNetwork, balance: float) -> Tree:
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
        for e in bits(mask):
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

    def split(part: list[int], need: int) -> Tree:
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
            for e in bits(net.reduced[i]):
                total[e] = total.get(e, 0) + 1
        inside: dict[int, int] = {}
        crossing = 0.0
        lo = max(1, int(np.ceil(balance * m)))
        hi = min(m - 1, max(lo, int(np.floor((1 - balance) * m))))
        best, cut = -1.0, lo
        for k in range(hi):
            for e in bits(net.reduced[order[k]]):
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

    def __init__(self, net: MaskedNetwork, tree: Tree) -> None:
        self.net = net
        n = self.n = len(net.edges)
        self.left = [-1] * max(2 * n - 1, 1)
        self.right = [-1] * max(2 * n - 1, 1)
        self.inside = list(net.reduced) + [0] * max(n - 1, 0)  # union of the leaves' edges
        self.mask = list(net.reduced) + [0] * max(n - 1, 0)  # edges of the node's result
        self.red = [True] * n  # the leaf's private edges summed in a step of its own
        self.table: dict[tuple[Any, ...], tuple[int, Tree]] = {}
        # tuples -> arrays, without recursion (a greedy tree may be as deep as it is wide)
        next_id = n
        stack: list[tuple[Tree, int, int]] = [(tree, -1, 0)]  # (subtree, parent, side)
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

    def tree(self) -> Tree:
        """The tree as nested tuples."""
        built: dict[int, Tree] = {}
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
        stack: list[tuple[Tree, int, int]] = [(arrangement, -1, 0)]
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


def path_tree(n: int, path: Sequence[tuple[int, ...]]) -> Tree:
    """The plan tree of a contraction path in opt_einsum's format (positions in the list of
    remaining operands, each result appended at the end); a step of three or more operands is
    taken pairwise, left to right, and a step of one is the operand's own leaf step."""
    current: list[Tree] = [("leaf", i, True) for i in range(n)]
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


def large_network_tree(net: MaskedNetwork, exhaustive_limit: int, planner: str, time_budget: float | None) -> Tree:
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
    starts: list[Tree] = []
    if planner in ("auto", "greedy"):
        starts += [_greedy_tree(net, by) for by in (("size",) if planner == "auto" else ("size", "flops"))]
    if planner == "auto":
        if n <= _BISECTION_LIMIT:
            starts += [_bisection_tree(net, balance) for balance in _BISECTION_BALANCES]
        budget = None if time_budget is None else _SEARCH_SHARE * time_budget
        starts += [path_tree(n, path) for path in auto_paths(net.edges, output, net.size_of, budget)]
    elif planner != "greedy":
        path = library_path(net.edges, output, net.size_of, planner, time_budget and _SEARCH_SHARE * time_budget)
        starts.append(path_tree(n, path))
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
