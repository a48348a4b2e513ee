"""Scale (issue 12): every planner gives einsum's values; deep graphs derive, simplify, print,
draw and evaluate without a RecursionError; derivation does work linear in depth."""

from __future__ import annotations

import random

import numpy as np
import opt_einsum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tnet
from tnet import planners
from tnet.contract import ContractionError, contract, execute, plan_contraction
from tnet.diff import HoleIndex, substitute
from tnet.expr import Hole, walk
from tnet.notation import leaves, parse_matrix
from tnet.notation.mathml_out import to_mathml
from tnet.render import to_dot

LETTERS = "abcdefghijklmnopqrstuvwxyz"


@st.composite
def hypergraphs(draw):
    """A random hypergraph: 3 to 7 operands over up to 7 edges of sizes 1 to 3 (an edge may
    join any number of operands and repeat inside one), and output edges drawn from them."""
    n_edges = draw(st.integers(2, 7))
    n_ops = draw(st.integers(3, 7))
    inputs = [tuple(draw(st.lists(st.integers(0, n_edges - 1), min_size=0, max_size=3))) for _ in range(n_ops)]
    used = sorted({e for x in inputs for e in x})
    output = tuple(draw(st.permutations(used))[: draw(st.integers(0, min(2, len(used))))])
    sizes = {e: draw(st.integers(1, 3)) for e in used}
    seed = draw(st.integers(0, 2**16))
    return inputs, output, sizes, seed


@pytest.mark.parametrize("planner", planners.PLANNERS)
@settings(max_examples=25, deadline=None)
@given(net=hypergraphs())
def test_every_planner_gives_einsums_values(planner, net):
    inputs, output, sizes, seed = net
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal([sizes[e] for e in x]) for x in inputs]
    spec = ",".join("".join(LETTERS[e] for e in x) for x in inputs) + "->" + "".join(LETTERS[e] for e in output)
    want = np.einsum(spec, *arrays, optimize=False)
    # exhaustive_limit=2: every network of 3 or more operands is ordered by the planner itself
    budget = 0.05 if planner == "hyper" else None
    plan = plan_contraction(inputs, output, sizes, exhaustive_limit=2, planner=planner, time_budget=budget)
    assert np.allclose(execute(plan, arrays), want)
    got = contract(inputs, output, sizes, arrays, planner=planner, time_budget=budget)
    assert np.allclose(got, want)


def test_large_network_plans_agree_and_print_alike():
    """A 30-operand ring with a hyperedge: each planner's plan has einsum's value, and all plans
    print in the same form."""
    n = 30
    inputs = [(k, (k + 1) % n, n) for k in range(n)]  # edge n joins every operand
    sizes = {**{k: 2 for k in range(n)}, n: 2}
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 2, 2)) * 0.5 for _ in inputs]
    letters = [opt_einsum.get_symbol(k) for k in range(n + 1)]
    spec = ",".join("".join(letters[e] for e in x) for x in inputs) + "->" + letters[0]
    want = np.einsum(spec, *arrays, optimize="greedy")
    for planner in ("auto", "greedy", "hyper"):
        plan = plan_contraction(inputs, (0,), sizes, planner=planner, time_budget=0.2)
        assert len(plan.steps) >= n - 1
        text = str(plan)
        assert text.startswith("Contraction: ") and "FLOPs:" in text and "Largest intermediate:" in text
        assert np.allclose(contract(inputs, (0,), sizes, arrays, planner=planner, time_budget=0.2), want)


def test_planner_arguments_are_checked():
    with pytest.raises(ContractionError, match="unknown planner 'fast'"):
        plan_contraction([(0, 1), (1, 2)], (0, 2), {0: 2, 1: 2, 2: 2}, planner="fast")
    with pytest.raises(ContractionError, match="time_budget must be a positive number"):
        plan_contraction([(0, 1), (1, 2)], (0, 2), {0: 2, 1: 2, 2: 2}, time_budget=0)
    x = tnet.Variable("x", 3)
    with pytest.raises(ContractionError, match="unknown planner"):
        tnet.evaluate(x @ x, {"x": np.ones(3)}, planner="best")
    with pytest.raises(ContractionError, match="time_budget"):
        tnet.contraction_path(x @ x, {"x": np.ones(3)}, time_budget=-1.0)


def test_planning_leaves_pythons_random_state_alone():
    n = 20
    inputs = [(k, (k + 1) % n) for k in range(n)] + [(0, 5), (3, 9)]
    sizes = {k: 3 for k in range(n)}
    random.seed(1234)
    before = random.random()
    random.seed(1234)
    plan_contraction(inputs, (), sizes)
    assert random.random() == before


def test_evaluate_and_contraction_path_take_the_planner():
    """The same values whichever planner evaluate uses, on a product of 12 matrices."""
    Ms = [tnet.Variable(f"M{k}", 3, 3) for k in range(12)]
    e = Ms[0]
    for m in Ms[1:]:
        e = e @ m
    rng = np.random.default_rng(1)
    values = {f"M{k}": rng.standard_normal((3, 3)) for k in range(12)}
    want = np.linalg.multi_dot([values[f"M{k}"] for k in range(12)])
    for planner in planners.PLANNERS:
        assert np.allclose(tnet.evaluate(e, values, planner=planner, time_budget=0.1), want)
        report = tnet.contraction_path(e, values, planner=planner, time_budget=0.1)
        assert report.flops > 0


# ---------------------------------------------------------------------------------------------
# deep graphs
# ---------------------------------------------------------------------------------------------
def _chain(depth: int):
    X = tnet.Variable("Xc", 2, 2)
    W = tnet.Variable("Wc", 2, 2)
    Z = X
    for _ in range(depth):
        Z = tnet.tanh(Z @ W)
    return tnet.cdot_k(Z, Z, 2), X, W


def _numpy_chain(x, w, depth):
    """J and its gradient with respect to W by hand-written backprop."""
    zs = [x]
    for _ in range(depth):
        zs.append(np.tanh(zs[-1] @ w))
    g = 2 * zs[-1]
    gw = np.zeros_like(w)
    for k in range(depth, 0, -1):
        s = g * (1 - zs[k] ** 2)
        gw += zs[k - 1].T @ s
        g = s @ w.T
    return float((zs[-1] ** 2).sum()), gw


def test_deep_chain_without_recursion_error():
    depth = 5000
    J, X, W = _chain(depth)
    gW = tnet.grad(J, W)
    x = np.array([[0.3, -0.2], [0.1, 0.4]])
    w = np.array([[0.9, 0.2], [-0.3, 1.0]])
    want_j, want_g = _numpy_chain(x, w, depth)
    got_j, got_g = tnet.evaluate([J, gW], {"Xc": x, "Wc": w})
    assert np.isclose(got_j, want_j) and np.allclose(got_g, want_g)
    assert tnet.simplify(J) is not None
    assert len(J.to_bracket()) > depth and len(J.to_latex()) > depth
    assert len(gW.to_matrix()) < 100 * depth  # with definitions of its shared sub-expressions
    matrix = J.to_matrix()  # Z twice in tr(Z Z^T): written once, as a definition
    assert matrix.startswith("t1 = tanh(tanh(") and matrix.endswith("\ntr(t1 t1^T)") and J.label.startswith("(")
    assert tnet.contraction_path(gW, {"Xc": x, "Wc": w}).flops > 0
    assert len(walk([gW])) < 40 * depth  # the gradient's DAG is linear in the depth


def test_a_deep_gradient_prints_in_text_linear_in_its_depth():
    """The gradient of a deep chain, written out, holds about depth^3 node occurrences (62
    million characters at 200 layers). The printers write each shared sub-expression once, as
    a definition line, so every notation grows linearly with the depth; the readers read the
    definitions back to the same values."""
    lengths = {}
    for depth in (100, 400):
        J, X, W = _chain(depth)
        g = tnet.grad(J, W)
        texts = [g.to_bracket(), g.to_latex(), g.to_matrix(), to_mathml(g), to_mathml(g, "bracket")]
        lengths[depth] = [len(t) for t in texts]
        assert all(n < 400 * depth for n in lengths[depth][:3]), lengths[depth]  # MathML: ~4x LaTeX
    assert all(big < 4.5 * small for small, big in zip(lengths[100], lengths[400])), lengths
    J, X, W = _chain(30)
    g = tnet.grad(J, W)
    env = {"Xc": np.array([[0.3, -0.2], [0.1, 0.4]]), "Wc": np.array([[0.9, 0.2], [-0.3, 1.0]])}
    want = tnet.evaluate(g, env)
    bracket, matrix = g.to_bracket(), g.to_matrix()
    assert bracket.count("\n") > 30 and matrix.startswith("t1 = tanh(tanh(Xc Wc) Wc)\n")
    assert np.allclose(tnet.evaluate(tnet.parse(bracket, **leaves(g)), env), want)
    # the matrix reader's products inline the definitions they use: larger networks, so the
    # greedy planner (the values do not depend on the planner)
    assert np.allclose(tnet.evaluate(parse_matrix(matrix, **leaves(g)), env, planner="greedy"), want)


def test_one_product_of_hundreds_of_factors_prints_in_matrix_notation():
    """The gradient of the first weight of a 70-layer net simplifies to one product of 141
    factors: matrix notation writes it in einsum form (the rewriting into matrix products
    recursed once per nested Hadamard product: a RecursionError at 400 layers), with index
    letters past einsum's alphabet, and reads it back."""
    depth, d = 70, 2
    X, Y = tnet.Variable("Xm", 3, d), tnet.Variable("Ym", 3, d)
    Ws = [tnet.Variable(f"Wm{j}", d, d) for j in range(depth)]
    Z = X
    for W in Ws:
        Z = tnet.tanh(Z @ W)
    g = tnet.grad(tnet.sum((Z - Y) * (Z - Y)), Ws[0])
    text = g.to_matrix()
    assert 'einsum("' in text.splitlines()[-1]
    rng = np.random.default_rng(0)
    env = {"Xm": rng.normal(size=(3, d)), "Ym": rng.normal(size=(3, d))}
    env |= {f"Wm{j}": np.eye(d) + 0.1 * rng.normal(size=(d, d)) for j in range(depth)}
    back = tnet.evaluate(parse_matrix(text, **leaves(g)), env, planner="greedy")
    assert np.allclose(back, tnet.evaluate(g, env))


def test_a_product_of_thousands_of_matrices_is_one_network_planned_without_recursion_error():
    """A^2000 x is one network of 2,001 operands: its plan tree is 2,000 deep, built and run
    without recursion, on the interpreter and compiled, with its gradient."""
    A, x = tnet.Variable("A_chain", 3, 3), tnet.Variable("x_chain", 3)
    e = x
    for _ in range(2000):
        e = A @ e
    c, s = np.cos(0.01), np.sin(0.01)  # a rotation: its powers stay of size 1
    a = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    xv = np.array([1.0, -2.0, 0.5])
    power = np.linalg.matrix_power(a, 2000)  # a rotation by 20 radians
    env = {"A_chain": a, "x_chain": xv}
    assert np.allclose(tnet.evaluate(e, env, planner="greedy"), power @ xv)
    assert np.allclose(tnet.compile(e, planner="greedy")(env), power @ xv)
    gx = tnet.grad(tnet.sum(e), x)
    assert np.allclose(tnet.evaluate(gx, env, planner="greedy"), power.T @ np.ones(3))


def test_deep_drawings_without_recursion_error():
    """DOT text of a chain of 1,000 and 2,000 layers and of its gradient (nested boxes as deep
    as the chain): linear in the depth, the indentation stopping at 8 levels."""
    lengths = []
    for depth in (1000, 2000):
        J, X, W = _chain(depth)
        text = to_dot(J).source
        assert text.count("subgraph cluster_") >= depth and "\t" * 11 not in text
        gradient = to_dot(tnet.grad(J, W)).source
        assert gradient.count("subgraph cluster_") >= depth
        lengths.append((len(text), len(gradient)))
    assert all(big < 2.1 * small for small, big in zip(*lengths)), lengths


def test_long_rnn_without_recursion_error():
    tau, n, h = 2000, 2, 2
    W = tnet.Variable("Wr", h, h)
    U = tnet.Variable("Ur", h, h)
    xs = [tnet.Variable(f"xr{t}", n, h) for t in range(tau)]
    Z = tnet.Variable("Zr0", n, h)
    J = None
    for t in range(tau):
        Z = tnet.tanh(Z @ W + xs[t] @ U)
        term = tnet.cdot_k(tnet.log(tnet.softmax(Z)), tnet.Ones(n, h), 2)
        J = term if J is None else J + term
    gW, gU = tnet.grad(J, [W, U])
    rng = np.random.default_rng(2)
    values = {"Wr": 0.5 * rng.standard_normal((h, h)), "Ur": 0.5 * rng.standard_normal((h, h)), "Zr0": np.zeros((n, h))}
    values.update({f"xr{t}": rng.standard_normal((n, h)) for t in range(tau)})
    got = tnet.evaluate(gW, values)
    # central finite difference of J in one entry of W
    eps = 1e-6
    plus, minus = dict(values), dict(values)
    plus["Wr"] = values["Wr"].copy()
    plus["Wr"][0, 1] += eps
    minus["Wr"] = values["Wr"].copy()
    minus["Wr"][0, 1] -= eps
    fd = (tnet.evaluate(J, plus) - tnet.evaluate(J, minus)) / (2 * eps)
    assert np.isclose(got[0, 1], fd, rtol=1e-4, atol=1e-6)
    assert len(J.to_bracket()) > tau
    # the gradient prints and draws in text linear in tau (its shared states written once)
    assert len(gW.to_bracket()) < 1000 * tau and len(gW.to_matrix()) < 500 * tau
    assert len(to_dot(gW).source) < 40_000 * tau


def test_rule_expansion_visits_only_what_holds_the_hole():
    """With one HoleIndex per derivation, the forward graph is looked at once: expanding a
    second rule over the same deep graph visits only the few expressions that rule built."""
    J, X, W = _chain(300)
    hole = Hole(2, 2)
    values = {"Xc": np.array([[0.5, 0.1], [0.2, 0.3]]), "Wc": np.array([[0.9, -0.2], [0.1, 0.8]])}
    holes = HoleIndex()
    first = tnet.tanh(J * tnet.Ones(2, 2)) * hole  # a rule-like expression over a deep graph
    out = substitute(first, hole, X @ W, holes)
    want = np.tanh(tnet.evaluate(J, values)) * (values["Xc"] @ values["Wc"])
    assert np.allclose(tnet.evaluate(out, values), want)
    assert np.allclose(tnet.evaluate(substitute(first, hole, X @ W), values), want)  # without an index
    seen = len(holes.holds)
    assert seen > 300  # the first expansion looked at the forward graph once
    second = (hole @ W) * tnet.cos(J * tnet.Ones(2, 2))
    out = substitute(second, hole, X, holes)
    want = (values["Xc"] @ values["Wc"]) * np.cos(tnet.evaluate(J, values))
    assert np.allclose(tnet.evaluate(out, values), want)
    assert len(holes.holds) - seen < 10


def test_gradients_of_a_long_elementwise_product():
    """∇_{x_k} sum(x_1 ⊙ ... ⊙ x_n) = the product of the other factors, for 200 factors (merging
    powers once cost time quadratic in a network's size)."""
    n = 200
    xs = [tnet.Variable(f"xp{k}", 3) for k in range(n)]
    p = xs[0]
    for x in xs[1:]:
        p = p * x
    grads = tnet.grad(tnet.cdot_k(p, tnet.Ones(3), 1), xs)
    rng = np.random.default_rng(3)
    values = {f"xp{k}": 1 + 0.01 * rng.standard_normal(3) for k in range(n)}
    stacked = np.stack([values[f"xp{k}"] for k in range(n)])
    got = tnet.evaluate(grads[:5] + grads[-5:], values)
    for k, g in zip(list(range(5)) + list(range(n - 5, n)), got):
        assert np.allclose(g, np.prod(np.delete(stacked, k, axis=0), axis=0))


def test_the_gradients_of_one_loss_share_one_derived_from_record():
    """Each of the 2L gradients of a deep net records the 2L + 1 variables of its loss: one
    shared set, not a copy per gradient (L² time and memory)."""
    Ws = [tnet.Variable(f"W{k}", 3, 3) for k in range(40)]
    x = tnet.Variable("x", 3)
    z = x
    for W in Ws:
        z = tnet.tanh(W @ z)
    loss = tnet.sum(z * z)
    for simplified in (True, False):
        grads = tnet.grad(loss, Ws, simplify=simplified)
        assert len({id(g.derived_from) for g in grads}) == 1
        assert grads[0].derived_from == frozenset([*Ws, x])
