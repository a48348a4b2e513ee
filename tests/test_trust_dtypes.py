"""Issue 9's dtype policy (docs/design.md, "dtypes"): numpy's promotion rules, with every sum
(a Sum of terms, a contraction over an edge) promoted as numpy.sum promotes, and complex
numbers end to end through arithmetic, contractions and the holomorphic functions."""

from __future__ import annotations

import numpy as np
import pytest

import tnet
from tnet.contract import sum_dtype

DTYPES = [np.bool_, np.int8, np.int32, np.int64, np.float32, np.float64, np.complex128]
A, B = tnet.Variable("A", 3, 3), tnet.Variable("B", 3, 3)
x = tnet.Variable("x", 3)


def _sd(*arrays):
    return sum_dtype(np.result_type(*arrays))


# name: (tnet expression, numpy value under the policy from the arrays a, b, v)
CASES = {
    "A + B": (A + B, lambda a, b, v: a.astype(_sd(a, b)) + b.astype(_sd(a, b))),
    "A - B + A": (A - B + A, lambda a, b, v: (a.astype(_sd(a, b)) - b.astype(_sd(a, b))) + a),
    "A + 1": (A + 1, lambda a, b, v: a.astype(_sd(a)) + np.ones((), a.dtype)),
    "A * B": (A * B, lambda a, b, v: a * b),
    "3 * A": (3 * A, lambda a, b, v: 3 * a),
    "2.5 * A": (2.5 * A, lambda a, b, v: 2.5 * a),
    "A @ B": (A @ B, lambda a, b, v: a.astype(_sd(a, b)) @ b.astype(_sd(a, b))),
    "A @ x": (A @ x, lambda a, b, v: a.astype(_sd(a, v)) @ v.astype(_sd(a, v))),
    "A.T": (A.T, lambda a, b, v: a.T),
    "transpose(A, (-1, 0))": (tnet.transpose(A, (-1, 0)), lambda a, b, v: a.T),
    "sum(A)": (tnet.sum(A), lambda a, b, v: np.sum(a)),
    "sum(A, 0)": (tnet.sum(A, 0), lambda a, b, v: np.sum(a, 0)),
    "trace(A)": (tnet.trace(A), lambda a, b, v: np.trace(a.astype(_sd(a)))),
    "diag(x)": (tnet.diag(x), lambda a, b, v: np.diag(v)),
    "diag(A)": (tnet.diag(A), lambda a, b, v: np.diag(a)),
    "kron(x, x)": (tnet.kron(x, x), lambda a, b, v: np.multiply.outer(v, v)),
    "einsum ij,ij->": (tnet.einsum("ij,ij->", A, B), lambda a, b, v: np.sum(a.astype(_sd(a, b)) * b)),
    "identity @ A": (tnet.identity(3) @ A, lambda a, b, v: a),  # a Delta merges edges, sums nothing
    "ones @ x": (tnet.ones(3) @ x, lambda a, b, v: np.sum(v)),
}


def _arrays(dtype):
    rng = np.random.default_rng(7)

    def make(*shape):
        if dtype is np.bool_:
            return rng.integers(0, 2, size=shape).astype(bool)
        if np.issubdtype(dtype, np.integer):
            return rng.integers(60, 120, size=shape).astype(dtype)  # int8 sums overflow
        imag = 1j * rng.normal(size=shape) if dtype is np.complex128 else 0
        return (rng.normal(size=shape) + imag).astype(dtype)

    return make(3, 3), make(3, 3), make(3)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(CASES))
def test_operators_and_reductions_follow_the_dtype_policy(name, dtype):
    e, reference = CASES[name]
    a, b, v = _arrays(dtype)
    with np.errstate(over="ignore"):
        want = np.asarray(reference(a, b, v))
    got = tnet.evaluate(e, {"A": a, "B": b, "x": v}, allow_unknown=True)
    assert got.dtype == want.dtype, f"{name}: {got.dtype} vs {want.dtype}"
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype in (np.float32,) else 1e-12)


FUNCTIONS = {
    "exp": (tnet.exp, np.exp),
    "tanh": (tnet.tanh, np.tanh),
    "sin": (tnet.sin, np.sin),
    "sqrt": (tnet.sqrt, np.sqrt),
    "A ** 2": (lambda e: e**2, lambda a: np.asarray(a, np.result_type(a, 0.0)) ** 2),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_functions_and_their_gradients_keep_float32_and_complex(name, dtype):
    fn, reference = FUNCTIONS[name]
    a = _arrays(dtype)[0] + (2 if dtype is not np.complex128 else 2 + 0.5j)  # away from sqrt's branch cut
    a = a.astype(dtype)
    got = tnet.evaluate(fn(A), {"A": a})
    assert got.dtype == dtype
    np.testing.assert_allclose(got, reference(a), rtol=1e-5)
    g = tnet.evaluate(tnet.grad(tnet.sum(fn(A)), A), {"A": a})
    assert g.dtype == dtype
    # the complex derivative, unconjugated: a real step along each entry
    eps = 1e-3 if dtype is np.float32 else 1e-6
    a64 = a.astype(np.complex128 if dtype is np.complex128 else np.float64)
    fd = np.zeros_like(a64)
    for idx in np.ndindex(a.shape):
        step = np.zeros_like(a64)
        step[idx] = eps
        fd[idx] = (np.sum(reference(a64 + step)) - np.sum(reference(a64 - step))) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-2 if dtype is np.float32 else 1e-6)


def test_complex_through_contractions_inverse_and_determinant():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3)) + 3 * np.eye(3)
    f = tnet.det(A) + tnet.sum(tnet.inv(A) @ A.T)
    v = rng.normal(size=3) + 0.5j
    want = np.linalg.det(a) + np.sum(np.linalg.inv(a) @ a.T)
    np.testing.assert_allclose(tnet.evaluate(f, {"A": a}), want)
    lse = tnet.evaluate(tnet.logsumexp(A @ x), {"A": a, "x": v})  # a complex log: up to 2 pi i
    np.testing.assert_allclose(np.exp(lse), np.sum(np.exp(a @ v)))
    g = tnet.evaluate(tnet.grad(tnet.det(A), A), {"A": a})
    np.testing.assert_allclose(g, np.linalg.det(a) * np.linalg.inv(a).T)


@pytest.mark.parametrize("fn", [tnet.relu, tnet.abs])
def test_functions_without_a_complex_derivative_refuse_complex(fn):
    with pytest.raises(TypeError, match="real arrays only"):
        tnet.evaluate(fn(x), {"x": np.ones(3) * 1j})


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.int32, np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_norm_computes_in_floating_point(dtype):
    a = (np.arange(9).reshape(3, 3) % 3 + 100).astype(dtype)
    got = tnet.evaluate(tnet.norm(A), {"A": a})
    np.testing.assert_allclose(got, np.linalg.norm(a), rtol=1e-6)
    assert got.dtype == np.linalg.norm(a).dtype
    with pytest.raises(TypeError, match="real arrays only"):
        tnet.evaluate(tnet.norm(A), {"A": a + 1j})
