"""Property tests: random expressions built from the public API, differentiated by tnet.

The strategy builds typed expressions (scalar, vector (3,), matrix (3, 3)) over the variables
x: (3,), X: (3, 3), Y: (3, 3) and a few constants, from products (@, kron, einsum, * with
broadcasting, odot), sums, differences and scalar multiples, transposes and permutations,
element-wise functions (kept away from their singularities and kinks) and matrix functions
(inv and det of well-conditioned matrices, logdet of SPD ones, trace, softmax, logsumexp).

Checked properties:
- gradients (of scalars and of small tensors) match central finite differences;
- simplify never changes a value;
- Hessians of scalars are symmetric and match finite differences of the gradient;
- jacobian is grad with its axes permuted;
- the differential contracted with a random dX equals the gradient contracted with dX, and
  gradient_of_differential(differential(f, X), X) equals grad(f, X);
- the gradients for a list of variables equal the gradients taken one at a time.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tnet
from tnet.expr import walk


def evaluate(e, bindings):
    """tnet.evaluate with one environment of arrays for every variable the properties draw from:
    the random expressions use only some of them, so names they do not use are ignored."""
    return tnet.evaluate(e, bindings, allow_unknown=True)


N = 3
x = tnet.Variable("x", N)
X = tnet.Variable("X", N, N)
Y = tnet.Variable("Y", N, N)
VARIABLES = (x, X, Y)
# dx, dX, dY exist from the start, so that binding them is accepted even where a differential
# comes out Zero (test_differential_of_an_independent_expression_accepts_its_dX checks that
# case on its own).
DIFFERENTIALS = tuple(tnet.Differential(v) for v in VARIABLES)
C = tnet.Constant("C", np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6], [-0.2, 0.7, 0.3]]))
c = tnet.Constant("c", np.array([0.3, -0.5, 0.8]))
I3 = tnet.identity(N)

EPS = 1e-6
FD_RTOL = 1e-5


# ---------------------------------------------------------------------------------------------
# the expression strategy
# ---------------------------------------------------------------------------------------------
def bounded(e):
    return tnet.tanh(e)


def positive(e):
    """1 + e ⊙ e: element-wise >= 1, safe for log, sqrt, 1/·."""
    return 1 + e * e


def well_conditioned(m):
    """3 I + tanh(M): diagonally dominant, so inv and det are safe."""
    return tnet.tanh(m) + 3.0 * I3


def spd(m):
    t = tnet.tanh(m)
    return t @ t.T + I3


COEFFICIENTS = st.sampled_from([-1.5, -1.0, 0.5, 2.0])
ELEMENTWISE = [
    ("tanh", tnet.tanh),
    ("sigmoid", tnet.sigmoid),
    ("sin", tnet.sin),
    ("cos", tnet.cos),
    ("exp", lambda e: tnet.exp(bounded(e))),
    ("log", lambda e: tnet.log(positive(e))),
    ("sqrt", lambda e: tnet.sqrt(positive(e))),
    ("relu", lambda e: tnet.relu(positive(e))),
    ("abs", lambda e: tnet.abs(2.0 + bounded(e))),
    ("reciprocal", lambda e: 1 / positive(e)),
    ("divide", None),  # e / positive(other): filled in below
    ("square", lambda e: e**2),
]


def _leaf(kind):
    if kind == "m":
        return st.sampled_from([X, X, Y, X.T, C, I3])
    if kind == "v":
        return st.sampled_from([x, x, X @ c, c, tnet.ones(N)])
    return st.sampled_from([x @ x, tnet.trace(X), x @ X @ x, tnet.sum(Y), c @ x])


@st.composite
def expressions(draw, kind="s", depth=4):
    """A random expression of the given kind: "s" scalar, "v" vector (3,), "m" matrix (3, 3)."""
    # stop early one time in eight (not at 0: hypothesis draws its minimal values often, and
    # every expression would be a leaf)
    if depth <= 0 or draw(st.integers(0, 7)) == 7:
        return draw(_leaf(kind))

    def sub(k):
        return draw(expressions(k, depth - 1))

    def elementwise(k):
        name, fn = draw(st.sampled_from(ELEMENTWISE))
        if name == "divide":
            return sub(k) / positive(sub(k))
        return fn(sub(k))

    def coef():
        return draw(COEFFICIENTS)

    if kind == "m":
        ops = [
            lambda: sub("m") @ sub("m"),
            lambda: sub("m") + sub("m"),
            lambda: sub("m") - sub("m"),
            lambda: coef() * sub("m"),
            lambda: sub("m") * sub("m"),
            lambda: sub("m").T,
            lambda: tnet.permute(sub("m"), (1, 0)),
            lambda: tnet.kron(sub("v"), sub("v")),
            lambda: tnet.einsum("ij,kj->ik", sub("m"), sub("m")),
            lambda: tnet.einsum("i,ij,j->ij", sub("v"), sub("m"), sub("v")),
            lambda: sub("m") * sub("v"),  # broadcasting over rows
            lambda: sub("v") + sub("m"),
            lambda: sub("s") * sub("m"),  # a scalar broadcast
            lambda: tnet.odot(sub("m"), sub("m"), [0, 1], [1, 0]),  # M ⊙ N^T
            lambda: elementwise("m"),
            lambda: tnet.inv(well_conditioned(sub("m"))),
            lambda: tnet.softmax(sub("m"), axis=draw(st.sampled_from([0, 1, -1]))),
            lambda: tnet.apply("softmax", sub("m"), axes=[1]),  # s^2(M): columns, P first
            lambda: tnet.apply(draw(st.sampled_from(["tanh", "sin"])), sub("m"), axes=[1, 0]),
            lambda: tnet.diag(sub("v")),  # a Delta joining two output axes
            lambda: tnet.cdot_k(tnet.kron(sub("m"), sub("v")), sub("v"), 1),
            lambda: tnet.sum(tnet.odot_k(sub("m"), sub("m"), 1), 1),  # a 3-tensor summed back
            lambda: sub("m") / positive(sub("v")),
            lambda: positive(sub("m")) ** draw(st.sampled_from([0.5, -1, 3])),
        ]
    elif kind == "v":
        ops = [
            lambda: sub("m") @ sub("v"),
            lambda: sub("v") @ sub("m"),
            lambda: sub("v") + sub("v"),
            lambda: sub("v") - sub("v"),
            lambda: coef() * sub("v"),
            lambda: sub("v") * sub("v"),
            lambda: elementwise("v"),
            lambda: tnet.softmax(sub("v")),
            lambda: tnet.sum(sub("m"), draw(st.sampled_from([0, 1]))),
            lambda: tnet.diag(sub("m")),
            lambda: tnet.logsumexp(sub("m"), draw(st.sampled_from([0, 1]))),
            lambda: tnet.cdot(sub("m"), sub("m"), [0, 1], [1, 0]) * sub("v"),
            lambda: tnet.trace(tnet.kron(sub("m"), sub("v")), 0, 2),
            lambda: tnet.apply("logsumexp", sub("m"), axes=[1]),
            lambda: tnet.einsum("ij,ij->i", sub("m"), sub("m")),
            lambda: tnet.einsum("ii->i", sub("m")),
        ]
    else:
        ops = [
            lambda: sub("v") @ sub("v"),
            lambda: tnet.trace(sub("m")),
            lambda: tnet.sum(sub("m")),
            lambda: tnet.cdot_k(sub("m"), sub("m"), 2),
            lambda: sub("s") * sub("s"),
            lambda: sub("s") + sub("s"),
            lambda: coef() * sub("s"),
            lambda: elementwise("s"),
            lambda: tnet.det(well_conditioned(sub("m"))),
            lambda: tnet.logdet(spd(sub("m"))),
            lambda: tnet.logsumexp(sub("v")),
            lambda: sub("v") @ sub("m") @ sub("v"),
            lambda: tnet.einsum("i,i,i->", sub("v"), sub("v"), sub("v")),  # a hyperedge
            lambda: tnet.sum(tnet.diag(sub("v")) @ sub("m")),
        ]
    return draw(st.sampled_from(ops))()


def bindings_from(seed):
    rng = np.random.default_rng(seed)
    return {
        "x": rng.uniform(-1, 1, size=N),
        "X": rng.uniform(-1, 1, size=(N, N)),
        "Y": rng.uniform(-1, 1, size=(N, N)),
    }


SEEDS = st.integers(0, 2**32 - 1)
TARGETS = st.sampled_from([x, X])
ANY_KIND = st.sampled_from(["s", "v", "m"])


def _uses(e, var):
    return any(sub is var for sub in walk([e]))


@st.composite
def with_target(draw, kinds=("s",), depth=5):
    """(f, var): a random expression of one of the kinds and a variable it depends on (x or X).
    An expression that uses neither is multiplied by a scalar that uses the drawn one."""
    f = draw(expressions(draw(st.sampled_from(kinds)), depth))
    present = [v for v in (x, X) if _uses(f, v)]
    if present:
        return f, draw(st.sampled_from(present))
    var = draw(TARGETS)
    return f * (x @ c if var is x else tnet.trace(X @ C)), var


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def assert_close(actual, expected, rtol=1e-9, what=""):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def central_differences(e, var, bindings, eps=EPS):
    """∂e/∂var by central differences: var's axes first, then e's (the generalized gradient)."""
    base = np.asarray(bindings[var.name], dtype=float)
    out = np.zeros(base.shape + tuple(np.shape(evaluate(e, bindings))))
    for idx in np.ndindex(*base.shape):
        plus, minus = base.copy(), base.copy()
        plus[idx] += eps
        minus[idx] -= eps
        fp = evaluate(e, {**bindings, var.name: plus})
        fm = evaluate(e, {**bindings, var.name: minus})
        out[idx] = (np.asarray(fp) - np.asarray(fm)) / (2 * eps)
    return out


def describe(e):
    """The expression in einsum-like or bracket notation where possible, for failure messages."""
    try:
        return f"{e!r} = {e.to_bracket()}"
    except Exception:  # the notation module may not cover every expression
        return repr(e)


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------
@given(with_target(("s",)), SEEDS)
def test_scalar_gradient_matches_central_differences(f_var, seed):
    f, var = f_var
    b = bindings_from(seed)
    g = tnet.grad(f, var)
    assert g.shape == var.shape
    assert_close(evaluate(g, b), central_differences(f, var, b), rtol=FD_RTOL, what=describe(f))


@given(with_target(("v", "m"), depth=4), SEEDS)
def test_tensor_gradient_matches_central_differences(f_var, seed):
    f, var = f_var
    b = bindings_from(seed)
    g = tnet.grad(f, var)
    assert g.shape == var.shape + f.shape
    assert_close(evaluate(g, b), central_differences(f, var, b), rtol=FD_RTOL, what=describe(f))


@given(ANY_KIND.flatmap(expressions), SEEDS)
def test_simplify_preserves_the_value(e, seed):
    b = bindings_from(seed)
    assert_close(evaluate(tnet.simplify(e), b), evaluate(e, b), what=describe(e))


@given(with_target(("s", "v", "m"), depth=4), SEEDS)
def test_simplify_preserves_the_value_of_raw_gradients(f_var, seed):
    f, var = f_var
    b = bindings_from(seed)
    raw = tnet.grad(f, var, simplify=False)
    want = evaluate(raw, b)
    assert_close(evaluate(tnet.simplify(raw), b), want, what=describe(f))
    assert_close(evaluate(tnet.grad(f, var), b), want, what=describe(f))
    # simplifying twice changes nothing either
    once = tnet.simplify(raw)
    assert_close(evaluate(tnet.simplify(once), b), want, what=describe(f))


@given(with_target(("s",), depth=3), SEEDS)
def test_hessian_is_symmetric_and_matches_differences_of_the_gradient(f_var, seed):
    f, var = f_var
    b = bindings_from(seed)
    H = tnet.hessian(f, var)
    assert H.shape == var.shape + var.shape
    h = evaluate(H, b)
    k = var.ndim
    swapped = np.transpose(h, list(range(k, 2 * k)) + list(range(k)))
    assert_close(h, swapped, what=describe(f))
    # jacobian(grad): the gradient's axes first, then the variable's; fd gives them the other way
    fd = central_differences(tnet.grad(f, var), var, b)
    fd = np.transpose(fd, list(range(k, 2 * k)) + list(range(k)))
    assert_close(h, fd, rtol=FD_RTOL, what=describe(f))


@given(with_target(("s", "v", "m"), depth=4), SEEDS)
def test_jacobian_is_a_permutation_of_grad(f_var, seed):
    f, var = f_var
    b = bindings_from(seed)
    g = evaluate(tnet.grad(f, var), b)
    J = tnet.jacobian(f, var)
    assert J.shape == f.shape + var.shape
    nv, nf = var.ndim, f.ndim
    assert_close(evaluate(J, b), np.transpose(g, list(range(nv, nv + nf)) + list(range(nv))), what=describe(f))
    # and the same permutation done with tnet
    assert_close(
        evaluate(tnet.permute(tnet.grad(f, var), list(range(nv, nv + nf)) + list(range(nv))), b),
        evaluate(J, b),
        what=describe(f),
    )


@given(with_target(("s", "v", "m"), depth=4), SEEDS)
def test_differential_is_gradient_contracted_with_dX(f_var, seed):
    f, var = f_var
    b = bindings_from(seed)
    rng = np.random.default_rng(seed + 1)
    dv = rng.normal(size=var.shape)
    df = tnet.differential(f, var)
    assert df.shape == f.shape
    got = evaluate(df, {**b, "d" + var.name: dv})
    g = evaluate(tnet.grad(f, var), b)
    want = np.tensordot(dv, g, axes=(list(range(var.ndim)), list(range(var.ndim))))
    assert_close(got, want, what=describe(f))
    # the Differential node binds as well as its name
    got2 = evaluate(df, {**b, tnet.Differential(var): dv})
    assert_close(got2, want, what=describe(f))


@given(with_target(("s", "v", "m"), depth=4), SEEDS)
def test_gradient_of_differential_equals_grad(f_var, seed):
    f, var = f_var
    b = bindings_from(seed)
    g1 = tnet.gradient_of_differential(tnet.differential(f, var), var)
    g2 = tnet.grad(f, var)
    assert g1.shape == g2.shape == var.shape + f.shape
    assert_close(evaluate(g1, b), evaluate(g2, b), what=describe(f))


@given(ANY_KIND.flatmap(lambda k: expressions(k, depth=4)), SEEDS)
def test_gradients_of_a_list_equal_the_single_gradients(f, seed):
    b = bindings_from(seed)
    together = evaluate(tnet.grad(f, list(VARIABLES)), b)
    for var, value in zip(VARIABLES, together):
        assert_close(value, evaluate(tnet.grad(f, var), b), what=f"{describe(f)} wrt {var.name}")


def test_differential_of_an_independent_expression_accepts_its_dX():
    """d f = 0 where f does not depend on the variable; binding dX as for any other
    differential is still accepted (the Zero evaluates to zeros)."""
    z = tnet.Variable("z_indep", N)
    f = c @ x
    df = tnet.differential(f, z)
    assert_close(evaluate(df, {"x": np.ones(N), "z_indep": np.ones(N), "dz_indep": np.ones(N)}), 0.0)


LINEAR_MAPS = [
    ("trace", lambda m: tnet.trace(m)),
    ("sum", lambda m: tnet.sum(m)),
    ("C @ M", lambda m: C @ m),
    ("M * c", lambda m: m * c),
    ("M.T @ c", lambda m: m.T @ c),  # a constant: L itself must not depend on the variable
]


@given(with_target(("m",), depth=4), st.sampled_from(LINEAR_MAPS), SEEDS)
def test_gradient_read_off_a_linear_map_of_the_differential(f_var, linear_map, seed):
    """d L(f) = L(d f) for a linear L (sec. 4.1: substitution): the gradient read off L(d f)
    is the gradient of L(f)."""
    f, var = f_var
    name, L = linear_map
    b = bindings_from(seed)
    g = tnet.gradient_of_differential(L(tnet.differential(f, var)), var)
    assert_close(evaluate(g, b), evaluate(tnet.grad(L(f), var), b), what=f"{name}: {describe(f)}")


T = tnet.Variable("T", N, N, N)
BATCHED = {
    "inv": lambda t: tnet.inv(t),
    "det": lambda t: tnet.det(t),
    "logdet": lambda t: tnet.logdet(t),
    "softmax axis 1": lambda t: tnet.softmax(t, axis=1),
    "logsumexp axis 0": lambda t: tnet.logsumexp(t, axis=0),
    "inv^P, P=(2,)": lambda t: tnet.apply("inv", t, axes=[2]),
    "det^P, P=(1,)": lambda t: tnet.apply("det", t, axes=[1]),
    "softmax^P, P=(2, 0)": lambda t: tnet.apply("softmax", t, axes=[2, 0]),
    "tanh^P, P=(1, 2, 0)": lambda t: tnet.apply("tanh", t, axes=[1, 2, 0]),
}


@pytest.mark.parametrize("name", sorted(BATCHED))
def test_functions_applied_to_sub_tensors(name):
    """f^P(T) (eq. 27) on a 3-tensor: the gradient matches central differences, and the Hessian
    of the squared norm is symmetric and matches differences of the gradient."""
    rng = np.random.default_rng(7)
    eye = np.eye(N)
    tv = 0.3 * rng.normal(size=(N, N, N)) + 3 * (eye[None] + eye[:, None] + eye[:, :, None])
    b = {"T": tv}
    f = BATCHED[name](T)
    assert_close(evaluate(tnet.grad(f, T), b), central_differences(f, T, b), rtol=FD_RTOL, what=name)
    s = tnet.cdot_k(f, f, f.ndim) if f.ndim else f * f
    h = evaluate(tnet.hessian(s, T), b)
    assert_close(h, np.transpose(h, (3, 4, 5, 0, 1, 2)), what=name)
    fd = central_differences(tnet.grad(s, T), T, b)
    assert_close(h, np.transpose(fd, (3, 4, 5, 0, 1, 2)), rtol=FD_RTOL, what=name)
