"""tnet.render (the folder render/): the DOT structure of drawings (nodes, leg numbers, output
markers, hyperedges, boxes), determinism, derivation stages, saving, and the behaviour without
the `dot` program."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import graphviz
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tnet
from tnet import render
from tnet.errors import RenderError
from tnet.render.dot import DIFFERENTIAL_STYLE, function_label

ROOT = Path(__file__).resolve().parent.parent
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="the Graphviz 'dot' program is not installed")

NODE_LINE = re.compile(r"^\s*(n\d+) \[(.*)\]$")
EDGE_LINE = re.compile(r"^\s*(n\d+(?::\w+)?) -> (n\d+(?::\w+)?)(?: \[(.*)\])?$")


# ---------------------------------------------------------------------------------------------
# reading DOT text back
# ---------------------------------------------------------------------------------------------
class Drawing:
    """The nodes and lines of a DOT source, as to_dot writes it."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.nodes: dict[str, str] = {}
        self.edges: list[tuple[str, str]] = []
        self.invisible: list[tuple[str, str]] = []
        for line in source.splitlines():
            m = NODE_LINE.match(line)
            if m:
                self.nodes[m.group(1)] = m.group(2)
                continue
            m = EDGE_LINE.match(line)
            if m:
                target = self.invisible if "style=invis" in (m.group(3) or "") else self.edges
                target.append((m.group(1), m.group(2)))
        self.ends = Counter(end for edge in self.edges for end in edge)

    def with_label(self, text: str) -> list[str]:
        """Nodes whose name cell shows `text`."""
        return [n for n, attrs in self.nodes.items() if f'CELLPADDING="2">{text}</TD>' in attrs]

    def dots(self) -> list[str]:
        return [n for n, a in self.nodes.items() if "shape=point" in a and "width=0.09" in a]

    def markers(self) -> str | None:
        found = [n for n, a in self.nodes.items() if 'PORT="m1"' in a]
        assert len(found) <= 1, "one marker node per picture of one term"
        return found[0] if found else None

    def into(self, head: str) -> list[str]:
        return [t for t, h in self.edges if h == head]


def drawing(e: tnet.Expr, title: str | None = None) -> Drawing:
    return Drawing(render.to_dot(e, title).source)


def check_network(net: tnet.Network) -> None:
    """Every node, every leg number and every output marker of one product term is drawn, and
    each hyperedge is drawn as the conventions say."""
    d = drawing(net)
    ids = [f"n{k}" for k in range(len(net.nodes))]  # tensor occurrences are drawn first, in order
    for node_id, node in zip(ids, net.nodes):
        attrs = d.nodes[node_id]
        assert f">{node.label}</TD>" in attrs
        for axis in range(node.ndim):  # the leg's pin shows its 1-based axis number
            assert f'PORT="o{axis + 1}"' in attrs and f">{axis + 1}</FONT>" in attrs
            assert d.ends[f"{node_id}:o{axis + 1}"] == 1, "each leg end is used by exactly one line"
    legs = net.edge_legs()
    fused_or_hyper = [e for e, on in enumerate(legs) if len(on) >= 3 or (e in net.output and len(on) >= 2)]
    assert len(d.dots()) == len(fused_or_hyper), "one dot per hyperedge or fused output"
    markers = d.markers()
    if not net.output:
        assert markers is None
        return
    label = d.nodes[markers]
    ports = [int(k) for k in re.findall(r'PORT="m(\d+)"', label)]
    assert ports == list(range(1, len(net.output) + 1)), "markers 1..n, left to right"
    for position, edge in enumerate(net.output, start=1):
        (tail,) = [t for t, h in d.edges if h == f"{markers}:m{position}"]
        pins = {f"{ids[i]}:o{a + 1}" for i, a in legs[edge]}
        if len(legs[edge]) == 1:
            assert {tail} == pins
        else:
            assert tail in d.dots() and set(d.into(tail)) == pins
    for edge, on in enumerate(legs):
        if edge in net.output:
            continue
        pins = [f"{ids[i]}:o{a + 1}" for i, a in on]
        if len(on) == 2 and on[0][0] != on[1][0]:
            assert tuple(pins) in d.edges, "a contracted edge is one line between its two pins"
        elif len(on) == 1:
            (tail,) = pins
            (head,) = [h for t, h in d.edges if t == tail]
            assert "Σ" in d.nodes[head]


# ---------------------------------------------------------------------------------------------
# structure
# ---------------------------------------------------------------------------------------------
A, B, C = tnet.Variable("A", 2, 3), tnet.Variable("B", 3, 4), tnet.Variable("C", 3, 2)


def test_to_dot_returns_a_digraph_and_rejects_non_expressions():
    assert isinstance(render.to_dot(A @ B), graphviz.Digraph)
    with pytest.raises(TypeError):
        render.to_dot(np.ones(3))


def test_matrix_product_nodes_legs_and_markers():
    check_network(A @ B)
    d = drawing(A @ B)
    assert d.markers() is not None and len(d.dots()) == 0


def test_a_hyperedge_is_one_dot():
    e = tnet.einsum("ij,jk,jl->ikl", A, B, C)  # j is on three legs
    check_network(e)
    d = drawing(e)
    (dot,) = d.dots()
    assert sorted(d.into(dot)) == ["n0:o2", "n1:o1", "n2:o1"]


def test_fused_outputs_are_dots_joined_to_their_markers():
    e = A * tnet.Variable("D", 2, 3)  # both output edges are fused
    check_network(e)
    d = drawing(e)
    assert len(d.dots()) == 2
    markers = d.markers()
    for k, dot in enumerate(d.dots(), start=1):
        assert (dot, f"{markers}:m{k}") in d.edges


def test_output_markers_follow_the_output_order():
    d = drawing(A.T)  # A with its axes swapped: marker 1 is A's axis 2
    markers = d.markers()
    assert ("n0:o2", f"{markers}:m1") in d.edges and ("n0:o1", f"{markers}:m2") in d.edges


def test_summed_single_leg_trace_and_scalars():
    X = tnet.Variable("X", 3, 3)
    d = drawing(tnet.sum(A, axis=1))
    assert any("Σ" in a for a in d.nodes.values())
    check_network(tnet.sum(A, axis=1))
    t = drawing(tnet.trace(X))  # both legs of X meet at a bend point: a loop
    (bend,) = [n for n, a in t.nodes.items() if "width=0.03" in a]
    assert sorted(t.into(bend)) == ["n0:o1", "n0:o2"]
    assert t.markers() is None
    check_network(tnet.trace(X @ X))


def test_leaf_kinds_and_the_differential():
    X = tnet.Variable("X", 3, 3)
    for e, name in [(tnet.identity(3), "I"), (tnet.delta(3, 3), "δ"), (tnet.ones(3), "1"), (tnet.zeros(2), "0")]:
        assert drawing(e).with_label(name), name
    k = tnet.Constant("K", np.eye(2))
    assert drawing(k).with_label("K")
    d = drawing(tnet.Differential(X))
    (node,) = d.with_label("dX")
    assert DIFFERENTIAL_STYLE["fill"] in d.nodes[node]


def test_coefficients_label_a_box():
    assert 'label="2.5 ×"' in render.to_dot(2.5 * (A @ B)).source
    src = render.to_dot(A - tnet.Variable("D", 2, 3)).source
    assert 'label="+ 1 ×"' in src and 'label="− 1 ×"' in src
    d = Drawing(src)
    assert len([n for n, a in d.nodes.items() if 'PORT="m1"' in a]) == 2, "each term of a sum has its markers"


def test_function_applications_are_boxes_around_their_argument():
    X, W = tnet.Variable("X", 4, 3), tnet.Variable("W", 3, 2)
    e = tnet.tanh(X @ W)
    src = render.to_dot(e).source
    d = Drawing(src)
    (handle,) = d.with_label("tanh")
    assert 'PORT="i1"' in d.nodes[handle] and 'PORT="o2"' in d.nodes[handle]
    assert sorted(d.into(f"{handle}:i1") + d.into(f"{handle}:i2")) == ["n0:o1", "n1:o2"]
    cluster = src[src.index("subgraph cluster_0") :]
    assert cluster.index("n0 [") < cluster.index(f"{handle} [") < cluster.index("}"), "argument and handle in one box"
    assert function_label(tnet.softmax(X)) == "softmax¹"
    assert function_label(X**2) == "(·)²" and function_label(tnet.inv(tnet.Variable("S", 3, 3))) == "inv"


def test_shared_sub_expressions_are_drawn_once_and_named():
    from gallery.examples.sec6_2_multi_layer import network

    _, _, Ws, _, J = network()
    src = render.to_dot(tnet.grad(J, Ws[0])).source
    for k in range(1, 5):
        assert src.count(f'label="tanh#{k}"') == 1, "each shared activation has one definition box"
        assert src.count(f">tanh#{k}</TD>") >= 1, "and is used by name"


def test_nested_products_and_sums_inside_networks():
    x = tnet.Variable("x", 3)
    e = tnet.kron(tnet.exp(x) + x, x)  # a sum inside an application inside a product
    d = drawing(e)
    assert d.with_label("exp") and d.with_label("+")
    assert 'style="rounded,dashed"' in d.source, "the sum's box"


_letters = st.sampled_from("abcdef")


@st.composite
def networks(draw):
    """Random einsum networks of matrices and vectors (hyperedges, fused outputs, traces)."""
    specs = draw(st.lists(st.lists(_letters, min_size=1, max_size=3), min_size=1, max_size=4))
    used = sorted({c for spec in specs for c in spec})
    output = draw(st.lists(st.sampled_from(used), unique=True, max_size=len(used)))
    operands = [tnet.Variable(f"T{k}", *([2] * len(spec))) for k, spec in enumerate(specs)]
    return tnet.einsum(",".join("".join(s) for s in specs) + "->" + "".join(output), *operands)


@given(networks())
def test_random_networks_are_drawn_by_the_conventions(e):
    if isinstance(e, tnet.Network):
        check_network(e)
    else:  # a lone tensor: its legs go straight to the markers
        d = drawing(e)
        assert len(d.edges) == e.ndim


# ---------------------------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------------------------
_HASH_SCRIPT = """
import hashlib, tnet
from tnet import render
from gallery.examples.sec6_4_rnn import network
params, _, _, J = network()
print(hashlib.sha256(render.to_dot(tnet.grad(J, params[0]), title="g").source.encode()).hexdigest())
"""


def test_same_expression_same_dot_text_byte_for_byte():
    a, X = tnet.Variable("a", 3), tnet.Variable("X", 3, 4)
    e = tnet.grad(a @ X @ X.T @ a, X)
    assert render.to_dot(e).source == render.to_dot(e).source
    digests = set()
    for seed in ("0", "1"):  # other processes, other hash seeds, other object ids
        env = dict(os.environ, PYTHONHASHSEED=seed)  # run from the checkout, so gallery imports
        done = subprocess.run([sys.executable, "-c", _HASH_SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        digests.add(done.stdout.strip())
    from gallery.examples.sec6_4_rnn import network

    params, _, _, J = network()
    digests.add(hashlib.sha256(render.to_dot(tnet.grad(J, params[0]), title="g").source.encode()).hexdigest())
    assert len(digests) == 1


# ---------------------------------------------------------------------------------------------
# derivation stages
# ---------------------------------------------------------------------------------------------
def test_derivation_stages_in_order_with_dx_highlighted():
    a, X = tnet.Variable("a", 3), tnet.Variable("X", 3, 4)
    stages = render.derivation(a @ X @ X.T @ a, X)
    assert [name for name, _ in stages] == list(render.STAGES)
    assert render.STAGES == (
        "function",
        "differential",
        "gradient before simplification",
        "gradient after simplification",
    )
    counts = [len(Drawing(g.source).with_label("dX")) for _, g in stages]
    assert counts == [0, 2, 0, 0], "one term per occurrence of X, each with its dX"
    differential = stages[1][1].source
    assert differential.count(DIFFERENTIAL_STYLE["fill"]) == 2
    after = stages[3][1].source
    assert 'label="2 ×"' in after, "the two terms merge into one with coefficient 2"


# ---------------------------------------------------------------------------------------------
# rendering and saving
# ---------------------------------------------------------------------------------------------
@needs_dot
def test_save_by_suffix(tmp_path):
    e = tnet.tanh(A @ B)
    magic = {".svg": b"<?xml", ".png": b"\x89PNG", ".pdf": b"%PDF", ".dot": b"digraph"}
    for suffix, start in magic.items():
        path = render.save(e, tmp_path / f"e{suffix}")
        assert path.read_bytes().startswith(start)
    render.save(render.to_dot(e), tmp_path / "graph.svg")
    with pytest.raises(render.UnsupportedFormatError, match=r"\.svg"):
        render.save(e, tmp_path / "e.jpeg")
    with pytest.raises(ValueError):
        render.save(e, tmp_path / "e")


@needs_dot
def test_jupyter_shows_svg():
    bundle = (A @ B)._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml") and "text/plain" in bundle
    # the typeset formula beside the drawing
    html = bundle["text/html"]
    assert html.index("<math") < html.index("<svg") and "<?xml" not in html
    assert bundle["text/latex"] == "$" + (A @ B).to_latex() + "$"
    assert "<mi>A</mi>" in (A @ B).to_mathml() and "<mi>B</mi>" in (A @ B).to_mathml("bracket")


@needs_dot
@pytest.mark.parametrize("which", ["mlp", "rnn"])
def test_large_networks_render_without_overlapping_labels(which):
    """Every axis number sits inside its node (there are no floating edge labels), and the laid
    out nodes of the 4-layer net's and the RNN's gradients do not overlap."""
    if which == "mlp":
        from gallery.examples.sec6_2_multi_layer import network

        _, _, Ws, _, J = network()
        exprs = [tnet.grad(J, Ws[0]), *[e for _, e in render.derivation_expressions(J, Ws[0])]]
    else:
        from gallery.examples.sec6_4_rnn import network

        params, _, _, J = network()
        exprs = [tnet.grad(J, params[0]), render.derivation_expressions(J, params[0])[-1][1]]
    for e in exprs:
        src = render.to_dot(e).source
        assert not re.search(r"(taillabel|headlabel|xlabel)=", src), "no labels float free of their nodes"
        plain = subprocess.run(["dot", "-Tplain"], input=src.encode(), capture_output=True, check=True).stdout.decode()
        nodes = [line.split() for line in plain.splitlines() if line.startswith("node ")]
        boxes = np.array([[float(v) for v in fields[2:6]] for fields in nodes])
        x, y, w, h = boxes.T
        overlap_x = np.abs(x[:, None] - x[None, :]) < (w[:, None] + w[None, :]) / 2 - 1e-3
        overlap_y = np.abs(y[:, None] - y[None, :]) < (h[:, None] + h[None, :]) / 2 - 1e-3
        both = overlap_x & overlap_y
        np.fill_diagonal(both, False)
        assert not both.any(), "two nodes (and so two labels) overlap"


# ---------------------------------------------------------------------------------------------
# without the dot program
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def no_dot(tmp_path, monkeypatch):
    """PATH without the Graphviz programs."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("dot") is None
    return empty


def test_without_dot_to_dot_works_and_images_raise_one_clear_error(no_dot, tmp_path):
    e = tnet.tanh(A @ B)
    graph = render.to_dot(e)
    assert graph.source.startswith("digraph")
    assert render.save(e, tmp_path / "e.dot").read_text().startswith("digraph")
    for suffix in (".svg", ".png", ".pdf"):
        with pytest.raises(RenderError) as info:
            render.save(e, tmp_path / f"e{suffix}")
        message = str(info.value)
        assert "'dot'" in message and "apt-get install graphviz" in message and "brew install graphviz" in message
        assert not (tmp_path / f"e{suffix}").exists()
    with pytest.raises(RenderError, match="dot"):
        render.pipe(e, "svg")
    bundle = e._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/latex", "text/html"}, "Jupyter falls back to the typeset formula"
    assert "<math" in bundle["text/html"] and "<svg" not in bundle["text/html"]
