"""The vocabulary of real models (issue 10): every new word's value against numpy, its first
and second derivatives against central finite differences, stability, printing and errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tnet
import tnet.render

H = 1e-5


def fd_grad(fn, x: np.ndarray) -> np.ndarray:
    """Central differences of fn (array -> array) with respect to every entry of x: x's axes
    first, then fn's (the layout of tnet.grad)."""
    x = np.asarray(x, dtype=float)
    out0 = np.asarray(fn(x))
    g = np.zeros(x.shape + out0.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = H
        g[idx] = (np.asarray(fn(x + e)) - np.asarray(fn(x - e))) / (2 * H)
    return g


def check_derivatives(f: tnet.Expr, x: tnet.Variable, env: dict, want_value, numpy_f, rtol=1e-5, atol=1e-6):
    """f's value against numpy, grad against finite differences of numpy, and the Hessian
    (grad of grad) against finite differences of tnet's own gradient."""
    env = {k: np.asarray(v, dtype=float) for k, v in env.items()}
    np.testing.assert_allclose(tnet.evaluate(f, env), want_value, rtol=rtol, atol=atol)

    def numpy_at(v):
        return numpy_f({**env, x.name: v})

    g = tnet.grad(f, x)
    np.testing.assert_allclose(tnet.evaluate(g, env), fd_grad(numpy_at, env[x.name]), rtol=1e-4, atol=1e-5)
    if f.ndim == 0:
        hess = tnet.hessian(f, x)

        def grad_at(v):
            return tnet.evaluate(g, {**env, x.name: v})

        want = np.moveaxis(fd_grad(grad_at, env[x.name]), list(range(x.ndim)), list(range(x.ndim, 2 * x.ndim)))
        np.testing.assert_allclose(tnet.evaluate(hess, env), want, rtol=1e-4, atol=1e-4)


def erf(x):
    return np.vectorize(math.erf)(x)


def gelu_exact(x):
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


ELEMENTWISE = {
    "tan": (tnet.tan, np.tan, (-1.0, 1.0)),
    "arctan": (tnet.arctan, np.arctan, (-2.0, 2.0)),
    "arcsin": (tnet.arcsin, np.arcsin, (-0.8, 0.8)),
    "arccos": (tnet.arccos, np.arccos, (-0.8, 0.8)),
    "log1p": (tnet.log1p, np.log1p, (-0.5, 2.0)),
    "expm1": (tnet.expm1, np.expm1, (-2.0, 2.0)),
    "softplus": (tnet.softplus, lambda x: np.logaddexp(0, x), (-3.0, 3.0)),
    "erf": (tnet.erf, erf, (-2.0, 2.0)),
    "gelu": (tnet.gelu, gelu_exact, (-3.0, 3.0)),
    "gelu_tanh": (lambda a: tnet.gelu(a, approximate="tanh"), gelu_tanh, (-3.0, 3.0)),
    "square": (tnet.square, np.square, (-2.0, 2.0)),
    "pow-1.5": (lambda a: a**-1.5, lambda x: x**-1.5, (0.5, 2.0)),
    "pow0.5": (lambda a: a**0.5, np.sqrt, (0.5, 2.0)),
    "rpow": (lambda a: 2.0**a, lambda x: 2.0**x, (-1.0, 1.0)),
}

SHAPES = st.sampled_from([(3,), (2, 3), (1, 4)])


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@settings(max_examples=4)
@given(shape=SHAPES, seed=st.integers(0, 2**16))
def test_elementwise_value_and_derivatives(name, shape, seed):
    build, numpy_f, (lo, hi) = ELEMENTWISE[name]
    xv = np.random.default_rng(seed).uniform(lo, hi, size=shape)
    x = tnet.Variable("x", *shape)
    w = np.linspace(0.5, 1.5, xv.size).reshape(shape)
    f = tnet.sum(build(x) * w)
    check_derivatives(f, x, {"x": xv}, np.sum(numpy_f(xv) * w), lambda e: np.sum(numpy_f(e["x"]) * w))
    np.testing.assert_allclose(tnet.evaluate(build(x), {"x": xv}), numpy_f(xv), rtol=1e-12, atol=1e-12)


def test_sign_and_step_are_values_with_zero_derivative():
    x = tnet.Variable("x", 4)
    xv = np.array([-2.0, 0.0, 1.0, 3.0])
    np.testing.assert_array_equal(tnet.evaluate(tnet.sign(x), {"x": xv}), np.sign(xv))
    np.testing.assert_array_equal(tnet.evaluate(tnet.step(x), {"x": xv}), (xv > 0).astype(float))
    assert np.all(tnet.evaluate(tnet.grad(tnet.sum(tnet.sign(x) + tnet.step(x)), x), {"x": xv}) == 0)


# -- several-argument functions -------------------------------------------------------------------
TWO_ARGS = {
    "maximum": (tnet.maximum, np.maximum),
    "minimum": (tnet.minimum, np.minimum),
    "pow": (lambda a, b: a**b, np.power),
    "where": (lambda a, b: tnet.where(np.array([True, False, True]), a, b), lambda a, b: np.where([1, 0, 1], a, b)),
}


@pytest.mark.parametrize("name", sorted(TWO_ARGS))
@settings(max_examples=5)
@given(seed=st.integers(0, 2**16))
def test_two_argument_functions(name, seed):
    build, numpy_f = TWO_ARGS[name]
    rng = np.random.default_rng(seed)
    av, bv = rng.uniform(0.5, 2.0, size=3), rng.uniform(0.5, 2.0, size=(2, 3))
    bv[np.abs(bv - av) < 0.05] += 0.2  # away from the kink of maximum and minimum
    a, b = tnet.Variable("a", 3), tnet.Variable("b", 2, 3)  # a broadcasts along b's first axis
    w = rng.normal(size=(2, 3))
    f = tnet.sum(build(a, b) * w)
    for x in (a, b):
        check_derivatives(
            f, x, {"a": av, "b": bv}, np.sum(numpy_f(av, bv) * w), lambda e: np.sum(numpy_f(e["a"], e["b"]) * w)
        )


def test_maximum_splits_ties_evenly_and_clip():
    x = tnet.Variable("x", 3)
    xv = np.array([1.0, 2.0, 3.0])
    g = tnet.evaluate(tnet.grad(tnet.sum(tnet.maximum(x, 2.0)), x), {"x": xv})
    np.testing.assert_allclose(g, [0.0, 0.5, 1.0])
    c = tnet.clip(x, 1.5, 2.5)
    np.testing.assert_allclose(tnet.evaluate(c, {"x": xv}), np.clip(xv, 1.5, 2.5))
    np.testing.assert_allclose(tnet.evaluate(tnet.grad(tnet.sum(c), x), {"x": np.array([1.0, 2.0, 3.0])}), [0, 1, 0])


def test_where_takes_only_the_chosen_branch():
    x = tnet.Variable("x", 3)
    xv = np.array([-1.0, 2.0, 3.0])
    e = tnet.where(xv > 0, tnet.log(x), 0.0)
    np.testing.assert_allclose(tnet.evaluate(e, {"x": xv}), [0.0, np.log(2), np.log(3)])
    np.testing.assert_allclose(tnet.evaluate(tnet.grad(tnet.sum(e), x), {"x": xv}), [0.0, 0.5, 1 / 3])


def test_where_with_a_condition_that_depends_on_the_variable():
    x = tnet.Variable("x", 4)
    xv = np.array([-2.0, -0.5, 0.5, 3.0])
    leaky = tnet.where(tnet.step(x), x, 0.1 * x)
    w = np.arange(1.0, 5.0)
    check_derivatives(
        tnet.sum(leaky * leaky * w), x, {"x": xv}, np.sum(np.where(xv > 0, xv, 0.1 * xv) ** 2 * w),
        lambda e: np.sum(np.where(e["x"] > 0, e["x"], 0.1 * e["x"]) ** 2 * w),
    )  # fmt: skip


def test_where_holds_where_the_condition_is_nonzero_as_in_numpy():
    """An expression condition that is not 0/1 selects as numpy does (nonzero holds), and the
    derivatives by the branches are the 0/1 masks, not the condition's values."""
    x, y = tnet.Variable("x", 4), tnet.Variable("y", 4)
    xv, yv = np.array([0.5, 0.0, -2.0, 3.0]), np.arange(4.0)
    e = tnet.where(x, y, 2.0 * y)
    np.testing.assert_allclose(tnet.evaluate(e, {"x": xv, "y": yv}), np.where(xv, yv, 2.0 * yv))
    g = tnet.evaluate(tnet.grad(tnet.sum(e), y), {"x": xv, "y": yv})
    np.testing.assert_allclose(g, np.where(xv != 0, 1.0, 2.0))


def test_user_function_of_several_tensors_with_cores():
    """f(u, v) = (u · v)² on vectors (cores of one axis), batched over rows: one rule each."""

    def value(u, v):
        return np.sum(u * v, axis=-1) ** 2

    def rule_u(args, du, fx, k):
        u, v = args
        return 2 * tnet.einsum("b,bi,bi->b", tnet.einsum("bi,bi->b", u, v), v, du)

    def rule_v(args, dv, fx, k):
        u, v = args
        return 2 * tnet.einsum("b,bi,bi->b", tnet.einsum("bi,bi->b", u, v), u, dv)

    fn = tnet.Function("dot_squared", value, arity=2, core_ndim=1, output_shape=lambda cores: (), register=False,
                       differential=(rule_u, rule_v))  # fmt: skip
    U, V = tnet.Variable("U", 3, 4), tnet.Variable("V", 3, 4)
    rng = np.random.default_rng(1)
    uv, vv = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    f = tnet.sum(tnet.call(fn, U, V))
    want = np.sum(np.sum(uv * vv, axis=1) ** 2)
    for x in (U, V):
        check_derivatives(f, x, {"U": uv, "V": vv}, want, lambda e: np.sum(np.sum(e["U"] * e["V"], axis=1) ** 2))
    assert tnet.call(fn, U, V).to_bracket() == "dot_squared(U, V)"
    assert tnet.call(fn, U, V).to_matrix() == "dot_squared(U, V)"
    with pytest.raises(tnet.DifferentiationError, match="argument 1"):
        g = tnet.Function("half", lambda a, b: a, arity=2, register=False, derivative=(lambda a, b: a * 0 + 1, None))
        tnet.grad(tnet.sum(tnet.call(g, U, V)), V)


def test_several_argument_printing_and_drawing():
    a, b = tnet.Variable("a", 3), tnet.Variable("b", 3)
    e = tnet.maximum(a, b)
    assert e.to_bracket() == "maximum(a, b)"
    assert e.to_latex() == r"\operatorname{maximum}(a, b)"
    assert e.to_matrix() == "maximum(a, b)"
    assert "Call[maximum" in repr(e)
    dot = tnet.render.to_dot(e).source
    assert "argument 1" in dot and "argument 2" in dot


# -- reductions and norms ------------------------------------------------------------------------
REDUCTIONS = {
    "max1": (lambda a: tnet.max(a, 1), lambda x: np.max(x, 1)),
    "max_all": (lambda a: tnet.max(a), np.max),
    "min0_keep": (lambda a: tnet.min(a, 0, keepdims=True), lambda x: np.min(x, 0, keepdims=True)),
    "prod1": (lambda a: tnet.prod(a, 1), lambda x: np.prod(x, 1)),
    "prod_all": (lambda a: tnet.prod(a), np.prod),
    "mean": (lambda a: tnet.mean(a), np.mean),
    "mean0_keep": (lambda a: tnet.mean(a, 0, keepdims=True), lambda x: np.mean(x, 0, keepdims=True)),
    "sum_keep": (lambda a: tnet.sum(a, 1, keepdims=True), lambda x: np.sum(x, 1, keepdims=True)),
    "logsumexp_keep": (
        lambda a: tnet.logsumexp(a, 0, keepdims=True),
        lambda x: np.log(np.sum(np.exp(x), 0, keepdims=True)),
    ),
    "norm_fro": (lambda a: tnet.norm(a), np.linalg.norm),
    "norm_rows": (lambda a: tnet.norm(a, axis=1), lambda x: np.linalg.norm(x, axis=1)),
    "norm1_rows": (lambda a: tnet.norm(a, 1, axis=1), lambda x: np.linalg.norm(x, 1, axis=1)),
    "norminf_rows": (lambda a: tnet.norm(a, np.inf, axis=1), lambda x: np.linalg.norm(x, np.inf, axis=1)),
    "norm3_rows": (lambda a: tnet.norm(a, 3, axis=1), lambda x: np.linalg.norm(x, 3, axis=1)),
    "matrix_norm1": (lambda a: tnet.norm(a, 1), lambda x: np.linalg.norm(x, 1)),
    "matrix_norminf": (lambda a: tnet.norm(a, np.inf), lambda x: np.linalg.norm(x, np.inf)),
    "frobenius2": (tnet.frobenius2, lambda x: np.sum(x * x)),
    "var1": (lambda a: tnet.var(a, 1), lambda x: np.var(x, 1)),
    "std_all_ddof": (lambda a: tnet.std(a, ddof=1), lambda x: np.std(x, ddof=1)),
    "methods": (
        lambda a: a.mean(0) + a.max(1, keepdims=True) - a.min() + a.sum(0),
        lambda x: x.mean(0) + x.max(1, keepdims=True) - x.min() + x.sum(0),
    ),
    "reshape_method": (lambda a: a.reshape(3, 2).flatten(), lambda x: x.reshape(3, 2).flatten()),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@settings(max_examples=4)
@given(seed=st.integers(0, 2**16))
def test_reductions(name, seed):
    build, numpy_f = REDUCTIONS[name]
    rng = np.random.default_rng(seed)
    # distinct entries of distinct magnitudes, away from 0: no ties, no kinks
    xv = rng.uniform(0.3, 1.5, size=(2, 3)) * rng.choice([-1.0, 1.0], size=(2, 3))
    x = tnet.Variable("x", 2, 3)
    out = build(x)
    w = rng.normal(size=np.shape(numpy_f(xv)))
    f = tnet.sum(out * w) if out.ndim else out * w
    check_derivatives(f, x, {"x": xv}, np.sum(numpy_f(xv) * w), lambda e: np.sum(numpy_f(e["x"]) * w))


def test_max_ties_split_evenly_and_argmax():
    x = tnet.Variable("x", 2, 3)
    xv = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    g = tnet.evaluate(tnet.grad(tnet.sum(tnet.max(x, 1)), x), {"x": xv})
    np.testing.assert_allclose(g, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    g = tnet.evaluate(tnet.grad(tnet.max(x), x), {"x": xv})
    np.testing.assert_allclose(g, [[0, 0.5, 0.5], [0, 0, 0]])
    yv = np.array([[1.0, 5.0, 3.0], [7.0, 2.0, 0.0]])
    np.testing.assert_array_equal(tnet.evaluate(tnet.argmax(x, 1), {"x": yv}), [1, 0])
    np.testing.assert_array_equal(tnet.evaluate(tnet.argmin(x), {"x": yv}), np.argmin(yv))
    assert np.all(tnet.evaluate(tnet.grad(tnet.sum(tnet.argmax(x, 1)), x), {"x": yv}) == 0)


def test_prod_derivatives_are_exact_at_zero_entries():
    x = tnet.Variable("x", 2, 3)
    xv = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 5.0]])
    g = tnet.evaluate(tnet.grad(tnet.sum(tnet.prod(x, 1)), x), {"x": xv})
    np.testing.assert_allclose(g, [[6.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    v = tnet.Variable("v", 3)
    vv = np.array([0.0, 2.0, 3.0])
    h = tnet.evaluate(tnet.hessian(tnet.prod(v), v), {"v": vv})
    np.testing.assert_allclose(h, [[0.0, 3.0, 2.0], [3.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    third = tnet.evaluate(tnet.jacobian(tnet.hessian(tnet.prod(v), v), v), {"v": vv})
    want = np.zeros((3, 3, 3))
    for i, j, k in itertools.permutations(range(3)):
        want[i, j, k] = 1.0
    np.testing.assert_allclose(third, want)


def test_norm_gradient_at_zero_is_zero():
    x = tnet.Variable("x", 3)
    for f in (tnet.norm(x), tnet.norm(x) ** 2 + tnet.norm(x)):
        z = {"x": np.zeros(3)}
        assert np.all(tnet.evaluate(tnet.grad(f, x), z) == 0)
        assert np.all(np.isfinite(tnet.evaluate(tnet.hessian(f, x), z)))


def test_mean_with_a_size_name():
    x = tnet.Variable("x", "n", 3)
    xv = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(tnet.evaluate(tnet.mean(x, 0), {"x": xv}), xv.mean(0))
    np.testing.assert_allclose(tnet.evaluate(tnet.grad(tnet.mean(x), x), {"x": xv}), np.full((4, 3), 1 / 12))


# -- losses and layers -----------------------------------------------------------------------------
def log_softmax_np(z, axis=-1):
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


@settings(max_examples=5)
@given(seed=st.integers(0, 2**16), axis=st.sampled_from([0, 1, -1]))
def test_log_softmax_and_cross_entropy(seed, axis):
    rng = np.random.default_rng(seed)
    zv = rng.normal(size=(4, 3))
    z = tnet.Variable("z", 4, 3)
    w = rng.normal(size=(4, 3))
    check_derivatives(
        tnet.sum(tnet.log_softmax(z, axis) * w),
        z,
        {"z": zv},
        np.sum(log_softmax_np(zv, axis) * w),
        lambda e: np.sum(log_softmax_np(e["z"], axis) * w),
    )
    ax = axis % 2
    idx = rng.integers(0, zv.shape[ax], size=zv.shape[1 - ax])
    picked = np.take_along_axis(log_softmax_np(zv, ax), np.expand_dims(idx, ax), ax)

    def ce_np(e):
        return -np.mean(np.take_along_axis(log_softmax_np(e["z"], ax), np.expand_dims(idx, ax), ax))

    check_derivatives(tnet.cross_entropy(z, idx, axis=axis), z, {"z": zv}, -picked.mean(), ce_np)
    p = rng.dirichlet(np.ones(zv.shape[ax]), size=zv.shape[1 - ax])
    p = p.T if ax == 0 else p
    check_derivatives(
        tnet.cross_entropy(z, p, axis=axis, reduction="sum"),
        z,
        {"z": zv},
        -np.sum(p * log_softmax_np(zv, ax)),
        lambda e: -np.sum(p * log_softmax_np(e["z"], ax)),
    )


@pytest.mark.parametrize("dtype, big", [(np.float64, 1000.0), (np.float32, 100.0)])
def test_cross_entropy_and_log_softmax_are_stable(dtype, big):
    z = tnet.Variable("z", 2, 3)
    zv = np.array([[big, -big, 0.0], [-big, big, big]], dtype=dtype)
    for f in (
        tnet.cross_entropy(z, np.array([1, 0])),
        tnet.sum(tnet.log_softmax(z)),
        tnet.simplify(-tnet.sum(tnet.log(tnet.softmax(z)) * np.eye(3)[[1, 0]])),  # the textbook way
        tnet.simplify(tnet.sum(tnet.log(tnet.softmax(z, 0)))),
    ):
        v = tnet.evaluate(f, {"z": zv})
        g = tnet.evaluate(tnet.grad(f, z), {"z": zv})
        assert np.isfinite(v) and np.all(np.isfinite(g))
    want = -(log_softmax_np(zv.astype(float))[0, 1] + log_softmax_np(zv.astype(float))[1, 0]) / 2
    np.testing.assert_allclose(tnet.evaluate(tnet.cross_entropy(z, np.array([1, 0])), {"z": zv}), want, rtol=1e-5)


def test_simplify_rewrites_log_of_softmax():
    z = tnet.Variable("z", 2, 3)
    assert tnet.simplify(tnet.log(tnet.softmax(z))) is tnet.log_softmax(z)
    s = tnet.simplify(tnet.log(tnet.softmax(z, 0)))
    assert "log_softmax" in s.to_bracket() and "softmax(" not in s.to_bracket().replace("log_softmax", "")


def test_mse_and_logistic_loss():
    rng = np.random.default_rng(3)
    p, y = tnet.Variable("p", 5), rng.normal(size=5)
    pv = rng.normal(size=5)
    check_derivatives(tnet.mse(p, y), p, {"p": pv}, np.mean((pv - y) ** 2), lambda e: np.mean((e["p"] - y) ** 2))
    labels = rng.integers(0, 2, size=5).astype(float)

    def bce(e):
        s = 1 / (1 + np.exp(-e["p"]))
        return -np.mean(labels * np.log(s) + (1 - labels) * np.log(1 - s))

    check_derivatives(tnet.logistic_loss(p, labels), p, {"p": pv}, bce({"p": pv}), bce)


@pytest.mark.parametrize("affine", [False, True])
def test_layer_norm(affine):
    rng = np.random.default_rng(4)
    xv, gv, bv = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=4)
    x, g, b = tnet.Variable("x", 3, 4), tnet.Variable("g", 4), tnet.Variable("b", 4)
    w = rng.normal(size=(3, 4))

    def ln(e):
        c = e["x"] - e["x"].mean(-1, keepdims=True)
        y = c / np.sqrt((c**2).mean(-1, keepdims=True) + 1e-5)
        return np.sum((y * e["g"] + e["b"] if affine else y) * w)

    env = {"x": xv, "g": gv, "b": bv} if affine else {"x": xv}
    f = tnet.sum(tnet.layer_norm(x, g if affine else None, b if affine else None) * w)
    for var in (x, g, b) if affine else (x,):
        check_derivatives(f, var, env, ln(env), ln)


def test_layer_norm_along_the_first_axis():
    xv = np.random.default_rng(5).normal(size=(4, 3))
    x = tnet.Variable("x", 4, 3)
    c = xv - xv.mean(0)
    want = c / np.sqrt((c**2).mean(0) + 1e-5) * np.arange(1.0, 5.0)[:, None]
    got = tnet.evaluate(tnet.layer_norm(x, np.arange(1.0, 5.0), axis=0), {"x": xv})
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("masked", [False, True])
def test_attention(masked):
    rng = np.random.default_rng(6)
    qv, kv, vv = rng.normal(size=(2, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    mask = np.array([[True, True, False, True], [False, True, True, True]]) if masked else None
    Q, K, V = tnet.Variable("Q", 2, 3), tnet.Variable("K", 4, 3), tnet.Variable("V", 4, 2)
    w = rng.normal(size=(2, 2))

    def att(e):
        s = e["Q"] @ e["K"].T / np.sqrt(3)
        if masked:
            s = np.where(mask, s, -np.inf)
        p = np.exp(s - s.max(1, keepdims=True))
        return np.sum((p / p.sum(1, keepdims=True)) @ e["V"] * w)

    env = {"Q": qv, "K": kv, "V": vv}
    f = tnet.sum(tnet.attention(Q, K, V, mask=mask) * w)
    for var in (Q, K, V):
        check_derivatives(f, var, env, att(env), att)


# -- indexing and structure --------------------------------------------------------------------------
INDEXING = {
    "int": (lambda a: a[1], lambda x: x[1]),
    "negative": (lambda a: a[-1, 2], lambda x: x[-1, 2]),
    "slice": (lambda a: a[:, 1:3], lambda x: x[:, 1:3]),
    "step": (lambda a: a[::2, ::-1], lambda x: x[::2, ::-1]),
    "gather": (lambda a: a[np.array([2, 0, 2])], lambda x: x[np.array([2, 0, 2])]),
    "gather2d": (lambda a: a[:, np.array([[0, 3], [1, 1]])], lambda x: x[:, np.array([[0, 3], [1, 1]])]),
    "none": (lambda a: a[None, :, None], lambda x: x[None, :, None]),
    "ellipsis": (lambda a: a[..., 0], lambda x: x[..., 0]),
    "take": (lambda a: tnet.take(a, [3, 1], axis=1), lambda x: np.take(x, [3, 1], axis=1)),
    "concatenate": (
        lambda a: tnet.concatenate([a, a[:, :2] * 2.0], axis=1),
        lambda x: np.concatenate([x, x[:, :2] * 2], axis=1),
    ),
    "stack": (lambda a: tnet.stack([a, a * a], axis=1), lambda x: np.stack([x, x * x], axis=1)),
    "reshape": (lambda a: tnet.reshape(a, (2, 6)), lambda x: x.reshape(2, 6)),
    "reshape3": (lambda a: tnet.reshape(a, 2, -1, 3), lambda x: x.reshape(2, -1, 3)),
    "flatten": (tnet.flatten, np.ravel),
    "diag": (lambda a: tnet.diag(a[:, :3]), lambda x: np.diag(x[:, :3])),
    "diag_embed": (lambda a: tnet.diag(a[0]), lambda x: np.diag(x[0])),
    "kron_matrix": (lambda a: tnet.kron_matrix(a[:2, :2], a), lambda x: np.kron(x[:2, :2], x)),
    "expand_dims": (lambda a: tnet.expand_dims(a, (0, 2)), lambda x: np.expand_dims(x, (0, 2))),
}


@pytest.mark.parametrize("name", sorted(INDEXING))
def test_indexing(name):
    build, numpy_f = INDEXING[name]
    rng = np.random.default_rng(7)
    xv = rng.normal(size=(3, 4))
    x = tnet.Variable("x", 3, 4)
    out = build(x)
    w = rng.normal(size=np.shape(numpy_f(xv)))
    f = tnet.sum(out * w) if out.ndim else out * w
    f = f * f  # a second derivative that is not zero
    check_derivatives(f, x, {"x": xv}, np.sum(numpy_f(xv) * w) ** 2, lambda e: np.sum(numpy_f(e["x"]) * w) ** 2)


def test_one_hot_and_broadcasting_a_statistic():
    np.testing.assert_array_equal(tnet.evaluate(tnet.one_hot([2, 0], 3)), np.eye(3)[[2, 0]])
    x = tnet.Variable("x", 3, 4)
    xv = np.random.default_rng(8).normal(size=(3, 4))
    centred = x - tnet.mean(x, 1, keepdims=True)  # a per-row statistic broadcasts
    np.testing.assert_allclose(tnet.evaluate(centred, {"x": xv}), xv - xv.mean(1, keepdims=True))
    b = tnet.Variable("b", 3)
    np.testing.assert_allclose(
        tnet.evaluate(x + b[:, None], {"x": xv, "b": np.arange(3.0)}), xv + np.arange(3.0)[:, None]
    )


def test_symmetric_variable_gradient_is_sym_of_g():
    rng = np.random.default_rng(9)
    S, a = tnet.Variable("S", 3, 3, symmetric=True), tnet.Variable("a", 3)
    A = rng.normal(size=(3, 3))
    sv, av = A @ A.T + 3 * np.eye(3), rng.normal(size=3)
    M = rng.normal(size=(3, 3))  # not symmetric: the unconstrained gradient is not symmetric
    f = a @ S @ S @ a + tnet.logdet(S) + tnet.sum(S * M)

    def f_np(s):
        return av @ s @ s @ av + np.linalg.slogdet(s)[1] + np.sum(s * M)

    G = tnet.evaluate(tnet.grad(f, S), {"S": sv, "a": av})
    np.testing.assert_allclose(G, G.T)
    for _ in range(3):  # finite differences along symmetric directions E: f'(S)[E] = <G, E>
        E = rng.normal(size=(3, 3))
        E = E + E.T
        fd = (f_np(sv + H * E) - f_np(sv - H * E)) / (2 * H)
        np.testing.assert_allclose(np.sum(G * E), fd, rtol=1e-6)
    free = tnet.Variable("S", 3, 3)  # the same function of an unconstrained S: G, not sym(G)
    Gfree = tnet.evaluate(tnet.grad(a @ free @ free @ a + tnet.sum(free * M), free), {"S": sv, "a": av})
    Gsym = tnet.evaluate(tnet.grad(a @ S @ S @ a + tnet.sum(S * M), S), {"S": sv, "a": av})
    np.testing.assert_allclose(Gsym, (Gfree + Gfree.T) / 2, atol=1e-12)
    assert not np.allclose(Gfree, Gfree.T)
    Hs = tnet.evaluate(tnet.hessian(f, S), {"S": sv, "a": av})
    E1, E2 = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    E1, E2 = E1 + E1.T, E2 + E2.T
    fd2 = f_np(sv + H * (E1 + E2)) - f_np(sv + H * (E1 - E2)) - f_np(sv - H * (E1 - E2)) + f_np(sv - H * (E1 + E2))
    np.testing.assert_allclose(np.einsum("ij,ijkl,kl->", E1, Hs, E2), fd2 / (4 * H * H), rtol=1e-3)


def test_diagonal_variable():
    D = tnet.Variable("D", 3, 3, diagonal=True)
    A = np.arange(9.0).reshape(3, 3)
    G = tnet.evaluate(tnet.grad(tnet.sum(D * A) + tnet.trace(D @ D), D), {"D": np.diag([1.0, 2.0, 3.0])})
    np.testing.assert_allclose(G, np.diag(np.diag(A) + 2 * np.array([1.0, 2.0, 3.0])))


# -- errors ---------------------------------------------------------------------------------------------
def test_bad_input_gets_clear_errors():
    A = tnet.Variable("A", 3, 4)
    with pytest.raises(tnet.IndexingError, match="index 5 is out of range for axis 1 with size 4"):
        A[:, 5]
    with pytest.raises(tnet.IndexingError, match="index -4 is out of range for axis 0 with size 3"):
        A[np.array([0, -4])]
    with pytest.raises(tnet.IndexingError, match="too many indices"):
        A[0, 0, 0]
    with pytest.raises(tnet.ShapeError, match=r"cannot reshape shape \(3, 4\) \(size 12\) to \(5, 2\)"):
        tnet.reshape(A, (5, 2))
    with pytest.raises(tnet.ShapeError, match="operand 1 has size 5 on axis 0 but operand 0 has 3"):
        tnet.concatenate([A, tnet.Variable("B", 5, 2)], axis=1)
    with pytest.raises(tnet.ShapeError, match="must be a square matrix"):
        tnet.Variable("S", 3, 4, symmetric=True)
    with pytest.raises(tnet.ShapeError, match=r"condition has shape \(2,\)"):
        tnet.where(np.array([True, False]), A, 0.0)
    with pytest.raises(tnet.BindingError, match="not symmetric"):
        tnet.evaluate(tnet.Variable("S", 2, 2, symmetric=True), {"S": np.array([[1.0, 2.0], [3.0, 4.0]])})
    with pytest.raises(tnet.ShapeError, match=r"class indices of shape \(2,\), expected \(3,\)"):
        tnet.cross_entropy(A, np.array([0, 1]))
    with pytest.raises(TypeError, match="not iterable"):
        list(A)


def test_new_words_print_and_read_back():
    A = tnet.Variable("A", 3, 4)
    for name in ("softplus", "erf", "gelu", "log1p", "arctan", "tan"):
        e = tnet.apply(name, A)
        assert tnet.parse(e.to_bracket(), A=A) is e
        assert name in e.to_latex() and name in e.to_matrix()
    e = tnet.log_softmax(A)
    assert tnet.parse(e.to_bracket(), A=A) is e


def test_several_argument_functions_read_back():
    a, b = tnet.Variable("a", 3), tnet.Variable("b", 3)
    for e in (tnet.maximum(tnet.tanh(a), b), a**b, tnet.minimum(a, 2 * b)):
        assert tnet.parse(e.to_bracket(), a=a, b=b) is e
        assert tnet.notation.parse_matrix(e.to_matrix(), a=a, b=b) is e
    with pytest.raises(tnet.ParseError, match="takes no positions"):
        tnet.parse("maximum^1(a, b)", a=a, b=b)


def test_batched_masked_attention_is_one_call():
    rng = np.random.default_rng(10)
    qv, kv, vv = rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 4, 3))
    mask = np.tril(np.ones((3, 4), dtype=bool), 1)
    Q, K, V = tnet.Variable("Q", 2, 3, 2), tnet.Variable("K", 2, 4, 2), tnet.Variable("V", 2, 4, 3)
    a = tnet.attention(Q, K, V, mask=mask)
    assert isinstance(a, tnet.Call) and a.to_bracket().startswith("masked_attention(Q, K, V, M)")
    w = rng.normal(size=(2, 3, 3))

    def att(e):
        s = np.where(mask, e["Q"] @ np.swapaxes(e["K"], 1, 2) / np.sqrt(2), -np.inf)
        p = np.exp(s - s.max(-1, keepdims=True))
        return np.sum((p / p.sum(-1, keepdims=True)) @ e["V"] * w)

    env = {"Q": qv, "K": kv, "V": vv}
    for var in (Q, K, V):
        check_derivatives(tnet.sum(a * w), var, env, att(env), att)
    with pytest.raises(tnet.ShapeError, match="key sizes 2 and 3"):
        tnet.attention(Q, tnet.Variable("K3", 2, 4, 3), V)


def test_reductions_and_underscored_names_read_back_in_both_notations():
    A = tnet.Variable("A", 3, 4)
    words = [
        tnet.log_softmax(A),
        tnet.gelu(A, "tanh"),
        tnet.max(A, 1),
        tnet.max(A),
        tnet.min(A, 0),
        tnet.norm(A),
        tnet.norm(A, axis=1),
        tnet.argmax(A, 1),
        tnet.prod(A),
        tnet.maximum(A, tnet.log_softmax(A, 0)),
    ]
    for e in words:
        assert tnet.parse(e.to_bracket(), A=A) is e, e.to_bracket()
        assert tnet.notation.parse_matrix(e.to_matrix(), A=A) is e, e.to_matrix()


def test_apply_and_call_keep_to_their_arity():
    a = tnet.Variable("a", 3)
    with pytest.raises(TypeError, match="use tnet.call"):
        tnet.apply("maximum", a)
    assert tnet.call("tanh", a) is tnet.tanh(a)
    with pytest.raises(TypeError, match="takes 2 arguments, got 3"):
        tnet.call("maximum", a, a, a)


KINDS = {
    "sum": (tnet.sum, np.sum),
    "mean": (tnet.mean, np.mean),
    "max": (tnet.max, np.max),
    "min": (tnet.min, np.min),
    "prod": (tnet.prod, np.prod),
    "norm": (lambda a, axis, keepdims: tnet.norm(a, None, axis, keepdims), None),
}


@st.composite
def shape_and_axes(draw):
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    axes = draw(st.lists(st.integers(0, len(shape) - 1), unique=True, min_size=1))
    return shape, tuple(sorted(axes))


@settings(max_examples=25)
@given(kind=st.sampled_from(sorted(KINDS)), sa=shape_and_axes(), keepdims=st.booleans(), seed=st.integers(0, 2**16))
def test_reductions_over_any_axes(kind, sa, keepdims, seed):
    shape, axes = sa
    build, numpy_f = KINDS[kind]
    if numpy_f is None:

        def numpy_f(x, axis, keepdims):
            return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))

    rng = np.random.default_rng(seed)
    xv = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    x = tnet.Variable("x", *shape)
    out = build(x, axes, keepdims)
    want = numpy_f(xv, axis=axes, keepdims=keepdims)
    np.testing.assert_allclose(tnet.evaluate(out, {"x": xv}), want, rtol=1e-12, atol=1e-12)
    w = rng.normal(size=np.shape(want))
    g = tnet.evaluate(tnet.grad(tnet.sum(out * w), x), {"x": xv})
    np.testing.assert_allclose(
        g, fd_grad(lambda v: np.sum(numpy_f(v, axis=axes, keepdims=keepdims) * w), xv), rtol=1e-4, atol=1e-6
    )
