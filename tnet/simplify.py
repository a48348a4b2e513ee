"""Simplification, as the paper does it by hand (docs/design.md, "Simplification").

- flatten nested sums, and nested products used once (a product used in several places stays a
  shared node, so that evaluating several gradients costs what backprop costs);
- eliminate Delta nodes by merging the edges they join (one stays only where two output axes
  must stay equal), drop Ones legs on edges that have other legs, fold sizes and coefficients;
- drop zeros;
- merge the terms of a sum whose networks are isomorphic (same tensors, same legs, same output
  positions): a cheap invariant first, exact networkx isomorphism only on ties.

Simplification never changes a value. The normal forms it relies on (the Sum normal form and
`tidy_network`) live in network.py; this module holds only the choices of simplification."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import singledispatch
from typing import Any, overload

import networkx as nx
from networkx.algorithms.isomorphism import GraphMatcher

from .expr import Apply, Delta, Expr, Leaf, Ones, Sum, Zero, is_symmetric_leaf, mark_derived, walk
from .functions import PowerFunction, apply
from .network import Network, combine, linear_combination, make_network, tidy_network
from .ops import power


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
    p + q = 0 this gives 1 where the unsimplified product gives nan."""
    groups: dict[tuple[Expr, tuple[int, ...]], list[int]] = defaultdict(list)
    bases = [_base_and_exponent(node)[0] for node in net.nodes]
    powered = {base for base, node in zip(bases, net.nodes) if base is not node}  # x of some x^p
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
    g = nx.Graph()
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
    return e if arg is e.arg else apply(e.fn, arg, e.axes)


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
    flat = combine(nodes, [list(leg) for leg in e.legs], list(e.output), e.coef, inline=inline)
    if not isinstance(flat, Network):
        return flat
    tidy = tidy_network(merge_powers(flat))
    return make_network(tidy.nodes, tidy.legs, tidy.output, None, tidy.coef)


@overload
def simplify(e: Expr) -> Expr: ...
@overload
def simplify(e: Sequence[Expr]) -> list[Expr]: ...
def simplify(e: Expr | Sequence[Expr]) -> Expr | list[Expr]:
    """The simplified expression (or list of expressions, simplified together so that the
    products they share stay shared). The value never changes."""
    single = isinstance(e, Expr)
    roots = [e] if isinstance(e, Expr) else list(e)
    out = Simplifier(roots).run(roots)
    for r, o in zip(roots, out):
        if o is not r:
            mark_derived([o], [r])
    return out[0] if single else out
