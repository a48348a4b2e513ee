"""tnet.evaluate is compile-and-run (compiler.evaluate): its generated numpy code follows the
interpreter's policies (evaluate.py, the reference), checked here against the interpreter and
against numpy."""

import importlib

import numpy as np
import pytest

import tnet

interpreter = importlib.import_module("tnet.evaluate")
compiler = importlib.import_module("tnet.compiler")

A = tnet.Variable("A", 3, 3)
B = tnet.Variable("B", 3, 3)
x = tnet.Variable("x", 3)

_CASES = {
    "A + B": (lambda: A + B, lambda a, b, v: a.astype(np.result_type(a, b)) + b),
    "A - 2B": (lambda: A - 2 * B, lambda a, b, v: a - 2 * b),
    "A @ B": (lambda: A @ B, lambda a, b, v: a @ b),
    "trace(A)": (lambda: tnet.trace(A), lambda a, b, v: np.trace(a)),
    "sum(A * B)": (lambda: tnet.sum(A * B), lambda a, b, v: np.sum(a * b)),
    "A @ x + x": (lambda: A @ x + x, lambda a, b, v: a @ v + v),
    "diag(x)": (lambda: tnet.diag(x), lambda a, b, v: np.diag(v)),
}


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.uint8, np.int32, np.float32, np.complex64, np.float64])
@pytest.mark.parametrize("case", list(_CASES))
def test_compiled_evaluation_matches_the_interpreter_and_numpy(case, dtype):
    build, numpy_value = _CASES[case]
    rng = np.random.default_rng(0)
    a, b, v = (rng.integers(0, 100, size=s).astype(dtype) for s in ((3, 3), (3, 3), (3,)))
    e = build()
    vals = {"A": a, "B": b, "x": v}
    names = {var.name for var in tnet.expr.walk([e]) if isinstance(var, tnet.Variable)}
    used = {k: val for k, val in vals.items() if k in names}
    if case == "A - 2B" and dtype == np.uint8:  # -2 does not fit the unsigned sum: both refuse it
        with pytest.raises(OverflowError):
            interpreter.evaluate(e, used)
        with pytest.raises(OverflowError):
            tnet.evaluate(e, used)
        return
    got = tnet.evaluate(e, used)
    want = interpreter.evaluate(e, used)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    # numpy in the dtype tnet sums in (numpy.sum's: a sum of bools counts, of int8 does not wrap)
    acc = got.dtype
    np.testing.assert_allclose(got, numpy_value(a.astype(acc), b.astype(acc), v.astype(acc)), rtol=1e-6)


def test_tnet_evaluate_is_compile_and_run_with_standalone_code():
    assert tnet.evaluate is compiler.evaluate
    e = tnet.sum(tnet.relu(A) @ B) + tnet.trace(tnet.inv(A))
    a, b = np.arange(9.0).reshape(3, 3) + np.eye(3), np.ones((3, 3))
    got = tnet.evaluate(e, {"A": a, "B": b})
    np.testing.assert_allclose(got, np.sum(np.maximum(a, 0) @ b) + np.trace(np.linalg.inv(a)))
    np.testing.assert_allclose(A.evaluate({"A": a}), a)  # Expr.evaluate goes the same way
    (spec,) = compiler._RUNS[e].by_sizes.values()
    assert "tnet" not in spec.source.replace("tnet.compile", "")  # imports numpy only
    namespace: dict = {}
    exec(spec.source, namespace)
    np.testing.assert_allclose(namespace["evaluated"](a, b)[0], got)
    # singular: the inverse is NaN, as in the interpreter; complex arguments of relu are refused
    assert np.isnan(tnet.evaluate(tnet.inv(A), {"A": np.zeros((3, 3))})).all()
    with pytest.raises(TypeError, match="real arrays only"):
        tnet.evaluate(tnet.relu(A), {"A": a * 1j})
    # constants with inf and nan are written as np.inf and np.nan in the generated code
    c = tnet.Constant("c_inf", np.array([1.0, -np.inf, np.nan]))
    np.testing.assert_array_equal(tnet.evaluate(c + x, {"x": np.zeros(3)}), np.array([1.0, -np.inf, np.nan]))


def test_results_of_compiled_evaluation_are_the_callers():
    a = np.arange(9.0).reshape(3, 3)
    r1, r2 = tnet.evaluate([A, A], {"A": a})
    assert not np.shares_memory(r1, a) and not np.shares_memory(r1, r2)
    r1[0, 0] = 99.0
    assert a[0, 0] == 0.0
    ones = tnet.evaluate(tnet.Ones(3, 3) * 1.0 + A, {"A": a.astype(np.float32)})
    assert ones.dtype == np.float32 and ones.flags.writeable
    np.testing.assert_array_equal(ones, a + 1)


def test_a_repeated_evaluation_binds_alike_and_anything_else_is_checked_in_full():
    """evaluate remembers the last call's names, shapes and dtypes per list of roots: a call
    that repeats them runs the same code with no other check; another shape, dtype, name or
    planner goes through the full check (and its own code)."""
    n = tnet.Variable("n_vec", "n")
    m = tnet.Variable("mask", "n")
    f = tnet.sum(n * n) + tnet.sum(m)
    v, mask = np.arange(3.0), np.array([True, False, True])
    assert tnet.evaluate(f, {"n_vec": v, "mask": mask}) == 5.0 + 2  # bools count
    assert tnet.evaluate(f, {"n_vec": v + 1, "mask": mask}) == 14.0 + 2  # the repeated call
    assert tnet.evaluate(f, {"n_vec": np.arange(4.0), "mask": np.ones(4, bool)}) == 14.0 + 4
    got = tnet.evaluate(f, {"n_vec": np.arange(4.0, dtype=np.float32), "mask": np.ones(4, bool)})
    assert got == 18.0 and got.dtype == np.result_type(np.float32, np.int_)  # a float32 sum plus a count
    with pytest.raises(tnet.BindingError, match="unknown variable 'other'"):
        tnet.evaluate(f, {"n_vec": v, "mask": mask, "other": v})
    with pytest.raises(tnet.BindingError, match="size 'n'"):
        tnet.evaluate(f, {"n_vec": v, "mask": np.ones(4, bool)})
    assert tnet.evaluate(f, {"n_vec": v, "mask": mask}, planner="greedy") == 7.0
    g = tnet.sum(n * n)  # float arrays only: sums keep their dtype, no promotion steps
    out = tnet.evaluate(g, {"n_vec": np.arange(3, dtype=np.float32)})
    assert out == 5.0 and out.dtype == np.float32
    assert tnet.evaluate(g, {"n_vec": np.array([100, 50], dtype=np.int8)}) == 12500  # int8: summed without wrapping
    env = {"n_vec": v, "mask": mask}  # one root, then the same root as a list: one array, then a list
    assert tnet.evaluate(f, env) == 7.0 and tnet.evaluate([f], env) == [7.0] and tnet.evaluate(f, env) == 7.0
