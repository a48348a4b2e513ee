"""Issue 9: never a silent wrong answer. One test per numbered item of the issue (the item's
number is in the test's name), plus the dtype, thread-safety, memory and pickling policies of
docs/design.md."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tnet
from tnet.contract import sum_dtype
from tnet.errors import AxisError, BindingError, ShapeError


# -- 1: reductions of bool and small integers promote as numpy.sum -----------------------------
@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.int16, np.int32, np.uint8, np.int64])
def test_1_reductions_promote_as_numpy_sum(dtype):
    x = tnet.Variable("x", 3)
    A = tnet.Variable("A", 3, 3)
    xs = np.array([1, 1, 0], dtype) if dtype is np.bool_ else np.array([100, 100, 100], dtype)
    As = np.full((3, 3), 1 if dtype is np.bool_ else 100, dtype)
    got = tnet.evaluate(tnet.sum(x), {"x": xs})
    assert got == np.sum(xs) and got.dtype == np.sum(xs).dtype
    got = tnet.evaluate(tnet.trace(A), {"A": As})
    assert got == np.trace(As.astype(sum_dtype(As.dtype)))
    got = tnet.evaluate(A @ A, {"A": As})
    np.testing.assert_array_equal(got, As.astype(np.int64) @ As.astype(np.int64))
    assert got.dtype == sum_dtype(As.dtype)


def test_1_sum_dtype_matches_numpy_sum():
    for dt in [
        np.bool_,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint32,
        np.float16,
        np.float32,
        np.complex64,
    ]:
        assert sum_dtype(np.dtype(dt)) == np.sum(np.zeros(2, dt)).dtype


# -- 3: a size name unified with a fixed size must be bound to it ------------------------------
def test_3_size_name_bound_to_one_is_refused_with_both_sizes():
    x, z = tnet.Variable("x", "n"), tnet.Variable("z", 3)
    f = tnet.sum((x + z) ** 2)
    vals = {"x": np.array([5.0]), "z": np.array([0.0, 1, 2])}
    with pytest.raises(ShapeError, match=r"'n' is bound to 1.*equal to 3"):
        tnet.evaluate(tnet.grad(f, x), vals)
    with pytest.raises(ShapeError, match=r"'n' is bound to 1.*equal to 3"):
        tnet.evaluate(f, vals)
    y = tnet.Variable("y", "m")
    with pytest.raises(ShapeError, match=r"'m' is bound to 1.*equal to 3"):
        tnet.evaluate(y * z, {"y": np.ones(1), "z": np.ones(3)})
    ok = {"x": np.array([5.0, 1, 1]), "z": np.array([0.0, 1, 2])}
    np.testing.assert_allclose(tnet.evaluate(tnet.grad(f, x), ok), 2 * (ok["x"] + ok["z"]))


# -- 4: results never alias inputs -----------------------------------------------------------
def test_4_results_never_alias_inputs():
    x = tnet.Variable("x", 3)
    A = tnet.Variable("A", 2, 3)
    a, B = np.arange(3.0), np.arange(6.0).reshape(2, 3)
    for e, b in [(x, {"x": a}), (A, {"A": B}), (A.T, {"A": B}), (tnet.transpose(A), {"A": B}), (1 * x, {"x": a})]:
        out = tnet.evaluate(e, b)
        assert out.flags.writeable
        for arr in b.values():
            assert not np.shares_memory(out, arr)
        out[...] = -7
    np.testing.assert_array_equal(a, np.arange(3.0))
    np.testing.assert_array_equal(B, np.arange(6.0).reshape(2, 3))
    first, second, third = tnet.evaluate([2 * x, 2 * x, x], {"x": a})
    assert not np.shares_memory(first, second) and not np.shares_memory(third, a)
    first[...] = 0
    np.testing.assert_array_equal(second, 2 * a)


# -- 6: sizes from every binding, and sizes= ---------------------------------------------------
def test_6_sizes_from_derived_bindings_and_sizes_argument():
    x = tnet.Variable("x", "n")
    X = tnet.Variable("X", "n", "n")
    np.testing.assert_allclose(tnet.evaluate(tnet.hessian(x @ x, x), {"x": np.ones(3)}), 2 * np.eye(3))
    np.testing.assert_allclose(tnet.evaluate(tnet.grad(tnet.trace(X), X), {"X": np.ones((3, 3))}), np.eye(3))
    np.testing.assert_allclose(tnet.evaluate(tnet.jacobian(X, X), {X: np.ones((2, 2))}).shape, (2, 2, 2, 2))
    np.testing.assert_allclose(tnet.evaluate(tnet.simplify(x**-1 * x), sizes={"n": 4}), np.ones(4))
    with pytest.raises(BindingError, match=r"size 'n'.*sizes="):
        tnet.evaluate(tnet.simplify(x**-1 * x))
    with pytest.raises(BindingError, match="unknown variable 'q'"):
        tnet.evaluate(x, {"x": np.ones(2), "q": np.ones(2)})
    with pytest.raises(BindingError, match="sizes= maps"):
        tnet.evaluate(tnet.Ones("n"), sizes={"n": True})


# -- 7: two variables of one name ------------------------------------------------------------
def test_7_same_name_bound_by_object_and_ambiguous_name_refused():
    a, b = tnet.Variable("lin", 2), tnet.Variable("lin", 3)
    e = tnet.sum(a) + 2 * tnet.sum(b)
    assert tnet.evaluate(e, {a: np.ones(2), b: np.ones(3)}) == 8
    with pytest.raises(BindingError, match=r"ambiguous.*\(2,\) and \(3,\)"):
        tnet.evaluate(e, {"lin": np.ones(2)})
    g = tnet.grad(e, b)
    np.testing.assert_allclose(tnet.evaluate(g, {a: np.ones(2), b: np.ones(3)}), 2 * np.ones(3))


# -- 8: sums of three or more terms with mixed dtypes ------------------------------------------
@pytest.mark.parametrize("coef", [0.5, 2j, 3.0, -1.0])
@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.int64, np.float32, np.float64, np.complex128])
def test_8_sum_of_many_terms_mixed_dtypes(coef, dtype):
    x, y, z = (tnet.Variable(n, 3) for n in "xyz")
    xs, ys, zs = (np.array([1, 0, 1], dtype), np.array([1, 1, 0], dtype), np.array([0, 1, 1], dtype))
    e = x + y + coef * z + x
    got = tnet.evaluate(e, {"x": xs, "y": ys, "z": zs})
    # coefficients are stored as Python floats; an integral one acts as a Python int (design.md)
    c = int(coef.real) if coef == int(coef.real) else coef
    want = np.sum([xs, ys, c * zs, xs], axis=0)
    np.testing.assert_allclose(got, want)
    assert got.dtype == want.dtype


# -- 14: bad input gets a named error ----------------------------------------------------------
def test_14_bad_bindings_named_errors():
    x = tnet.Variable("x", 3)
    with pytest.raises(BindingError, match="dtype <U1"):
        tnet.evaluate(x, {"x": np.array(["a", "b", "c"])})
    with pytest.raises(BindingError, match="dtype datetime64"):
        tnet.evaluate(x, {"x": np.array(["2020-01-01"] * 3, dtype="datetime64[D]")})
    with pytest.raises(BindingError, match="rectangular"):
        tnet.evaluate(tnet.Variable("M", 2, 2), {"M": [[1, 2], [3]]})
    with pytest.raises(BindingError, match="mapping"):
        tnet.evaluate(x, [("x", np.ones(3))])  # type: ignore[arg-type]


# -- 15: copy, deepcopy, pickle and immutability -----------------------------------------------
def test_15_copy_pickle_and_immutability():
    A = tnet.Variable("A", "n", 3)
    x = tnet.Variable("x", 3)
    e = tnet.sum(tnet.exp(A @ x) ** 2) + tnet.trace(tnet.Constant("C", np.eye(3)) @ (A.T @ A)) + tnet.Ones(3) @ x
    g = tnet.grad(e, x)
    for obj in (A, x, e, g, tnet.Delta("n", 3), tnet.Zero(2), tnet.softmax(A, 1)):
        assert copy.copy(obj) is obj
        assert copy.deepcopy(obj) is obj
        assert pickle.loads(pickle.dumps(obj)) is obj
    assert pickle.loads(pickle.dumps([e, g])) == [e, g]
    with pytest.raises(AttributeError, match="immutable"):
        x.name = "y"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del x.shape
    assert x.name == "x"
    unregistered = tnet.Function("mine", np.sin, register=False)
    with pytest.raises(TypeError, match="not registered"):
        pickle.dumps(tnet.apply(unregistered, x))


# -- 12: det, logdet and inv at singular matrices ---------------------------------------------
def _numeric_grad(f, m, eps=1e-6):
    g = np.zeros_like(m)
    for idx in np.ndindex(m.shape):
        e = np.zeros_like(m)
        e[idx] = eps
        g[idx] = (f(m + e) - f(m - e)) / (2 * eps)
    return g


def test_12_det_gradient_is_the_adjugate_at_singular_matrices():
    S = tnet.Variable("S", 3, 3)
    rng = np.random.default_rng(1)
    singular = np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])
    for m in (singular, np.zeros((3, 3)), rng.normal(size=(3, 3))):
        got = tnet.evaluate(tnet.grad(tnet.det(S), S), {"S": m})
        np.testing.assert_allclose(got, _numeric_grad(np.linalg.det, m), atol=1e-7)
    m = rng.normal(size=(4, 3, 3)) + 1j * rng.normal(size=(4, 3, 3))
    want = np.linalg.det(m)[:, None, None] * np.linalg.inv(m)
    np.testing.assert_allclose(tnet.evaluate(tnet.adj(tnet.Variable("B", 4, 3, 3)), {"B": m}), want, atol=1e-12)
    # logdet and inv have no derivative at a singular matrix: NaN, as 1/0 has no finite value
    assert np.isnan(tnet.evaluate(tnet.grad(tnet.logdet(S), S), {"S": singular})).all()
    assert np.isnan(tnet.evaluate(tnet.inv(S), {"S": singular})).all()
    batch = np.stack([singular, np.eye(3)])
    got = tnet.evaluate(tnet.inv(tnet.Variable("T", 2, 3, 3)), {"T": batch})
    assert np.isnan(got[0]).all() and np.allclose(got[1], np.eye(3))


# -- 13: numbers too long for a float ----------------------------------------------------------
@pytest.mark.parametrize("text", ["1" * 5000, "2" * 400 + " x", "(1e400+2j)"])
def test_13_huge_numbers_are_parse_errors(text):
    x = tnet.Variable("x", 3)
    with pytest.raises(tnet.ParseError):
        tnet.parse(text, x=x)
    with pytest.raises(tnet.ParseError, match="does not fit a float"):
        tnet.notation.parse_matrix(text, x=x)


# -- 14: named errors, and numpy's negative axes ------------------------------------------------
def test_14_named_errors_for_bad_arguments_and_empty_axes():
    A = tnet.Variable("A", 2, 3)
    with pytest.raises(AxisError, match="must be ints, got 1.0"):
        tnet.permute(A, [1.0, 0.0])
    with pytest.raises(AxisError, match="must be ints, got 1.0"):
        tnet.sum(A, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="real exponent"):
        A**2j  # noqa: B018
    with pytest.raises(TypeError, match="dtype <U1"):
        tnet.Constant("c", np.array(["a", "b"]))
    with pytest.raises(ShapeError, match="rectangular"):
        tnet.Constant("c", [[1, 2], [3]])
    Av = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(tnet.evaluate(A.transpose(-1, -2), {"A": Av}), Av.transpose(-1, -2))
    np.testing.assert_array_equal(tnet.evaluate(tnet.permute(A, [-1, 0]), {"A": Av}), Av.T)
    z = tnet.Variable("z", 2, 0)
    assert tnet.evaluate(tnet.softmax(z), {"z": np.zeros((2, 0))}).shape == (2, 0)
    np.testing.assert_array_equal(tnet.evaluate(tnet.logsumexp(z), {"z": np.zeros((2, 0))}), [-np.inf, -np.inf])


# -- 11: printers with NaN and infinite coefficients --------------------------------------------
@pytest.mark.parametrize("c", [float("nan"), float("inf"), -float("inf")])
def test_11_printers_take_nan_and_inf(c):
    x = tnet.Variable("x", 3)
    e = c * x + x
    for text in (e.to_bracket(), e.to_latex(), e.to_matrix(), repr(e)):
        assert isinstance(text, str) and text


# -- 5: simplification keeps every finite value; pickling round-trips ---------------------------
_u = tnet.Variable("u", 3)
_W = tnet.Variable("W", 3, 3)
_POWERS = [0.5, -0.5, -1.0, 2.0, 3.0, -2.0, 1.5]


@st.composite
def _domain_expressions(draw, depth=3):
    """Random expressions built to meet the domain edges of the rewrites: unguarded powers of
    one tensor (merged by simplify), products and sums that cancel, zeros."""
    if depth == 0 or draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from([_u, _W @ _u, _u * _u, tnet.Zero(3), tnet.exp(_u)]))

    def sub():
        return draw(_domain_expressions(depth - 1))

    ops = [
        lambda: sub() ** draw(st.sampled_from(_POWERS)),
        lambda: sub() * sub(),
        lambda: sub() ** draw(st.sampled_from(_POWERS)) * sub() ** draw(st.sampled_from(_POWERS)),
        lambda: sub() + draw(st.sampled_from([-1.0, 0.5, 2.0])) * sub(),
        lambda: sub() - sub(),
        lambda: _W @ sub(),
        lambda: tnet.tanh(sub()),
        lambda: tnet.diag(sub()) @ sub(),
    ]
    return draw(st.sampled_from(ops))()


@given(_domain_expressions(), st.integers(0, 2**32 - 1))
def test_5_simplify_keeps_every_finite_value_and_pickle_round_trips(e, seed):
    rng = np.random.default_rng(seed)
    u = rng.choice([-1.0, 0.0, 0.5, 2.0, -0.25], size=3)  # zeros and negatives: the domain edges
    W = rng.choice([-1.0, 0.0, 1.0, 0.5], size=(3, 3))
    b = {"u": u, "W": W}
    with np.errstate(all="ignore"):
        want = tnet.evaluate(e, b, allow_unknown=True)
        got = tnet.evaluate(tnet.simplify(e), b, allow_unknown=True)
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-9, atol=1e-12)
    assert pickle.loads(pickle.dumps(e)) is e


def test_5_documented_domain_rewrites():
    """The two rewrites of docs/design.md's list that change a non-finite value (see there)."""
    x = tnet.Variable("x", 3)
    with np.errstate(all="ignore"):
        assert np.isnan(tnet.evaluate(x**0.5 * x**0.5, {"x": -np.ones(3)})).all()
        np.testing.assert_array_equal(tnet.evaluate(tnet.simplify(x**0.5 * x**0.5), {"x": -np.ones(3)}), -1)
        assert np.isnan(tnet.evaluate(x * x**-1, {"x": np.zeros(3)})).all()
        np.testing.assert_array_equal(tnet.evaluate(tnet.simplify(x * x**-1), {"x": np.zeros(3)}), 1)


# -- 16: s = s + t in a loop is linear, and builds what the general path builds ------------------
def test_16_sum_built_term_by_term_is_the_general_linear_combination():
    from tnet.network import linear_combination

    vs = [tnet.Variable(f"s{k}", 2) for k in range(40)]
    s = vs[0]
    for v in vs[1:]:
        s = s + v
    assert s is linear_combination([(1.0, v) for v in vs])
    assert sum(vs[1:], vs[0]) is s
    # branches from one sum share its index; each still finds its own terms
    left, right = s + vs[0], s + 2 * vs[5]
    assert left is linear_combination([(2.0 if v is vs[0] else 1.0, v) for v in vs])
    a, b = tnet.Variable("branch_a", 2), tnet.Variable("branch_b", 2)
    sa, sb = s + a, s + b
    assert (sa + b).terms_[-2:] == ((1.0, a), (1.0, b)) and (sb + a).terms_[-2:] == ((1.0, b), (1.0, a))
    np.testing.assert_allclose(
        tnet.evaluate(sa + b - a, allow_unknown=True, bindings={v: np.ones(2) for v in [*vs, a, b]}), 41 * np.ones(2)
    )
    assert sb + a - a is linear_combination([*[(1.0, v) for v in vs], (1.0, b)])
    # a cancellation drops the term, as the general path does
    dropped = s - vs[3]
    assert dropped is linear_combination([(1.0, v) for v in vs if v is not vs[3]])
    assert right is linear_combination([*[(1.0, v) for v in vs], (1.0, 2 * vs[5])])
    assert s + vs[5] is linear_combination([(2.0 if v is vs[5] else 1.0, v) for v in vs])
    with pytest.raises(ShapeError):
        s + tnet.Variable("wrong", 3)


# -- 17: simplify groups isomorphic terms by a canonical form, not pairwise VF2 -------------------
def test_17_canonical_form_agrees_with_the_exact_isomorphism_test():
    from tnet.simplify import _exactly_isomorphic, canonical_form

    A, B = tnet.Variable("A", 3, 3), tnet.Variable("B", 3, 3)
    P = A
    for _ in range(5):
        P = P @ A
    nets = [t for _, t in tnet.grad(tnet.trace(P @ B), A, simplify=False).terms]
    nets += [t for _, t in tnet.grad(tnet.trace(A @ B @ A @ B.T), A, simplify=False).terms]
    nets += [(A @ B).T @ A, A.T @ B.T @ A, A @ A.T, A.T @ A, tnet.kron(tnet.diag(A), tnet.diag(A))]
    nets = [n for n in nets if isinstance(n, tnet.Network)]
    assert sum(canonical_form(n) is not None for n in nets) > len(nets) // 2
    for a in nets:
        for b in nets:
            fa, fb = canonical_form(a), canonical_form(b)
            if fa is not None and fb is not None and a.shape == b.shape:
                assert (fa == fb) == _exactly_isomorphic(a, b)


def test_17_simplify_merges_a_long_chain_of_one_variable():
    A = tnet.Variable("A", 3, 3)
    P = A
    for _ in range(59):
        P = P @ A
    g = tnet.grad(tnet.trace(P), A)  # 60 isomorphic terms: 60 (A^59)^T
    assert isinstance(g, tnet.Network) and g.coef == 60
    a = np.random.default_rng(0).normal(size=(3, 3)) / 3
    np.testing.assert_allclose(tnet.evaluate(g, {"A": a}), 60 * np.linalg.matrix_power(a, 59).T)


# -- 18: long runs of bound names and many occurrences of one tensor parse --------------------------
def test_18_long_runs_of_bound_names_parse_as_the_spaced_names():
    letters = "abcdefghij"
    names = {c: tnet.Variable(c, 2) for c in letters}
    names["ab"] = tnet.Variable("ab", 2)
    word = "".join(letters[k % 10] for k in range(300))
    spaced = " ".join(["ab", *"cdefghij"] * 30)  # the longest bound name first, as for short runs
    assert tnet.parse("(" + word + ")", **names) is tnet.parse("(" + spaced + ")", **names)
    assert tnet.parse("(abcd)", **names) is tnet.parse("(ab c d)", **names)
    with pytest.raises(tnet.ParseError, match="unknown tensor name 'z'"):
        tnet.parse("(" + word + "z)", **names)
    x = tnet.Variable("x", 2)
    many = tnet.parse("(" + " ".join(["x"] * 3000) + ")", x=x)
    assert isinstance(many, tnet.Network) and len(many.nodes) == 3000


def test_6_zero_gradients_and_differentials_take_the_bindings_of_their_variables():
    x, a = tnet.Variable("x", "n"), tnet.Variable("a", "n")
    X = tnet.Variable("X", "n", "m")
    g = tnet.grad(tnet.sum(a), x)
    assert isinstance(g, tnet.Zero)
    np.testing.assert_array_equal(tnet.evaluate(g, {"x": np.ones(3), "a": np.ones(3)}), np.zeros(3))
    np.testing.assert_array_equal(tnet.evaluate(g, {"x": np.ones(4)}), np.zeros(4))
    np.testing.assert_array_equal(tnet.evaluate(tnet.jacobian(tnet.sum(a), X), {X: np.ones((2, 3))}), np.zeros((2, 3)))
    d = tnet.differential(tnet.sum(a), X)
    assert tnet.evaluate(d, {"X": np.ones((2, 3)), "dX": np.ones((2, 3)), "a": np.ones(2)}) == 0


def test_17_scalar_chains_are_read_from_each_start_and_merged():
    from tnet.simplify import _exactly_isomorphic, canonical_form, merge_isomorphic_terms

    A, B = tnet.Variable("A", 3, 3), tnet.Variable("B", 3, 3)
    chain = [A, B, A, A, B, A, A]
    rotations = []
    for k in range(len(chain)):
        rot = chain[k:] + chain[:k]
        P = rot[0]
        for M in rot[1:]:
            P = P @ M
        rotations.append(tnet.trace(P))
    others = [tnet.trace(A @ A @ B @ B @ A @ A @ A), tnet.trace(A @ B.T @ A @ A @ B @ A @ A), tnet.sum(A @ B)]
    nets = rotations + others
    assert all(canonical_form(n) is not None for n in rotations)
    for a in nets:
        for b in nets:
            fa, fb = canonical_form(a), canonical_form(b)
            if fa is not None and fb is not None:
                assert (fa == fb) == _exactly_isomorphic(a, b)
    merged = merge_isomorphic_terms([(1.0, n) for n in nets])
    assert len(merged) == 1 + len(others) and merged[0][0] == len(rotations)
