"""Simplification, as the paper does it by hand (docs/design.md, "Simplification").

- flatten nested sums, and nested products used once (a product used in several places stays a
  shared node, so that evaluating several gradients costs what backprop costs);
- eliminate Delta nodes by merging the edges they join (one stays only where two output axes
  must stay equal), drop Ones legs on edges that have other legs, fold sizes and coefficients;
- drop zeros;
- merge the terms of a sum whose networks are isomorphic (same tensors, same legs, same output
  positions): equal canonical forms (`canonical_form`, linear in the network's size) where the
  networks have one, else a cheap invariant first and exact networkx isomorphism on ties.

Simplification never changes a finite value; docs/design.md ("Simplification rewrites and their
domains") lists where a rewrite turns a NaN or an infinity into a number. The normal forms it
relies on (the Sum normal form and `tidy_network`) live in network.py; this module holds only
the choices of simplification."""

from __future__ import annotations

import importlib
import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import singledispatch
from typing import TYPE_CHECKING, Any, overload

from .expr import Apply, Call, Delta, Expr, Leaf, Ones, Sum, Zero, is_symmetric_leaf, mark_each_derived, walk
from .functions import PowerFunction, apply
from .library import LOG_FN, LOG_SOFTMAX_FN, SOFTMAX_FN
from .network import Network, combine, linear_combination, make_network, tidy_network
from .ops import power

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx


# ---------------------------------------------------------------------------------------------
# one network: element-wise powers of one tensor
# ---------------------------------------------------------------------------------------------
def _base_and_exponent(node: Expr) -> tuple[Expr, float]:
    """x and p for an element-wise power x^p (x itself is x^1)."""
    if isinstance(node, Apply) and isinstance(node.fn, PowerFunction) and node.axes == tuple(range(node.arg.ndim)):
        return node.arg, node.fn.exponent
    return node, 1.0


def merge_powers(net: Network) -> Network:
    """x^p ⊙ x^q = x^(p+q) for occurrences of one tensor on the same edges in the same order
    (the paper's (1 ⊘ Z) ⊙ Z = 1 of sec. 6.3); x^0 leaves the all-ones tensor. Where x is 0 and
    p < 0 < q, or x < 0 and p, q are not integers but p + q is, this gives a number where the
    unsimplified product gives nan (docs/design.md lists the domains)."""
    groups: dict[tuple[Expr, tuple[int, ...]], list[int]] = defaultdict(list)
    bases = [_base_and_exponent(node)[0] if isinstance(node, Apply) else node for node in net.nodes]
    powered = {base for base, node in zip(bases, net.nodes) if base is not node}  # x of some x^p
    if not powered:
        return net
    for k, (node, leg, base) in enumerate(zip(net.nodes, net.legs, bases)):
        if node.ndim and len(set(leg)) == len(leg) and (base is not node or node in powered):
            groups[(base, leg)].append(k)
    merged = [ks for ks in groups.values() if len(ks) > 1]
    if not merged:
        return net
    drop = {k for ks in merged for k in ks}
    nodes = [n for k, n in enumerate(net.nodes) if k not in drop]
    legs = [list(leg) for k, leg in enumerate(net.legs) if k not in drop]
    for ks in merged:
        base = _base_and_exponent(net.nodes[ks[0]])[0]
        total = sum(_base_and_exponent(net.nodes[k])[1] for k in ks)
        nodes.append(power(base, total) if total != 0 else Ones(*base.shape))
        legs.append(list(net.legs[ks[0]]))
    return Network(nodes, legs, net.output, None, net.coef)


# ---------------------------------------------------------------------------------------------
# isomorphism of product terms
# ---------------------------------------------------------------------------------------------
def _leg_label(node: Expr, axis: int) -> Any:
    return "*" if is_symmetric_leaf(node) else axis


def invariant(net: Network) -> tuple:
    """A cheap isomorphism invariant: equal for isomorphic networks."""
    degree = Counter(e for leg in net.legs for e in leg)
    outpos = {e: k for k, e in enumerate(net.output)}
    parts = []
    for node, leg in zip(net.nodes, net.legs):
        desc = [(_leg_label(node, a), outpos.get(e, -1), degree[e], leg.count(e)) for a, e in enumerate(leg)]
        if is_symmetric_leaf(node):
            desc.sort(key=repr)
        parts.append((id(node), tuple(desc)))
    parts.sort(key=repr)
    return (tuple(parts), net.shape)


def incidence_graph(net: Network) -> nx.Graph:
    """The bipartite node/edge incidence graph, with a vertex per leg carrying its axis."""
    g = importlib.import_module("networkx").Graph()  # imported on first use (`_exactly_isomorphic`)
    outpos = {e: k for k, e in enumerate(net.output)}
    for e, size in enumerate(net.sizes):
        g.add_node(("e", e), label=("edge", size, outpos.get(e, -1)))
    for i, (node, leg) in enumerate(zip(net.nodes, net.legs)):
        g.add_node(("n", i), label=("node", node))
        for a, e in enumerate(leg):
            g.add_node(("l", i, a), label=("leg", _leg_label(node, a)))
            g.add_edge(("n", i), ("l", i, a))
            g.add_edge(("l", i, a), ("e", e))
    return g


def isomorphic(a: Network, b: Network) -> bool:
    """Same tensors on the same legs with the same output positions, up to renaming edges and
    reordering nodes."""
    return a is b or (invariant(a) == invariant(b) and _exactly_isomorphic(a, b))


def _exactly_isomorphic(a: Network, b: Network) -> bool:
    """The exact test, on the labelled incidence graphs (networkx VF2)."""
    # networkx is imported here, on first use: it was half of `import tnet`'s time and of the
    # objects Python's garbage collector walks, and few programs ever need this test
    isomorphism = importlib.import_module("networkx.algorithms.isomorphism")
    matcher = isomorphism.GraphMatcher(incidence_graph(a), incidence_graph(b), node_match=_same_label)
    return matcher.is_isomorphic()


def _same_label(x: dict[str, Any], y: dict[str, Any]) -> bool:
    return bool(x["label"] == y["label"])


def canonical_form(net: Network) -> tuple | None:
    """A complete description of the network that does not depend on how its nodes and edges
    are numbered, or None where reading it would need a choice.

    The reading starts at the output edges (their positions fix them) and goes breadth first:
    from an edge to the legs on it, ordered by (tensor, axis); from a node to its legs in axis
    order. A part not connected to the output (a scalar network, trace(A A ... A)) is read
    from each occurrence of its rarest tensor in turn, keeping the smallest reading. Where two
    unread legs on one edge look alike (same tensor, same axis), where a Delta or Ones node
    has several unread legs, or where a second unconnected part remains, the reading would
    have to choose, and None sends the network to the invariant and the exact test (factors
    with no legs are a multiset on the side). Otherwise two networks are isomorphic exactly
    when their canonical forms are equal: an O(size) test per reading, where VF2 can take
    exponential time on chains of one repeated tensor."""
    reader = _Reading(net)
    state = reader.read(dict.fromkeys(net.output), [False] * len(net.nodes), [], list(net.output))
    if state is None:
        return None
    edge_id, seen, order = state
    unread = [i for i, leg in enumerate(net.legs) if leg and not seen[i]]
    if not unread:
        return reader.form(edge_id, order)
    counts = Counter(reader.ids[i] for i in unread)
    rarest = min(counts, key=lambda k: (counts[k], k))
    best = None
    for start in (i for i in unread if reader.ids[i] == rarest):
        ids, seen2 = dict(edge_id), list(seen)
        seen2[start] = True
        queue = [x for x in dict.fromkeys(net.legs[start]) if x not in ids]
        if reader.symmetric[start] and len(queue) > 1:
            return None
        ids.update(dict.fromkeys(queue))  # numbered in reading order by `read`
        done = reader.read(ids, seen2, [*order, start], queue)
        if done is None or not all(seen for seen, leg in zip(done[1], net.legs) if leg):
            return None
        form = reader.form(done[0], done[2])
        if best is None or form < best:
            best = form
    return best


class _Reading:
    """The breadth-first reading of one network that `canonical_form` describes."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.ids = [id(n) for n in net.nodes]
        symmetric_nodes = {id(n) for n in set(net.nodes) if is_symmetric_leaf(n)}
        self.symmetric = [i in symmetric_nodes for i in self.ids] if symmetric_nodes else [False] * len(self.ids)
        self.edge_legs = net.edge_legs()

    def read(
        self, edge_id: dict[int, Any], seen: list[bool], order: list[int], queue: list[int]
    ) -> tuple[dict[int, Any], list[bool], list[int]] | None:
        """Continue the reading from the edges in `queue` (already in `edge_id`, which numbers
        edges in the order they are met); None where it would have to choose."""
        ids, symmetric, node_legs, edge_legs = self.ids, self.symmetric, self.net.legs, self.edge_legs
        for k, e in enumerate(edge_id):
            edge_id[e] = k
        for e in queue:  # the queue grows while it is read
            unread = [i for i, a in edge_legs[e] if not seen[i]]
            if len(unread) > 1:
                keyed = sorted((ids[i], "*" if symmetric[i] else a, i) for i, a in edge_legs[e] if not seen[i])
                if any(keyed[k][:2] == keyed[k + 1][:2] for k in range(len(keyed) - 1)):
                    return None
                unread = [i for _, _, i in keyed]
            for i in unread:
                if seen[i]:
                    continue  # a node with two legs on this edge
                seen[i] = True
                order.append(i)
                leg = node_legs[i]
                if symmetric[i] and len({x for x in leg if x not in edge_id}) > 1:
                    return None
                for x in leg:
                    if x not in edge_id:
                        edge_id[x] = len(edge_id)
                        queue.append(x)
        return edge_id, seen, order

    def form(self, edge_id: dict[int, Any], order: list[int]) -> tuple:
        """The reading as one tuple: the tensors in reading order, their legs' edge numbers
        (sorted for a symmetric tensor), the factors with no legs, and the edges' sizes (ints
        and size names apart: a mask first, so that tuples of two forms compare by type)."""
        net, ids, symmetric = self.net, self.ids, self.symmetric
        number = edge_id.__getitem__
        legs = net.legs
        if any(symmetric):
            numbered = [
                tuple(sorted(map(number, legs[i]))) if symmetric[i] else tuple(map(number, legs[i])) for i in order
            ]
            flat_legs = tuple(itertools.chain.from_iterable(numbered))
        else:
            flat_legs = tuple(map(number, itertools.chain.from_iterable(map(legs.__getitem__, order))))
        tensors = tuple(map(ids.__getitem__, order))
        scalars = tuple(sorted(ids[i] for i, leg in enumerate(legs) if not leg))  # factors with no legs
        sizes = tuple(map(net.sizes.__getitem__, edge_id))  # edge_id's keys are in reading order
        names = tuple(isinstance(size, str) for size in sizes)
        return (tensors, flat_legs, scalars, names, sizes, len(net.output))


def merge_isomorphic_terms(terms: Sequence[tuple[Any, Expr]]) -> list[tuple[Any, Expr]]:
    """Add up the coefficients of terms whose networks are isomorphic: equal canonical forms
    where the networks have one, else equal invariants and the exact test."""
    canonical: dict[tuple, list] = {}
    groups: dict[tuple, list[list]] = defaultdict(list)
    merged: list[list] = []
    for c, t in terms:
        net = t if isinstance(t, Network) else None
        if net is None:
            merged.append([c, t])
            continue
        form = canonical_form(net)
        if form is not None:
            found = canonical.get(form)
            if found is not None:
                found[0] += c * net.coef / found[1].coef
            else:
                canonical[form] = entry = [c, net]
                merged.append(entry)
            continue
        key = invariant(net)
        for entry in groups[key]:  # equal invariants: only the exact test is left
            if entry[1] is net or _exactly_isomorphic(entry[1], net):
                entry[0] += c * net.coef / entry[1].coef
                break
        else:
            entry = [c, net]
            groups[key].append(entry)
            merged.append(entry)
    return [(c, t) for c, t in merged if c != 0]


# ---------------------------------------------------------------------------------------------
# the whole DAG
# ---------------------------------------------------------------------------------------------
def use_counts(roots: Sequence[Expr]) -> Counter[Expr]:
    """How many places use each expression: one per occurrence in a parent, one per root."""
    counts: Counter[Expr] = Counter(roots)
    for e in walk(roots):
        counts.update(e.children)
    return counts


def _cheap(net: Network) -> bool:
    """A product that costs next to nothing to repeat: at most one tensor, only Delta/Ones
    nodes, or an element-wise product of two tensors (no edge summed), which inlined may
    cancel against its neighbours (merge_powers)."""
    if len(net.nodes) <= 1 or all(isinstance(n, (Delta, Ones)) for n in net.nodes):
        return True
    summed = set(range(net.num_edges)) - set(net.output)
    return len(net.nodes) == 2 and not summed and all(len(set(leg)) == len(leg) for leg in net.legs)


class Simplifier:
    """One simplification of a list of roots: each sub-expression simplified once, children
    first; `counts` says which products are shared (and so stay shared nodes)."""

    def __init__(self, roots: Sequence[Expr]) -> None:
        self.counts = use_counts(roots)
        self.memo: dict[Expr, Expr] = {}

    def run(self, roots: Sequence[Expr]) -> list[Expr]:
        for sub in walk(roots):
            self.memo[sub] = _simplified(sub, self)
        return [self.memo[r] for r in roots]


@singledispatch
def _simplified(e: Expr, s: Simplifier) -> Expr:
    """e simplified, its children already simplified in `s.memo`: one rule per node kind."""
    raise TypeError(f"cannot simplify {type(e).__name__}")


@_simplified.register
def _(e: Leaf, s: Simplifier) -> Expr:
    return e


@_simplified.register
def _(e: Apply, s: Simplifier) -> Expr:
    arg = s.memo[e.arg]
    stable = _log_of_softmax(e, arg)
    if stable is not None:
        return stable
    return e if arg is e.arg else apply(e.fn, arg, e.axes)


def _log_of_softmax(e: Apply, arg: Expr) -> Expr | None:
    """log(softmax(x)) as log_softmax(x), which stays finite at large logits; also through a
    rearrangement of the softmax's axes (softmax along an axis that is not the last)."""
    if e.fn is not LOG_FN or e.axes != tuple(range(arg.ndim)):
        return None
    if isinstance(arg, Apply) and arg.fn is SOFTMAX_FN:
        return apply(LOG_SOFTMAX_FN, arg.arg, arg.axes)
    if (
        isinstance(arg, Network)
        and len(arg.nodes) == 1
        and isinstance(arg.nodes[0], Apply)
        and arg.nodes[0].fn is SOFTMAX_FN
        and sorted(arg.output) == sorted(arg.legs[0])
        and len(set(arg.legs[0])) == arg.nodes[0].ndim
    ):
        inner = arg.nodes[0]
        stable = apply(LOG_SOFTMAX_FN, inner.arg, inner.axes)
        return combine([stable], [list(arg.legs[0])], list(arg.output)) if arg.coef == 1 else None
    return None


@_simplified.register
def _(e: Call, s: Simplifier) -> Expr:
    args = [s.memo[a] for a in e.args]
    return e if all(a is b for a, b in zip(args, e.args)) else Call(e.fn, args, e.nbatch)


@_simplified.register
def _(e: Sum, s: Simplifier) -> Expr:
    flat = linear_combination([(c, s.memo[t]) for c, t in e.terms_])
    if not isinstance(flat, Sum):
        return flat
    merged = merge_isomorphic_terms(flat.terms_)
    return linear_combination(merged) if merged else Zero(*e.shape)


@_simplified.register
def _(e: Network, s: Simplifier) -> Expr:
    nodes = [s.memo[n] for n in e.nodes]
    if any(isinstance(n, Zero) for n in nodes):
        return Zero(*e.shape)
    inline = [
        k
        for k, (old, new) in enumerate(zip(e.nodes, nodes))
        if isinstance(new, Network) and (s.counts[old] <= 1 or _cheap(new))
    ]
    flat: Expr | None = _unchanged_but_scalars(e, nodes, inline)
    if flat is None:
        flat = combine(nodes, [list(leg) for leg in e.legs], list(e.output), e.coef, inline=inline)
    if not isinstance(flat, Network):
        return flat
    tidy = tidy_network(merge_powers(flat))
    if len(tidy.nodes) != 1:
        return tidy
    return make_network(tidy.nodes, tidy.legs, tidy.output, None, tidy.coef)


def _unchanged_but_scalars(e: Network, nodes: list[Expr], inline: list[int]) -> Network | None:
    """e itself where no node changed but for scalar factors to inline (networks of no node
    and no leg, such as a backprop seed: only their coefficients count), with those folded
    into the coefficient; None otherwise (`combine` inlines in general). e's edges keep their
    numbering, as only legless nodes go: no relabelling, which on a gradient of many long terms
    is most of the work."""
    if not inline:
        return None
    scalars = set(inline)
    coef = e.coef
    for k, (old, new) in enumerate(zip(e.nodes, nodes)):
        if k in scalars:
            if not (isinstance(new, Network) and not new.nodes and not e.legs[k]):
                return None
            coef = coef * new.coef
        elif new is not old:
            return None
    if coef == 0:
        return None  # combine makes it Zero
    kept = [k for k in range(len(nodes)) if k not in scalars]
    return Network._checked(
        tuple(nodes[k] for k in kept), [e.legs[k] for k in kept], e.output, dict(enumerate(e.sizes)), coef
    )


@overload
def simplify(e: Expr) -> Expr: ...
@overload
def simplify(e: Sequence[Expr]) -> list[Expr]: ...
def simplify(e: Expr | Sequence[Expr]) -> Expr | list[Expr]:
    """The simplified expression (or list of expressions, simplified together so that the
    products they share stay shared). A finite value never changes (docs/design.md lists the
    rewrites and their domains)."""
    single = isinstance(e, Expr)
    roots = [e] if isinstance(e, Expr) else list(e)
    out = Simplifier(roots).run(roots)
    mark_each_derived([(o, r) for r, o in zip(roots, out) if o is not r])
    return out[0] if single else out
