"""Building product terms: the einsum-like combinator every operator is made of.

`combine(operands, labels, output)` joins operand expressions into one Network, inlining operands
that are themselves networks so that products stay flat (one node per tensor occurrence)."""

from __future__ import annotations

import itertools
import string
from collections.abc import Hashable, Sequence
from typing import Any

from .errors import AxisError, ShapeError
from .expr import Expr, Network, Sum, Zero, edge_sizes

_fresh = itertools.count()


def fresh() -> tuple[str, int]:
    """A new edge label that no caller can have used."""
    return ("_e", next(_fresh))


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}

    def find(self, x: Hashable) -> Hashable:
        parent = self.parent
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:
            nxt = parent.get(x, x)
            parent[x] = root
            x = nxt
        return root

    def union(self, a: Hashable, b: Hashable) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def combine(
    operands: Sequence[Expr],
    labels: Sequence[Sequence[Hashable]],
    output: Sequence[Hashable],
    coef: float | complex = 1.0,
    inline: bool | Sequence[int] = True,
) -> Expr:
    """The network whose nodes are the operands, axis `a` of operand `k` on edge `labels[k][a]`.

    Output labels give the result's axis order; other labels are summed. Operands that are
    networks are inlined (their output edges take the operand's labels). A Zero operand makes
    the result Zero. A single operand shown unchanged comes back as itself. `inline` may list
    the operand indices to inline instead (the others stay nodes even when they are networks)."""
    size_of, _ = edge_sizes(operands, labels)
    output = tuple(output)
    if len(set(output)) != len(output):
        raise AxisError(f"an index appears twice in the output {output!r}")
    for label in output:
        if label not in size_of:
            raise AxisError(f"output index {label!r} does not occur in any operand")
    out_shape = tuple(size_of[label] for label in output)
    if any(isinstance(op, Zero) for op in operands) or coef == 0:
        return Zero(*out_shape)
    if len(operands) == 1 and isinstance(operands[0], Sum) and inline is True:
        # a rearrangement or reduction of a sum is the sum of the rearranged terms
        from .ops import linear_combination

        return linear_combination(
            [(c, combine([t], labels, output, coef)) for c, t in operands[0].terms_]
        )

    nodes: list[Expr] = []
    legs: list[tuple[Hashable, ...]] = []
    uf = _UnionFind()
    for k, (op, lab) in enumerate(zip(operands, labels)):
        if isinstance(op, Network) and (inline is True or (inline is not False and k in inline)):
            local = {e: fresh() for e in range(op.num_edges)}
            for edge, label in zip(op.output, lab):
                uf.union(label, local[edge])
            for node, leg in zip(op.nodes, op.legs):
                nodes.append(node)
                legs.append(tuple(local[e] for e in leg))
            coef = coef * op.coef
        else:
            nodes.append(op)
            legs.append(tuple(lab))
    legs = [tuple(uf.find(e) for e in leg) for leg in legs]
    out = [uf.find(e) for e in output]  # distinct labels never merge: inlining only joins an
    # operand's own output edges to the labels it was given
    sizes = {uf.find(label): size for label, size in size_of.items()}
    return make_network(nodes, legs, out, sizes, coef)


def make_network(
    nodes: Sequence[Expr],
    legs: Sequence[Sequence[Hashable]],
    output: Sequence[Hashable],
    sizes: dict | None = None,
    coef: float | complex = 1.0,
) -> Expr:
    """A Network, or the lone node itself when the network would only restate it."""
    if (
        len(nodes) == 1
        and coef == 1
        and len(set(legs[0])) == len(legs[0])
        and tuple(legs[0]) == tuple(output)
    ):
        return nodes[0]
    return Network(nodes, legs, output, sizes, coef)


def as_network(e: Expr) -> Network:
    """Any expression as a Network (a non-network becomes a one-node network)."""
    if isinstance(e, Network):
        return e
    labels = tuple(range(e.ndim))
    return Network([e], [labels], labels)


def as_terms(e: Expr) -> tuple[tuple[Any, Network], ...]:
    """((coefficient, network with coefficient 1), ...) for any expression."""
    if isinstance(e, Zero):
        return ()
    if isinstance(e, Sum):
        out = []
        for c, t in e.terms_:
            out.extend((c * cc, n) for cc, n in as_terms(t))
        return tuple(out)
    n = as_network(e)
    if n.coef == 1:
        return ((1.0, n),)
    return ((n.coef, Network(n.nodes, n.legs, n.output, None, 1.0)),)


_GREEK = "".join(chr(c) for c in range(0x3B1, 0x3CA) if c != 0x3C2)  # α..ω, without final sigma


def einsum_letters(count: int) -> str:
    """One letter per edge: a-z, A-Z (numpy's einsum alphabet), then Greek for display only."""
    letters = string.ascii_lowercase + string.ascii_uppercase + _GREEK
    if count > len(letters):
        raise ShapeError(f"a network with {count} edges has more edges than einsum strings can name")
    return letters[:count]


def to_einsum(e: Expr) -> str:
    """The einsum string of a single product term, e.g. "ij,jk->ik" (one letter per edge)."""
    terms = as_terms(e)
    if len(terms) != 1:
        raise ShapeError(f"to_einsum needs a single product term, this expression has {len(terms)} terms")
    n = terms[0][1]
    letters = einsum_letters(n.num_edges)
    ins = ",".join("".join(letters[x] for x in leg) for leg in n.legs)
    return ins + "->" + "".join(letters[x] for x in n.output)

