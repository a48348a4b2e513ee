"""Graphviz drawings of tnet expressions (DESIGN.md, "Drawing conventions").

The picture of one product term (a `Network`):

- one node per tensor occurrence, labelled by its name (``I`` / ``δ`` for Delta, ``1`` for
  Ones); the differential ``dX`` is filled in gold;
- each node carries one small numbered cell per axis, its *pins* (1-based axis numbers, the
  paper's subscripts, in blue): every line starts or ends at the pin of the leg it stands for,
  so every leg end is labelled, and no label floats free to overlap another;
- an edge with two legs is one line between the two pins;
- an edge with three or more legs, or an output edge with two or more legs (a *fused* output),
  is a small black dot with one line per leg;
- an edge with a single leg that is summed ends in a small ``Σ``;
- two legs of one node on one edge (a trace) is a loop from one pin of that node to the other,
  through a tiny bend point below it;
- the output edges end in the numbered output markers, one row of cells 1..n in output order,
  left to right (the edge-ordering metadata that the paper's own graph lacks);
- a coefficient other than 1 labels a box around the network.

Expressions made of other expressions:

- a function application f^P(A) is a box (cluster) around the drawing of A, with a *handle*
  node named after the function (``tanh``, ``softmax¹`` for P = (1), ``(·)²``): A's outputs
  enter the handle's top pins (numbered by A's output position), and the handle's own pins
  are the result's axes, joined to the rest of the picture;
- a sum is a box holding one box per term, each labelled with its signed coefficient; inside a
  network its terms meet at a ``+`` handle, at the top level each term has its own markers
  (many terms are laid out in rows);
- a product used as a node (a nested network) is a box with a ``×`` handle;
- a composite sub-expression that would be drawn more than once (hash-consing shares it, e.g.
  tanh(A_1) in a deep net's gradient) is drawn once, in a box titled with a short name such as
  ``tanh#1``, and every use is a dashed node with that name. The definitions come first, top to
  bottom in the order they depend on each other, like the lines of a program.

Node and cluster ids are numbered in traversal order, never from `id()`, so the same
expression always gives the same DOT text, byte for byte. Building the DOT source needs only
the `graphviz` Python package, not the `dot` program.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import graphviz

from tnet.expr import Apply, Call, Constant, Delta, Differential, Expr, Leaf, Ones, Sum, Variable, Zero, walk
from tnet.functions import PowerFunction
from tnet.network import Network
from tnet.notation.names import format_number

__all__ = ["to_dot", "function_label", "format_coefficient"]

# ---------------------------------------------------------------------------------------------
# style
# ---------------------------------------------------------------------------------------------
FONT = "Helvetica"
LEG_COLOR = "#1565c0"  # the paper writes its bracket notation in blue
PIN_RULE = "#a0a0a0"  # the line between a node's name and its numbered legs
GRAPH_ATTR = {
    "rankdir": "TB",
    "newrank": "true",
    "fontname": FONT,
    "fontsize": "12",
    "labelloc": "t",
    "labeljust": "l",
    "nodesep": "0.3",
    "ranksep": "0.45",
    "margin": "0.1",
    "pad": "0.1",
    "bgcolor": "white",
}
NODE_ATTR = {"fontname": FONT, "fontsize": "11", "height": "0.3", "width": "0.3", "margin": "0.04,0.02"}
EDGE_ATTR = {"dir": "none", "color": "#404040"}
CLUSTER_STYLE = {
    Apply: {"style": "rounded", "color": "#2e7d32", "fontcolor": "#2e7d32", "fontsize": "10", "margin": "5"},
    Call: {"style": "rounded", "color": "#2e7d32", "fontcolor": "#2e7d32", "fontsize": "10", "margin": "5"},
    Sum: {"style": "rounded,dashed", "color": "#6a1b9a", "fontcolor": "#6a1b9a", "fontsize": "10", "margin": "5"},
    Network: {"style": "rounded", "color": "#8d6e63", "fontcolor": "#6d4c41", "fontsize": "10", "margin": "5"},
}
TERM_STYLE = {"style": "rounded", "color": "#b39ddb", "fontcolor": "#4a148c", "fontsize": "10", "margin": "5"}
_HANDLE = {"border": "1", "style": "rounded"}
HANDLE_STYLE = {
    Apply: {**_HANDLE, "color": "#2e7d32", "fill": "#e8f5e9", "pin": "#ffffff"},
    Call: {**_HANDLE, "color": "#2e7d32", "fill": "#e8f5e9", "pin": "#ffffff"},
    Sum: {**_HANDLE, "color": "#6a1b9a", "fill": "#f3e5f5", "pin": "#ffffff"},
    Network: {**_HANDLE, "color": "#6d4c41", "fill": "#efebe9", "pin": "#ffffff"},
}
VARIABLE_STYLE = {"border": "1", "style": "rounded", "color": "#212121", "fill": "#ffffff", "pin": "#ffffff"}
DIFFERENTIAL_STYLE = {"border": "2", "style": "rounded", "color": "#e65100", "fill": "#ffca28", "pin": "#ffe082"}
CONSTANT_STYLE = {"border": "1", "style": "rounded", "color": "#616161", "fill": "#eeeeee", "pin": "#ffffff"}
SPECIAL_STYLE = {"border": "1", "style": "rounded", "color": "#757575", "fill": "#f5f5f5", "pin": "#ffffff"}
USE_STYLE = {"border": "1", "style": "rounded,dashed", "color": "#212121", "fill": "#fafafa", "pin": "#ffffff"}
MARKER_COLOR, MARKER_FILL, MARKER_TEXT = "#1565c0", "#e3f2fd", "#0d47a1"
DOT_ATTR = {"label": "", "shape": "point", "width": "0.09", "height": "0.09", "color": "black"}
BEND_ATTR = {"label": "", "shape": "point", "width": "0.03", "height": "0.03", "color": "#404040"}
SIGMA_ATTR = {"label": "Σ", "shape": "plaintext", "fontsize": "10", "width": "0.1", "height": "0.1"}

#: a sum's terms are drawn side by side, in rows of at most this many terms and (about) nodes
ROW_TERMS = 4
ROW_NODES = 40

_SUPERSCRIPT = str.maketrans("0123456789-.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·")


# ---------------------------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------------------------
def format_coefficient(c: Any) -> str:
    """A coefficient as a short number: 2, -0.5, 0.25, a fraction where the decimal would be
    long (-1/6, 2/3), (1+2j) (the notation's one number formatter, in its drawing style)."""
    return format_number(c, "short")


def _signed(c: Any) -> str:
    """'+ 2 ×' / '− 0.5 ×': the label of one term of a sum."""
    if isinstance(c, complex) and c.imag:
        return f"+ {format_coefficient(c)} ×"
    value = c.real if isinstance(c, complex) else float(c)
    sign = "−" if value < 0 else "+"
    return f"{sign} {format_coefficient(abs(value))} ×"


def function_label(e: Apply) -> str:
    """The name shown for f^P(A): the function's name, powers as (·)², and the positions P
    (1-based, as superscripts) unless f is applied element-wise in the ordinary way."""
    name = e.fn.name
    if isinstance(e.fn, PowerFunction):
        exponent = e.fn.exponent
        shown = str(int(exponent)) if exponent.is_integer() else f"{exponent:g}"
        name = "(·)" + shown.translate(_SUPERSCRIPT)
    elementwise = not e.core_axes and e.axes == tuple(range(e.arg.ndim))
    if elementwise or not e.axes:
        return name
    return name + "".join(str(a + 1) for a in e.axes).translate(_SUPERSCRIPT)


def _leaf_style(e: Leaf) -> tuple[str, dict[str, str]]:
    """The name shown for a leaf tensor and the style of its node."""
    if isinstance(e, Differential):
        return e.name, DIFFERENTIAL_STYLE
    if isinstance(e, Variable):
        return e.name, VARIABLE_STYLE
    if isinstance(e, Constant):
        return (e.name if len(e.name) <= 24 else e.name[:21] + "..."), CONSTANT_STYLE
    if isinstance(e, (Delta, Ones, Zero)):
        return e.label, SPECIAL_STYLE
    return e.label, VARIABLE_STYLE


def _composite_kind(e: Expr) -> str:
    if isinstance(e, Apply):
        return function_label(e)
    if isinstance(e, Call):
        return e.fn.name
    if isinstance(e, Sum):
        return "sum"
    return "prod"


# ---------------------------------------------------------------------------------------------
# an intermediate picture, emitted into graphviz at the end
# ---------------------------------------------------------------------------------------------
@dataclass
class _Box:
    """A cluster (or the root graph): its own nodes and nested boxes."""

    name: str | None
    attrs: dict[str, str] = field(default_factory=dict)
    nodes: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    boxes: list[_Box] = field(default_factory=list)


# a leg end: a node, or one of its pins ("n3:o2" is pin 2 of node n3)
_End = str

# A drawing step that may draw parts of itself: a generator that yields the generator of each
# part it draws and receives that part's result; `_run` drives them with an explicit stack, in
# exactly the order plain recursive calls would take, so that deep expressions (thousands of
# nested boxes) draw without Python recursion.
_Steps = Generator[Any, Any, Any]


def _run(steps: _Steps) -> Any:
    """The result of a drawing step, its parts drawn depth first."""
    stack = [steps]
    value: Any = None
    while stack:
        try:
            part = stack[-1].send(value)
        except StopIteration as done:
            stack.pop()
            value = done.value
            continue
        stack.append(part)
        value = None
    return value


class _Drawer:
    """Walks one expression and collects its picture: boxes with their nodes, and the lines
    (kept apart and written at the top level, so that no line pulls a node into a box)."""

    def __init__(self, root: Expr) -> None:
        self.root = root
        self.count = 0
        self.clusters = 0
        self.edges: list[tuple[str, str, dict[str, str]]] = []
        self.heads: set[str] = set()  # nodes that some line enters
        self.shared = _shared_composites(root)
        self.shared_name: dict[Expr, str] = {}

    # -- ids ------------------------------------------------------------------------------------
    def node(self, box: _Box, **attrs: str) -> str:
        name = f"n{self.count}"
        self.count += 1
        box.nodes.append((name, attrs))
        return name

    def box(self, parent: _Box, **attrs: str) -> _Box:
        child = _Box(f"cluster_{self.clusters}", dict(attrs))
        self.clusters += 1
        parent.boxes.append(child)
        return child

    def link(self, tail: _End, head: _End) -> None:
        """A line from one leg end to another."""
        self.edges.append((tail, head, {}))
        self.heads.add(head.split(":")[0])

    # -- the whole picture --------------------------------------------------------------------
    def draw(self, top: _Box) -> None:
        order = [e for e in walk([self.root]) if e in self.shared]
        for k, e in enumerate(order, start=1):
            self.shared_name[e] = f"{_composite_kind(e)}#{k}"
        previous: list[str] = []
        for e in order:  # definitions first, children before the expressions that use them
            start = self.count
            handle = _run(self.composite(e, top, title=self.shared_name[e]))
            self.stack(previous, start, self.count)
            previous = [handle]
        root = self.root
        if isinstance(root, Sum):
            row: list[str] = []  # the markers of the terms in the current row
            row_nodes = 0
            for k, (c, term) in enumerate(root.terms_):
                coef = c
                if isinstance(term, Network) and term not in self.shared:
                    coef = c * term.coef
                start = self.count
                box = self.box(top, label=_signed(coef), **TERM_STYLE)
                ends = _run(self.body(term, box, with_coef=False))
                markers = self.markers(ends, box)
                size = self.count - start
                if k and (row_nodes + size > ROW_NODES or len(row) >= ROW_TERMS):
                    previous, row, row_nodes = row, [], 0  # a new row of terms, below the last
                self.stack(previous, start, self.count)
                row.append(markers or f"n{self.count - 1}")
                row_nodes += size
        else:
            start = self.count
            box = top
            if isinstance(root, Network) and root.coef != 1:
                box = self.box(top, label=f"{format_coefficient(root.coef)} ×", **CLUSTER_STYLE[Network])
            ends = _run(self.body(root, box, with_coef=False))
            self.markers(ends, box)
            self.stack(previous, start, self.count)

    def stack(self, above: list[str], start: int, end: int) -> None:
        """Keep the nodes numbered start..end-1 below the nodes `above` (the handle of the
        definition before them, or the markers of the row of terms above), so that the picture
        reads top to bottom, like a program, instead of growing sideways."""
        if not above:
            return
        for k in range(start, end):
            name = f"n{k}"
            if name not in self.heads:
                for node in above:
                    self.edges.append((node, name, {"style": "invis"}))

    def markers(self, ends: list[_End], box: _Box) -> str | None:
        """The output markers 1..n: one node holding a row of numbered cells (ports m1..mn),
        so that they are always in output order, left to right; each joined to its end."""
        if not ends:
            return None
        cells = "".join(
            f'<TD PORT="m{k}" STYLE="rounded" BORDER="1" COLOR="{MARKER_COLOR}" BGCOLOR="{MARKER_FILL}" '
            f'WIDTH="15" HEIGHT="15" CELLPADDING="1"><FONT POINT-SIZE="9" COLOR="{MARKER_TEXT}">{k}</FONT></TD>'
            for k in range(1, len(ends) + 1)
        )
        label = f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="7" CELLPADDING="0"><TR>{cells}</TR></TABLE>>'
        markers = self.node(box, label=label, shape="plain", tooltip="output axes, in order")
        for k, end in enumerate(ends, start=1):
            self.link(end, f"{markers}:m{k}")
        return markers

    # -- pieces ---------------------------------------------------------------------------------
    def body(self, e: Expr, box: _Box, with_coef: bool = True) -> _Steps:
        """Draw e into box; return its output ends, one per axis, in order."""
        if isinstance(e, Network) and e not in self.shared:
            if with_coef and e.coef != 1:
                box = self.box(box, label=f"{format_coefficient(e.coef)} ×", **CLUSTER_STYLE[Network])
            return (yield self.network(e, box))
        return (yield self.tensor(e, box))

    def tensor(self, e: Expr, box: _Box) -> _Steps:
        """One node standing for e, as its leg ends (one per axis): a leaf, a use of a shared
        definition, or the handle of a composite drawn in place."""
        if isinstance(e, Leaf):
            name, style = _leaf_style(e)
            return _pin_ends(self.node(box, label=_pins(name, 0, e.ndim, style), shape="plain"), e.ndim)
        if e in self.shared:
            name = self.shared_name[e]
            use = self.node(box, label=_pins(name, 0, e.ndim, USE_STYLE), shape="plain")
            return _pin_ends(use, e.ndim)
        return _pin_ends((yield self.composite(e, box)), e.ndim)

    def composite(self, e: Expr, parent: _Box, title: str | None = None) -> _Steps:
        """A box around the drawing of a function application, a sum or a product; returns its
        handle: a node whose top pins take the inner drawing's outputs (numbered by output
        position) and whose bottom pins are e's axes."""
        style = dict(CLUSTER_STYLE.get(type(e), CLUSTER_STYLE[Network]))
        if title is not None:
            style["penwidth"] = "1.8"
        if isinstance(e, Apply):
            box = self.box(parent, label=title or "", **style)
            inner = [(yield self.body(e.arg, box))]
            name = function_label(e)
        elif isinstance(e, Call):  # one box per argument; the handle's pins take them in order
            box = self.box(parent, label=title or "", **style)
            ends: list[Any] = []
            for k, a in enumerate(e.args, start=1):
                abox = self.box(box, label=f"argument {k}", **TERM_STYLE)
                ends.extend((yield self.body(a, abox)))
            inner = [ends]
            name = e.fn.name
        elif isinstance(e, Sum):
            box = self.box(parent, label=title or "", **style)
            inner = []
            for c, term in e.terms_:
                coef = c * term.coef if isinstance(term, Network) and term not in self.shared else c
                tbox = self.box(box, label=_signed(coef), **TERM_STYLE)
                inner.append((yield self.body(term, tbox, with_coef=False)))
            name = "+"
        elif isinstance(e, Network):
            label = title or ""
            if e.coef != 1:
                label = (label + "  " if label else "") + f"{format_coefficient(e.coef)} ×"
            box = self.box(parent, label=label, **style)
            inner = [(yield self.network(e, box))]
            name = "×"
        else:  # an unknown kind of expression: a plain node
            return self.node(parent, label=e.label, shape="box")
        width = len(inner[0])
        handle = self.node(box, label=_pins(name, width, e.ndim, HANDLE_STYLE[type(e)]), shape="plain")
        for ends in inner:
            for k, end in enumerate(ends, start=1):
                self.link(end, f"{handle}:i{k}")
        return handle

    def network(self, net: Network, box: _Box) -> _Steps:
        """Draw one product term (without its coefficient); return its output ends."""
        if not net.nodes:
            self.node(box, label=format_coefficient(net.coef), shape="plaintext")
            return []
        legs = []
        for n in net.nodes:
            legs.append((yield self.tensor(n, box)))
        position = {edge: k for k, edge in enumerate(net.output)}
        ends: list[_End | None] = [None] * len(net.output)
        for edge, on in enumerate(net.edge_legs()):
            is_output = edge in position
            if is_output and len(on) == 1:
                i, a = on[0]
                ends[position[edge]] = legs[i][a]
            elif is_output or len(on) >= 3:
                dot = self.node(box, **DOT_ATTR)
                for i, a in on:
                    self.link(legs[i][a], dot)
                if is_output:
                    ends[position[edge]] = dot
            elif len(on) == 2 and on[0][0] == on[1][0]:  # a trace: a loop below the node
                bend = self.node(box, **BEND_ATTR)
                for i, a in on:
                    self.link(legs[i][a], bend)
            elif len(on) == 2:
                (i, a), (j, b) = on
                self.link(legs[i][a], legs[j][b])
            elif len(on) == 1:
                i, a = on[0]
                sigma = self.node(box, **SIGMA_ATTR)
                self.link(legs[i][a], sigma)
        return [end for end in ends if end is not None]


def _pin_ends(node: str, n: int) -> list[_End]:
    return [f"{node}:o{a}" for a in range(1, n + 1)]


def _pins(name: str, n_in: int, n_out: int, style: dict[str, str]) -> str:
    """An HTML-like label: the name, then a pin per axis (ports o1..), each showing its axis
    number: the pins are the leg ends. A handle also has a row of input pins (ports i1..) above
    its name, where the inner drawing's outputs arrive, numbered by output position."""
    font = f'<FONT POINT-SIZE="8" COLOR="{LEG_COLOR}">'
    color = style["color"]

    def pin(port: str, k: int, sides: str) -> str:
        return (
            f'<TD PORT="{port}{k}" BORDER="1" SIDES="{sides}" COLOR="{PIN_RULE}" BGCOLOR="{style["pin"]}" '
            f'CELLPADDING="1">{font}{k}</FONT></TD>'
        )

    name_cell = f'<TD COLSPAN="{max(n_in, 1)}" CELLPADDING="2">{_html(name)}</TD>'
    bottom = name_cell + "".join(pin("o", k, "L") for k in range(1, n_out + 1))
    rows = [bottom]
    if n_in:
        corner = f'<TD COLSPAN="{n_out}"></TD>' if n_out else ""
        rows.insert(0, "".join(pin("i", k, "B") for k in range(1, n_in + 1)) + corner)
    table = (
        f'<TABLE BORDER="{style["border"]}" STYLE="{style["style"]}" CELLBORDER="0" CELLSPACING="0" '
        f'COLOR="{color}" BGCOLOR="{style["fill"]}">'
    )
    return "<" + table + "".join(f"<TR>{r}</TR>" for r in rows) + "</TABLE>>"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _drawn_children(e: Expr) -> list[Expr]:
    """The sub-expressions drawn inside e's picture, one entry per occurrence."""
    if isinstance(e, Network):
        return list(e.nodes)
    if isinstance(e, Sum):
        return [t for _, t in e.terms_]
    if isinstance(e, Apply):
        return [e.arg]
    if isinstance(e, Call):
        return list(e.args)
    return []


def _small(e: Expr) -> bool:
    """A composite whose picture is a few leaves (such as 1 b^T): cheaper to repeat than to
    name and point to."""
    children = _drawn_children(e)
    return len(children) <= 3 and all(isinstance(c, Leaf) for c in children)


def _shared_composites(root: Expr) -> set[Expr]:
    """The composite sub-expressions (not leaves, not the root, not small ones) that an
    inline drawing would draw more than once: each of them is drawn once, as a named definition."""
    draws: dict[Expr, int] = defaultdict(int)
    draws[root] = 1
    shared: set[Expr] = set()
    for e in reversed(walk([root])):  # parents before children
        n = draws[e]
        if e is not root and not isinstance(e, Leaf) and n > 1 and not _small(e):
            shared.add(e)
            n = 1
        for child in _drawn_children(e):
            draws[child] += n
    return shared


# ---------------------------------------------------------------------------------------------
# emitting graphviz
# ---------------------------------------------------------------------------------------------
#: nesting levels that indent the DOT text; deeper boxes keep this indent, so the text of a
#: picture nested thousands of boxes deep grows linearly, not with the square of the depth
_MAX_INDENT = 8


def _emit(graph: graphviz.Digraph, box: _Box, depth: int = 0) -> _Steps:
    """Write a box's nodes and (as a drawing step, see `_run`) its nested boxes, as
    ``subgraph cluster_k { ... }`` lines of the one graph. (graphviz's own `subgraph` copies
    and re-indents every line of a nested box at each level: quadratic in the depth.)"""
    pad = "\t" * min(depth, _MAX_INDENT)
    for name, attrs in box.nodes:
        graph.node(name, **attrs)
        graph.body[-1] = pad + graph.body[-1]
    for child in box.boxes:
        graph.body.append(f"{pad}\tsubgraph {child.name} {{\n")
        if child.attrs:
            graph.attr(**child.attrs)
            graph.body[-1] = pad + "\t" + graph.body[-1]
        yield _emit(graph, child, depth + 1)
        graph.body.append(f"{pad}\t}}\n")


def to_dot(expr: Expr, title: str | None = None) -> graphviz.Digraph:
    """The drawing of any tnet expression as a `graphviz.Digraph` (DOT source; render it with
    `.pipe(format="svg")` or `tnet.render.save`). `title` is shown above the picture.

    The same expression always gives the same DOT text."""
    if not isinstance(expr, Expr):
        raise TypeError(f"to_dot needs a tnet expression, got {type(expr).__name__}")
    drawer = _Drawer(expr)
    top = _Box(None)
    drawer.draw(top)
    graph = graphviz.Digraph(
        name="tnet", graph_attr=dict(GRAPH_ATTR), node_attr=dict(NODE_ATTR), edge_attr=dict(EDGE_ATTR)
    )
    if title:
        graph.attr(label=title)
    _run(_emit(graph, top))
    for tail, head, attrs in drawer.edges:
        graph.edge(tail, head, **attrs)
    return graph
