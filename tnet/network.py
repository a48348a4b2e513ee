"""Network, the node of one product term, and every normal form the layers above rely on.

- `Network`: node occurrences joined by hyperedges, with an ordered output (docs/design.md).
- `combine(operands, labels, output)`: the einsum-like builder every operator is made of; it
  inlines operands that are themselves networks, so products stay flat (one node per tensor
  occurrence).
- `scale`, `linear_combination`: the normal form of a Sum (nested sums flattened, equal terms
  merged, zeros dropped).
- `tidy_network`: the normal form of one network (Delta nodes merged away, Ones legs dropped).
- `as_terms`, `to_einsum`, `einsum_letters`, `UnionFind`: shared small machinery."""

from __future__ import annotations

import itertools
import string
from collections import Counter
from collections.abc import Hashable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, Generic, TypeVar

import numpy as np

from .errors import AxisError, ShapeError
from .expr import Delta, Expr, Ones, Shape, Size, Sum, Zero, _intern, _where, edge_sizes, first_leg, unify_sizes


class Network(Expr):
    """One product term: node occurrences joined by hyperedges, with an ordered output.

    - `nodes[i]` is an expression; `legs[i][a]` is the edge that axis `a` of node i lies on.
    - Edges are ints 0..len(sizes)-1; `sizes[e]` is edge e's size.
    - `output` lists the edges of the result in order (each at most once). An edge not in the
      output is summed; an output edge with several legs is fused; two legs of one node on one
      edge is a trace. This is exactly einsum with one letter per edge.
    - `coef` is a scalar factor.

    Edges are renumbered canonically (order of first appearance over legs, then output), so two
    networks that differ only in edge names are the same object."""

    __slots__ = ("nodes", "legs", "sizes", "output", "coef")
    nodes: tuple[Expr, ...]
    legs: tuple[tuple[int, ...], ...]
    sizes: tuple[Size, ...]
    output: tuple[int, ...]
    coef: complex | float

    def __new__(
        cls,
        nodes: Sequence[Expr],
        legs: Sequence[Sequence[Any]],
        output: Sequence[Any],
        sizes: Mapping[Any, Size] | None = None,
        coef: float | complex = 1.0,
    ) -> Network:
        nodes = tuple(nodes)
        leg_tuples = [tuple(leg) for leg in legs]
        known = edge_sizes(nodes, leg_tuples, "node")
        output = tuple(output)
        if len(set(output)) != len(output):
            raise AxisError(f"an edge appears twice in the output {output!r}; use a Delta node for a diagonal")
        for edge in output:
            if edge not in known:
                if sizes is not None and edge in sizes:
                    raise ShapeError(f"output edge {edge!r} has no leg: add a Ones node to broadcast")
                raise ShapeError(f"output edge {edge!r} is on no node")
        if sizes:
            for edge, size in sizes.items():
                if edge in known and known[edge] != size:
                    known[edge] = unify_sizes(known[edge], size, partial(_edge_owner, edge, nodes, leg_tuples))
        return cls._checked(nodes, leg_tuples, output, known, coef)

    @classmethod
    def _checked(
        cls,
        nodes: tuple[Expr, ...],
        legs: Sequence[tuple[Hashable, ...]],
        output: Sequence[Hashable],
        known: Mapping[Hashable, Size],
        coef: float | complex,
    ) -> Network:
        """The network of arguments already checked: `known` gives the size of every edge on a
        leg (and of no other), keyed in the order in which the legs first meet the edges."""
        # canonical renumbering: edges numbered in the order the legs first meet them
        rename = {edge: k for k, edge in enumerate(known)}
        number = rename.__getitem__
        canon_legs = tuple([tuple(map(number, leg)) for leg in legs])
        canon_out = tuple(map(number, output))
        canon_sizes = tuple(known.values())
        coef = coef.item() if isinstance(coef, np.generic) else coef
        if isinstance(coef, complex) and coef.imag == 0:
            coef = coef.real
        coef = float(coef) if not isinstance(coef, complex) else coef

        def build(obj: Network) -> None:
            object.__setattr__(obj, "nodes", nodes)
            object.__setattr__(obj, "legs", canon_legs)
            object.__setattr__(obj, "sizes", canon_sizes)
            object.__setattr__(obj, "output", canon_out)
            object.__setattr__(obj, "coef", coef)
            object.__setattr__(obj, "shape", tuple(canon_sizes[e] for e in canon_out))

        return _intern(cls, (nodes, canon_legs, canon_sizes, canon_out, coef), build)

    def _args(self) -> tuple[Any, ...]:
        return (self.nodes, self.legs, self.output, dict(enumerate(self.sizes)), self.coef)

    @property
    def children(self) -> tuple[Expr, ...]:
        return self.nodes

    @property
    def label(self) -> str:
        """The labels of the nodes in parentheses; a product nested more than two levels deep
        is written "(…)", so that a label stays short however deep the graph."""
        return _network_label(self, 2)

    @property
    def num_edges(self) -> int:
        return len(self.sizes)

    def edge_legs(self) -> list[list[tuple[int, int]]]:
        """For each edge, the (node index, axis) pairs on it."""
        found: list[list[tuple[int, int]]] = [[] for _ in self.sizes]
        for i, leg in enumerate(self.legs):
            for axis, edge in enumerate(leg):
                found[edge].append((i, axis))
        return found


def _edge_owner(edge: Any, nodes: Sequence[Expr], legs: Sequence[Sequence[Any]]) -> str:
    return f"edge {edge!r} ({_where(first_leg(nodes, legs, edge))})"


_fresh = itertools.count()  # labels are renumbered canonically, so the count never shows in a result


def fresh() -> tuple[str, int]:
    """A new edge label that no caller can have used."""
    return ("_e", next(_fresh))


H = TypeVar("H", bound=Hashable)


class UnionFind(Generic[H]):
    """Disjoint sets of hashable items (edge labels), with path compression."""

    def __init__(self) -> None:
        self.parent: dict[H, H] = {}

    def find(self, x: H) -> H:
        parent = self.parent
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:
            nxt = parent.get(x, x)
            parent[x] = root
            x = nxt
        return root

    def union(self, a: H, b: H) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def scale(e: Expr, c: Any) -> Expr:
    """c * e for a scalar c."""
    if c == 1:
        return e
    if c == 0 or isinstance(e, Zero):
        return Zero(*e.shape)
    if isinstance(e, Network):
        return Network(e.nodes, e.legs, e.output, None, e.coef * c)
    if isinstance(e, Sum):
        return Sum((tc * c, t) for tc, t in e.terms_)
    labels = tuple(range(e.ndim))
    return Network([e], [labels], labels, None, c)


def linear_combination(terms: Sequence[tuple[Any, Expr]]) -> Expr:
    """sum of c * e over the terms, all of one shape; nested Sums flattened, equal terms merged,
    zeros dropped. No broadcasting (see `add`).

    A long Sum first with coefficient 1, plus a few terms (s + t, and so `+` or `sum()` in a
    loop), is extended in time proportional to the few terms (`Sum.extended`); the result is
    the one the general path builds."""
    if len(terms) > 1 and terms[0][0] == 1 and isinstance(terms[0][1], Sum) and len(terms[0][1].terms_) > len(terms):
        extended = _extend_sum(terms[0][1], terms[1:])
        if extended is not None:
            return extended
    merged: dict[Expr, list[Any]] = {}
    shape = None
    for c, t in terms:
        if shape is None:
            shape = t.shape
        else:
            _check_addable(shape, t.shape)
        for flat_c, flat_t in _flat_terms(c, t):
            if flat_t in merged:
                merged[flat_t][0] += flat_c
            else:
                merged[flat_t] = [flat_c, flat_t]
    if shape is None:
        raise ShapeError("linear_combination needs at least one term")
    kept = [(c, t) for c, t in merged.values() if c != 0]
    if not kept:
        return Zero(*shape)
    if len(kept) == 1:
        return scale(kept[0][1], kept[0][0])
    return Sum(kept)


def _check_addable(shape: Shape, other: Shape) -> None:
    if len(other) != len(shape) or any(
        isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(shape, other)
    ):
        raise ShapeError(f"cannot add tensors of shapes {shape} and {other}")


def _flat_terms(c: Any, t: Expr) -> Iterator[tuple[Any, Expr]]:
    """c * t as (coefficient, term) pairs in the Sum normal form, in order: nested Sums
    flattened, zero terms dropped, a network's coefficient moved onto its term."""
    stack = [(c, t)]
    while stack:
        c, t = stack.pop()
        if c == 0 or isinstance(t, Zero):
            continue
        if isinstance(t, Sum):
            stack.extend((c * tc, tt) for tc, tt in reversed(t.terms_))
            continue
        if isinstance(t, Network) and t.coef != 1:
            c, t = c * t.coef, Network(t.nodes, t.legs, t.output, None, 1.0)
        yield c, t


def _extend_sum(base: Sum, more: Sequence[tuple[Any, Expr]]) -> Expr | None:
    """base + the terms `more`, flattened and merged as `linear_combination` does, when every
    term of base stays (None otherwise: the general path handles a cancellation)."""
    fresh: dict[Expr, list[Any]] = {}
    bumped: dict[int, Any] = {}
    for c, t in more:
        _check_addable(base.shape, t.shape)
        for flat_c, flat_t in _flat_terms(c, t):
            k = base.position(flat_t)
            if k is not None:
                bumped[k] = bumped.get(k, base.terms_[k][0]) + flat_c
            elif flat_t in fresh:
                fresh[flat_t][0] += flat_c
            else:
                fresh[flat_t] = [flat_c, flat_t]
    if any(c == 0 for c in bumped.values()):
        return None
    appended = [(c, t) for c, t in fresh.values() if c != 0]
    if bumped:
        terms = list(base.terms_)
        for k, c in bumped.items():
            terms[k] = (c, terms[k][1])
        return Sum(terms + appended)
    return base.extended(appended) if appended else base


def tidy_network(net: Network) -> Network:
    """The same product with Delta nodes merged away (kept only between output axes that must
    stay equal), Ones legs dropped where another leg shares the edge, and sums over Ones-only
    edges folded into the coefficient."""
    if not any(isinstance(n, (Delta, Ones)) for n in net.nodes):
        return net
    out_set = set(net.output)
    uf: UnionFind[int] = UnionFind()
    has_out: dict[Any, bool] = {e: e in out_set for e in range(net.num_edges)}
    nodes: list[Expr] = []
    legs: list[list[int]] = []
    deltas: list[tuple[int, ...]] = []
    for node, net_leg in zip(net.nodes, net.legs):
        if isinstance(node, Delta):
            deltas.append(net_leg)
        else:
            nodes.append(node)
            legs.append(list(net_leg))
    kept_deltas: list[list[int]] = []
    merged_roots: list[int] = []
    for delta_leg in deltas:
        roots = []
        for e in delta_leg:
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
    for kept in kept_deltas:
        nodes.append(Delta(net.sizes[kept[0]], len(kept)))
        legs.append(list(kept))
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
    size_of = edge_sizes(operands, labels)
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
        return linear_combination([(c, combine([t], labels, output, coef)) for c, t in operands[0].terms_])

    nodes: list[Expr] = []
    legs: list[tuple[Hashable, ...]] = []
    inner_size: dict[Hashable, Size] = {}  # the size of each edge inside an inlined network
    uf: UnionFind[Hashable] = UnionFind()
    chosen = inline if isinstance(inline, bool) else set(inline)
    for k, (op, lab) in enumerate(zip(operands, labels)):
        if isinstance(op, Network) and (chosen is True or (chosen is not False and k in chosen)):
            local = [fresh() for _ in op.sizes]
            inner_size.update(zip(local, op.sizes))
            for edge, label in zip(op.output, lab):
                uf.union(label, local[edge])
            for node, leg in zip(op.nodes, op.legs):
                nodes.append(node)
                legs.append(tuple([local[e] for e in leg]))
            coef = coef * op.coef
        else:
            nodes.append(op)
            legs.append(tuple(lab))
    # distinct labels never merge: inlining only joins an operand's own output edges to the
    # labels it was given (which stay the roots), so only the inner labels move
    root = {x: uf.find(x) for x in list(uf.parent)}
    if root:
        legs = [tuple([root.get(e, e) for e in leg]) for leg in legs]
    if len(nodes) == 1 and coef == 1 and len(set(legs[0])) == len(legs[0]) and legs[0] == output:
        return nodes[0]
    # sizes were checked by edge_sizes above (an inlined network's inner edges by the network)
    known = {
        e: size_of[e] if e in size_of else inner_size[e] for e in dict.fromkeys(itertools.chain.from_iterable(legs))
    }
    return Network._checked(tuple(nodes), legs, output, known, coef)


def make_network(
    nodes: Sequence[Expr],
    legs: Sequence[Sequence[Hashable]],
    output: Sequence[Hashable],
    sizes: dict | None = None,
    coef: float | complex = 1.0,
) -> Expr:
    """A Network, or the lone node itself when the network would only restate it."""
    if len(nodes) == 1 and coef == 1 and len(set(legs[0])) == len(legs[0]) and tuple(legs[0]) == tuple(output):
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
        out: list[tuple[Any, Network]] = []
        for c, t in e.terms_:
            out.extend((c * cc, n) for cc, n in as_terms(t))
        return tuple(out)
    n = as_network(e)
    if n.coef == 1:
        return ((1.0, n),)
    return ((n.coef, Network(n.nodes, n.legs, n.output, None, 1.0)),)


_GREEK = "".join(chr(c) for c in range(0x3B1, 0x3CA) if c != 0x3C2)  # α..ω, without final sigma
#: a-z, A-Z (numpy's einsum alphabet), then Greek for display only
EINSUM_ALPHABET = string.ascii_lowercase + string.ascii_uppercase + _GREEK


def einsum_letters(count: int) -> str:
    """One letter per edge, from `EINSUM_ALPHABET`."""
    letters = EINSUM_ALPHABET
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


def _network_label(net: Network, depth: int) -> str:
    if not net.nodes:
        return "scalar"
    if depth == 0:
        return "(…)"
    return "(" + " ".join(_network_label(n, depth - 1) if isinstance(n, Network) else n.label for n in net.nodes) + ")"
