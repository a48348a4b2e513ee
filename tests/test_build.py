"""Building expressions: the construction API, broadcasting, size names, hash-consing, and
random einsum networks evaluated by tnet against numpy.einsum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tnet

rng = np.random.default_rng(3)

PUBLIC = (
    "Variable Constant identity delta ones zeros kron odot cdot odot_k cdot_k permute einsum sum trace exp log "
    "tanh sigmoid relu sqrt abs sin cos softmax logsumexp inv det logdet apply Function differential grad "
    "jacobian hessian simplify evaluate contraction_path parse"
).split()


def test_public_api_names_exist():
    missing = [n for n in PUBLIC if not hasattr(tnet, n)]
    assert not missing


def test_hash_consing_makes_equal_structures_one_object():
    A, B = tnet.Variable("A", 2, 3), tnet.Variable("B", 3, 4)
    assert tnet.Variable("A", 2, 3) is A
    assert A @ B is A @ B
    assert tnet.tanh(A @ B) is tnet.tanh(A @ B)
    assert (A @ B) + (A @ B) is not A @ B
    c1 = tnet.Constant("c", np.arange(3.0))
    assert tnet.Constant("c", np.arange(3.0)) is c1
    assert tnet.Constant("c", np.arange(3.0) + 1) is not c1
    with pytest.raises(ValueError):
        c1.value[0] = 5  # constants are immutable


def test_shapes_and_products_are_flat_networks():
    A, B, C = tnet.Variable("A", 2, 3), tnet.Variable("B", 3, 4), tnet.Variable("C", 4, 5)
    e = A @ B @ C
    assert e.shape == (2, 5) and e.ndim == 2
    ((coef, net),) = e.terms
    assert coef == 1 and [n.label for n in net.nodes] == ["A", "B", "C"]
    assert e.to_einsum() == "ab,bc,cd->ad"
    assert (A @ B).T.to_einsum() == "ab,bc->ca"


def test_matmul_is_tensordot_1():
    for sa, sb in [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 4, 5))]:
        A, B = tnet.Variable("A", *sa), tnet.Variable("B", *sb)
        a, b = rng.normal(size=sa), rng.normal(size=sb)
        assert np.allclose(tnet.evaluate(A @ B, {"A": a, "B": b}), np.tensordot(a, b, 1))


@pytest.mark.parametrize(
    "sa,sb",
    [((3, 4), (4,)), ((3, 4), (3, 1)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 4)), ((), (3,)), ((4,), (1,)), ((1,), (1,))],
)
def test_broadcasting_matches_numpy(sa, sb):
    A, B = tnet.Variable("A", *sa), tnet.Variable("B", *sb)
    a, b = rng.normal(size=sa), rng.uniform(1, 2, size=sb)
    env = {"A": a, "B": b}
    for got, want in [(A + B, a + b), (A - B, a - b), (A * B, a * b), (A / B, a / b), (B - A, b - a)]:
        v = tnet.evaluate(got, env)
        assert v.shape == np.shape(want)
        assert np.allclose(v, want)


def test_bias_broadcast_is_ones_outer_b():
    """XW + b^T broadcast is the paper's XW + 1 b^T: the bias term holds a Ones node."""
    X, W, b = tnet.Variable("X", "N", 3), tnet.Variable("W", 3, 4), tnet.Variable("b", 4)
    e = X @ W + b
    labels = sorted(tuple(sorted(n.label for n in net.nodes)) for _, net in e.terms)
    assert labels == [("1", "b"), ("W", "X")]
    x, w, bb = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)
    assert np.allclose(tnet.evaluate(e, {"X": x, "W": w, "b": bb}), x @ w + bb)


def test_scalars_and_powers():
    A = tnet.Variable("A", 2, 3)
    a = rng.uniform(1, 2, size=(2, 3))
    env = {"A": a}
    cases = [
        (2 * A, 2 * a),
        (A * 2, 2 * a),
        (A / 4, a / 4),
        (1 - A, 1 - a),
        (A + 1.5, a + 1.5),
        (2 / A, 2 / a),
        (-A, -a),
        (A**2, a**2),
        (A**0.5, a**0.5),
        (A**-1, 1 / a),
        (+A, a),
    ]
    for got, want in cases:
        assert np.allclose(tnet.evaluate(got, env), want)


def test_size_names_are_bound_from_arrays():
    X = tnet.Variable("X", "n", "m")
    w = tnet.Variable("w", "m")
    e = tnet.exp(X) @ w + tnet.ones("n")
    assert e.shape == ("n",)
    for n, m in [(2, 3), (4, 1)]:
        x, ww = rng.normal(size=(n, m)), rng.normal(size=m)
        assert np.allclose(tnet.evaluate(e, {"X": x, "w": ww}), np.exp(x) @ ww + 1)
    # a name meets an int: the int wins
    assert (X @ tnet.Variable("v", 3)).shape == ("n",)


def test_sum_trace_and_reductions():
    A = tnet.Variable("A", 3, 3, 2)
    a = rng.normal(size=(3, 3, 2))
    env = {"A": a}
    assert np.allclose(tnet.evaluate(tnet.sum(A), env), a.sum())
    assert np.allclose(tnet.evaluate(tnet.sum(A, axis=1), env), a.sum(axis=1))
    assert np.allclose(tnet.evaluate(tnet.sum(A, axis=(0, 2)), env), a.sum(axis=(0, 2)))
    assert np.allclose(tnet.evaluate(tnet.trace(A), env), np.trace(a))
    assert np.allclose(tnet.evaluate(tnet.trace(A, 0, 1), env), np.einsum("iik->k", a))


def test_functions_forward_values():
    A = tnet.Variable("A", 3, 4)
    a = rng.uniform(0.1, 2, size=(3, 4))
    env = {"A": a}
    sig = 1 / (1 + np.exp(-a))
    for fn, want in [
        (tnet.exp, np.exp(a)),
        (tnet.log, np.log(a)),
        (tnet.tanh, np.tanh(a)),
        (tnet.sigmoid, sig),
        (tnet.relu, np.maximum(a - 1, 0) + 0),
        (tnet.sqrt, np.sqrt(a)),
        (tnet.abs, np.abs(a)),
        (tnet.sin, np.sin(a)),
        (tnet.cos, np.cos(a)),
    ]:
        arg = A - 1 if fn is tnet.relu else A
        assert np.allclose(tnet.evaluate(fn(arg), env), want), fn.__name__
    e = np.exp(a - a.max(axis=1, keepdims=True))
    assert np.allclose(tnet.evaluate(tnet.softmax(A), env), e / e.sum(axis=1, keepdims=True))
    e0 = np.exp(a - a.max(axis=0, keepdims=True))
    assert np.allclose(tnet.evaluate(tnet.softmax(A, axis=0), env), e0 / e0.sum(axis=0, keepdims=True))
    assert np.allclose(tnet.evaluate(tnet.logsumexp(A), env), np.log(np.exp(a).sum(axis=1)))
    assert np.allclose(tnet.evaluate(tnet.logsumexp(A, axis=0), env), np.log(np.exp(a).sum(axis=0)))
    M = tnet.Variable("M", 3, 3)
    m = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    assert np.allclose(tnet.evaluate(tnet.inv(M), {"M": m}), np.linalg.inv(m))
    assert np.allclose(tnet.evaluate(tnet.det(M), {"M": m}), np.linalg.det(m))
    assert np.allclose(tnet.evaluate(tnet.logdet(M), {"M": m}), np.log(abs(np.linalg.det(m))))


def test_softmax_and_logsumexp_are_stable():
    z = tnet.Variable("z", 2, 3)
    big = np.array([[1000.0, -1000.0, 999.0], [-1000.0, -1000.0, -999.0]])
    s = tnet.evaluate(tnet.softmax(z), {"z": big})
    lse = tnet.evaluate(tnet.logsumexp(z), {"z": big})
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(lse))
    assert np.allclose(s.sum(axis=1), 1)
    assert np.allclose(lse, [1000 + np.log1p(np.exp(-1.0)), -999 + np.log1p(2 * np.exp(-1.0))])
    assert np.all(np.isfinite(tnet.evaluate(tnet.sigmoid(z), {"z": big})))


def test_apply_on_sub_tensors_puts_positions_first():
    """f^P(X)_{I_k I_m} = f(X_{I_k^P})_{I_m} (eq. 27)."""
    X = tnet.Variable("X", 2, 4, 3)
    x = rng.normal(size=(2, 4, 3))
    e = tnet.apply("softmax", X, [2, 0])  # softmax over axis 1, for every (k, i)
    assert e.shape == (3, 2, 4)
    ex = np.exp(x - x.max(axis=1, keepdims=True))
    want = np.transpose(ex / ex.sum(axis=1, keepdims=True), (2, 0, 1))
    assert np.allclose(tnet.evaluate(e, {"X": x}), want)


def test_user_function_registration():
    cube = tnet.Function("cube_test", lambda x: x**3, derivative=lambda x: 3 * x**2)
    X = tnet.Variable("X", 2, 2)
    x = rng.normal(size=(2, 2))
    e = tnet.apply("cube_test", X)
    assert np.allclose(tnet.evaluate(e, {"X": x}), x**3)
    assert np.allclose(tnet.evaluate(tnet.grad(tnet.sum(tnet.apply(cube, X)), X), {"X": x}), 3 * x**2)


def test_evaluate_list_shares_and_contraction_path_reports():
    A, B, C = tnet.Variable("A", 8, 9), tnet.Variable("B", 9, 10), tnet.Variable("C", 10, 2)
    env = {"A": rng.normal(size=(8, 9)), "B": rng.normal(size=(9, 10)), "C": rng.normal(size=(10, 2))}
    shared = tnet.tanh(A @ B)
    v1, v2 = tnet.evaluate([shared @ C, tnet.sum(shared)], env)
    t = np.tanh(env["A"] @ env["B"])
    assert np.allclose(v1, t @ env["C"]) and np.isclose(v2, t.sum())
    report = tnet.contraction_path(A @ B @ C, env)
    text = str(report)
    assert "FLOP" in text or "flop" in text.lower()
    assert report.flops > 0 and report.largest > 0
    assert np.allclose((A @ B @ C).evaluate(env), env["A"] @ env["B"] @ env["C"])
    # a broadcast bias (the paper's 1 b^T) is planned without its Ones node
    b = tnet.Variable("b", 10)
    env["b"] = np.ones(10)
    assert "FLOPs" in str(tnet.contraction_path(A @ B + b, {k: env[k] for k in ("A", "B", "b")}))


def test_zero_one_and_empty_networks():
    x = tnet.Variable("x", 3)
    assert np.allclose(tnet.evaluate(tnet.zeros(2, 3), {}), np.zeros((2, 3)))
    assert np.allclose(tnet.evaluate(tnet.ones(2, 3), {}), np.ones((2, 3)))
    assert np.allclose(tnet.evaluate(x * 0, {x: np.ones(3)}), 0)  # x is gone: bound by the Variable
    assert np.allclose(tnet.evaluate(tnet.sum(tnet.ones(3, 4)), {}), 12)
    assert np.allclose(tnet.evaluate(tnet.trace(tnet.identity(5)), {}), 5)


# ---------------------------------------------------------------------------------------------
# random einsum networks, built through tnet.einsum, against numpy
# ---------------------------------------------------------------------------------------------
@st.composite
def einsum_problems(draw):
    letters = "abcdefg"
    n_ops = draw(st.integers(1, 6))
    used_sizes = {c: draw(st.integers(1, 3)) for c in letters}
    pool = letters[: draw(st.integers(1, len(letters)))]
    operands = []
    for _ in range(n_ops):
        ndim = draw(st.integers(0, 4))
        operands.append("".join(draw(st.sampled_from(pool)) for _ in range(ndim)))
    present = sorted(set("".join(operands)))
    out = draw(st.permutations(present)) if present else []
    k = draw(st.integers(0, len(out)))
    output = "".join(out[:k])
    shapes = [tuple(used_sizes[c] for c in op) for op in operands]
    return ",".join(operands) + "->" + output, shapes


@given(einsum_problems(), st.integers(0, 2**16))
def test_random_networks_match_numpy_einsum(problem, seed):
    spec, shapes = problem
    r = np.random.default_rng(seed)
    arrays = [r.normal(size=s) for s in shapes]
    names = [f"T{k}" for k in range(len(shapes))]
    variables = [tnet.Variable(n, *s) for n, s in zip(names, shapes)]
    e = tnet.einsum(spec, *variables)
    got = tnet.evaluate(e, dict(zip(names, arrays)))
    want = np.einsum(spec, *arrays, optimize=False)
    assert got.shape == want.shape
    assert np.allclose(got, want)
    # simplification (Delta merging, Ones folding) never changes a value
    assert np.allclose(tnet.evaluate(tnet.simplify(e), dict(zip(names, arrays))), want)


def test_einsum_implicit_output_and_ellipsis():
    A, B = tnet.Variable("A", 2, 3), tnet.Variable("B", 3, 4)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    env = {"A": a, "B": b}
    assert np.allclose(tnet.evaluate(tnet.einsum("ij,jk", A, B), env), np.einsum("ij,jk", a, b))
    assert np.allclose(tnet.evaluate(tnet.einsum("ji", A), {"A": a}), np.einsum("ji", a))
    T = tnet.Variable("T", 5, 2, 3)
    t = rng.normal(size=(5, 2, 3))
    assert np.allclose(tnet.evaluate(tnet.einsum("...ij,jk->...ik", T, B), {"T": t, "B": b}), t @ b)
