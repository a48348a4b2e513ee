"""Simplification, as the paper does it by hand (DESIGN.md, "Simplification").

- flatten nested sums, and nested products used once (a product used in several places stays a
  shared node, so that evaluating several gradients costs what backprop costs);
- eliminate Delta nodes by merging the edges they join (one stays only where two output axes
  must stay equal), drop Ones legs on edges that have other legs, fold sizes and coefficients;
- drop zeros;
- merge the terms of a sum whose networks are isomorphic (same tensors, same legs, same output
  positions): a cheap invariant first, exact networkx isomorphism only on ties.

Simplification never changes a value."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import networkx as nx
from networkx.algorithms.isomorphism import GraphMatcher

from .expr import Apply, Delta, Expr, Leaf, Network, Ones, Sum, Zero, is_symmetric_leaf, walk
from .network import _UnionFind, combine, make_network
from .ops import linear_combination


# ---------------------------------------------------------------------------------------------
# one network: Delta and Ones nodes
# ---------------------------------------------------------------------------------------------
def tidy_network(net: Network) -> Network:
    """The same product with Delta nodes merged away (kept only between output axes that must
    stay equal), Ones legs dropped where another leg shares the edge, and sums over Ones-only
    edges folded into the coefficient."""
    if not any(isinstance(n, (Delta, Ones)) for n in net.nodes):
        return net
    out_set = set(net.output)
    uf = _UnionFind()
    has_out: dict[Any, bool] = {e: e in out_set for e in range(net.num_edges)}
    nodes: list[Expr] = []
    legs: list[list[int]] = []
    deltas: list[tuple[int, ...]] = []
    for node, leg in zip(net.nodes, net.legs):
        if isinstance(node, Delta):
            deltas.append(leg)
        else:
            nodes.append(node)
            legs.append(list(leg))
    kept_deltas: list[list[int]] = []
    merged_roots: list[int] = []
    for leg in deltas:
        roots = []
        for e in leg:
            r = uf.find(e)
            if r not in roots:
                roots.append(r)
        outs = [r for r in roots if has_out[r]]
        if len(outs) <= 1:
            target = outs[0] if outs else roots[0]
            for r in roots:
                if r != target:
                    uf.union(target, r)
            merged_roots.append(target)
        else:
            for r in roots:
                if not has_out[r]:
                    uf.union(outs[0], r)
            kept_deltas.append(outs)
    for leg in kept_deltas:
        nodes.append(Delta(net.sizes[leg[0]], len(leg)))
        legs.append(list(leg))
    legs = [[uf.find(e) for e in leg] for leg in legs]
    output = [uf.find(e) for e in net.output]
    sizes: dict[Any, Any] = {}
    for e, s in enumerate(net.sizes):
        r = uf.find(e)
        sizes[r] = s if r not in sizes or isinstance(s, int) else sizes[r]
    # an edge that only removed Delta nodes held still sums (or broadcasts) over its size
    covered = {e for leg in legs for e in leg}
    for r in dict.fromkeys(uf.find(t) for t in merged_roots):
        if r not in covered:
            nodes.append(Ones(sizes[r]))
            legs.append([r])
            covered.add(r)
    # Ones legs
    coef = net.coef
    real_legs: Counter = Counter()
    for node, leg in zip(nodes, legs):
        if not isinstance(node, Ones):
            real_legs.update(set(leg))
    out_set = set(output)
    kept_ones_edge: set = set()
    new_nodes: list[Expr] = []
    new_legs: list[list[int]] = []
    for node, leg in zip(nodes, legs):
        if not isinstance(node, Ones):
            new_nodes.append(node)
            new_legs.append(leg)
            continue
        keep = []
        for e in leg:
            if real_legs[e] or e in kept_ones_edge:
                continue  # another leg carries this edge
            if e in out_set:
                keep.append(e)
                kept_ones_edge.add(e)
            elif isinstance(sizes[e], int):
                coef = coef * sizes[e]
                kept_ones_edge.add(e)
            else:
                keep.append(e)
                kept_ones_edge.add(e)
        if keep:
            new_nodes.append(Ones(*[sizes[e] for e in keep]))
            new_legs.append(keep)
    return Network(new_nodes, new_legs, output, sizes, coef)


# ---------------------------------------------------------------------------------------------
# one network: element-wise powers of one tensor
# ---------------------------------------------------------------------------------------------
def _base_and_exponent(node: Expr) -> tuple[Expr, float]:
    """x and p for an element-wise power x^p (x itself is x^1)."""
    if isinstance(node, Apply) and hasattr(node.fn, "exponent") and node.axes == tuple(range(node.arg.ndim)):
        return node.arg, node.fn.exponent
    return node, 1.0


def merge_powers(net: Network) -> Network:
    """x^p ⊙ x^q = x^(p+q) for occurrences of one tensor on the same edges in the same order
    (the paper's (1 ⊘ Z) ⊙ Z = 1 of sec. 6.3); x^0 leaves the all-ones tensor. Where x is 0 and
    p + q = 0 this gives 1 where the unsimplified product gives nan."""
    from .ops import power

    groups: dict[tuple[int, tuple[int, ...]], list[int]] = defaultdict(list)
    for k, (node, leg) in enumerate(zip(net.nodes, net.legs)):
        if node.ndim and len(set(leg)) == len(leg):
            base, p = _base_and_exponent(node)
            if base is not node or any(_base_and_exponent(n)[0] is node for n in net.nodes if n is not node):
                groups[(id(base), leg)].append(k)
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
    g = nx.Graph()
    outpos = {e: k for k, e in enumerate(net.output)}
    for e, size in enumerate(net.sizes):
        g.add_node(("e", e), label=("edge", size, outpos.get(e, -1)))
    for i, (node, leg) in enumerate(zip(net.nodes, net.legs)):
        g.add_node(("n", i), label=("node", id(node)))
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
    matcher = GraphMatcher(incidence_graph(a), incidence_graph(b), node_match=lambda x, y: x["label"] == y["label"])
    return matcher.is_isomorphic()


def merge_isomorphic_terms(terms: Sequence[tuple[Any, Expr]]) -> list[tuple[Any, Expr]]:
    """Add up the coefficients of terms whose networks are isomorphic."""
    groups: dict[tuple, list[list]] = defaultdict(list)
    merged: list[list] = []
    for c, t in terms:
        net = t if isinstance(t, Network) else None
        if net is None:
            merged.append([c, t])
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
def use_counts(roots: Sequence[Expr]) -> Counter:
    """How many places use each expression: one per occurrence in a parent, one per root."""
    counts: Counter = Counter(id(r) for r in roots)
    for e in walk(roots):
        for c in e.children:
            counts[id(c)] += 1
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
    def __init__(self, roots: Sequence[Expr]) -> None:
        self.counts = use_counts(roots)
        self.memo: dict[int, Expr] = {}

    def run(self, roots: Sequence[Expr]) -> list[Expr]:
        for sub in walk(roots):
            self.memo[id(sub)] = self._simplify(sub)
        return [self.memo[id(r)] for r in roots]

    def _simplify(self, e: Expr) -> Expr:
        if isinstance(e, Leaf):
            return e
        if isinstance(e, Apply):
            arg = self.memo[id(e.arg)]
            if arg is e.arg:
                return e
            from .ops import apply

            return apply(e.fn, arg, e.axes)
        if isinstance(e, Sum):
            flat = linear_combination([(c, self.memo[id(t)]) for c, t in e.terms_])
            if not isinstance(flat, Sum):
                return flat
            merged = merge_isomorphic_terms(flat.terms_)
            return linear_combination(merged) if merged else Zero(*e.shape)
        if isinstance(e, Network):
            return self._network(e)
        raise TypeError(f"cannot simplify {type(e).__name__}")

    def _network(self, e: Network) -> Expr:
        nodes = [self.memo[id(n)] for n in e.nodes]
        if any(isinstance(n, Zero) for n in nodes):
            return Zero(*e.shape)
        inline = [
            k
            for k, (old, new) in enumerate(zip(e.nodes, nodes))
            if isinstance(new, Network) and (self.counts[id(old)] <= 1 or _cheap(new))
        ]
        flat = combine(nodes, [list(leg) for leg in e.legs], list(e.output), e.coef, inline=inline)
        if not isinstance(flat, Network):
            return flat
        tidy = tidy_network(merge_powers(flat))
        return make_network(tidy.nodes, tidy.legs, tidy.output, None, tidy.coef)


def simplify(e: Expr | Sequence[Expr]) -> Any:
    """The simplified expression (or list of expressions, simplified together so that the
    products they share stay shared). The value never changes."""
    single = isinstance(e, Expr)
    roots = [e] if single else list(e)
    out = Simplifier(roots).run(roots)
    return out[0] if single else out
