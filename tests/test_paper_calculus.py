"""Every worked result of the paper (sections 4.3.5, 4.4, 5 and 6), derived by tnet.

Each result is derived with `tnet.grad` (or `differential`, `jacobian`, `hessian`), simplified,
evaluated on random float64 arrays and compared with the paper's final formula written in numpy.
Where the issue asks for it, the structure of the simplified result is checked too (number of
terms, coefficients, which tensors are left), so that the output reads like the paper's.

The unsimplified derivation is evaluated as well: simplification must never change a value.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import tnet

RTOL = 1e-8


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def close(actual, expected, rtol=RTOL):
    """assert_allclose with an absolute floor scaled to the expected values."""
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def derive(f, x, bindings, kind="grad"):
    """The derivative of f (simplified, as tnet returns it) and its value.

    Also checks that the unsimplified derivation evaluates to the same numbers, and that
    simplifying the simplified result again changes nothing numerically."""
    op = {"grad": tnet.grad, "jacobian": tnet.jacobian, "hessian": tnet.hessian}[kind]
    simplified = op(f, x)
    raw = op(f, x, simplify=False)
    value = tnet.evaluate(simplified, bindings)
    close(tnet.evaluate(raw, bindings), value)
    close(tnet.evaluate(tnet.simplify(raw), bindings), value)
    return simplified, value


def node_labels(net):
    return Counter(n.label for n in net.nodes)


def numeric_jacobian_wrt(fun, x0, eps=1e-6):
    """Central differences of the numpy function `fun` at x0: x's axes first, then fun's."""
    x0 = np.asarray(x0, dtype=float)
    f0 = np.asarray(fun(x0))
    out = np.zeros(x0.shape + f0.shape)
    for idx in np.ndindex(*x0.shape):
        xp, xm = x0.copy(), x0.copy()
        xp[idx] += eps
        xm[idx] -= eps
        out[idx] = (np.asarray(fun(xp)) - np.asarray(fun(xm))) / (2 * eps)
    return out


def np_softmax_rows(A):
    e = np.exp(A - A.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_softmax_grad(s):
    """The paper's sec. 4.3.5: ∇s = diag(s) - s s^T."""
    return np.diag(s) - np.outer(s, s)


def one_hot_rows(rng, n, k):
    Y = np.zeros((n, k))
    Y[np.arange(n), rng.integers(0, k, size=n)] = 1.0
    return Y


def well_conditioned(rng, n):
    return rng.normal(size=(n, n)) + n * np.eye(n)


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)


# ---------------------------------------------------------------------------------------------
# sec. 4.3.5: softmax
# ---------------------------------------------------------------------------------------------
def test_softmax_vector_gradient_is_diag_s_minus_s_sT(rng):
    n = 5
    a = tnet.Variable("a", n)
    av = rng.normal(size=n)
    g, value = derive(tnet.softmax(a), a, {"a": av})
    s = np_softmax_rows(av)
    close(value, np_softmax_grad(s))
    # the paper's two terms: s 1^T ⊙ I - s s^T
    assert len(g.terms) == 2
    assert sorted(c for c, _ in g.terms) == [-1.0, 1.0]


def test_softmax_on_rows_generalized_gradient_layout(rng):
    """Z = s^1(A): the generalized gradient has A's axes first, then Z's (eq. 28), and is
    ∇s(a_i) on the diagonal blocks of the row index (eq. 31)."""
    N, m = 4, 3
    A = tnet.Variable("A", N, m)
    Av = rng.normal(size=(N, m))
    _, value = derive(tnet.softmax(A), A, {"A": Av})
    S = np_softmax_rows(Av)
    expected = np.zeros((N, m, N, m))
    for i in range(N):
        expected[i, :, i, :] = np_softmax_grad(S[i])
    close(value, expected)
    close(value, numeric_jacobian_wrt(np_softmax_rows, Av), rtol=1e-6)


def test_softmax_on_rows_differential_eq32(rng):
    """dZ = ∇s^1(A)^{1 2} ⊙^{1 bar2} dA: row i of dZ is ∇s(a_i)^T da_i."""
    N, m = 4, 3
    A = tnet.Variable("A", N, m)
    Av, dAv = rng.normal(size=(N, m)), rng.normal(size=(N, m))
    dZ = tnet.differential(tnet.softmax(A), A)
    value = tnet.evaluate(dZ, {"A": Av, "dA": dAv})
    S = np_softmax_rows(Av)
    expected = np.stack([np_softmax_grad(S[i]).T @ dAv[i] for i in range(N)])
    close(value, expected)
    close(tnet.evaluate(tnet.simplify(dZ), {"A": Av, "dA": dAv}), expected)


def test_softmax_along_first_axis(rng):
    """softmax over the columns (axis 0) keeps the axis where it was."""
    m, N = 3, 4
    A = tnet.Variable("A", m, N)
    Av = rng.normal(size=(m, N))
    _, value = derive(tnet.softmax(A, axis=0), A, {"A": Av})
    close(value, numeric_jacobian_wrt(lambda M: np_softmax_rows(M.T).T, Av), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# sec. 4.4: trace, inverse, determinant
# ---------------------------------------------------------------------------------------------
def test_grad_trace_is_one_identity(rng):
    n = 4
    X = tnet.Variable("X", n, n)
    g, value = derive(tnet.trace(X), X, {"X": rng.normal(size=(n, n))})
    assert g is tnet.Delta(n, 2)
    close(value, np.eye(n))


def test_differential_trace_is_trace_of_dX(rng):
    n = 4
    X = tnet.Variable("X", n, n)
    dXv = rng.normal(size=(n, n))
    d = tnet.differential(tnet.trace(X), X)
    close(tnet.evaluate(d, {"X": rng.normal(size=(n, n)), "dX": dXv}), np.trace(dXv))


def test_differential_of_inverse(rng):
    """d(X^-1) = -X^-1 dX X^-1."""
    n = 4
    X = tnet.Variable("X", n, n)
    Xv, dXv = well_conditioned(rng, n), rng.normal(size=(n, n))
    Xi = np.linalg.inv(Xv)
    d = tnet.differential(tnet.inv(X), X)
    close(tnet.evaluate(d, {"X": Xv, "dX": dXv}), -Xi @ dXv @ Xi)
    ((coef, net),) = d.terms
    assert coef == -1.0
    assert node_labels(net) == Counter({"inv": 2, "dX": 1})


def test_gradient_of_inverse_is_minus_inv_kron_inv(rng):
    """∇X^-1 as a 4-tensor: ∂(X^-1)_ij / ∂X_pq = -(X^-1)_ip (X^-1)_qj."""
    n = 3
    X = tnet.Variable("X", n, n)
    Xv = well_conditioned(rng, n)
    Xi = np.linalg.inv(Xv)
    g, value = derive(tnet.inv(X), X, {"X": Xv})
    close(value, -np.einsum("ip,qj->pqij", Xi, Xi))
    close(value, numeric_jacobian_wrt(np.linalg.inv, Xv), rtol=1e-6)
    ((coef, net),) = g.terms
    assert coef == -1.0 and node_labels(net) == Counter({"inv": 2})


def test_gradient_of_determinant(rng):
    """d|X| = |X| X^-T · dX."""
    n = 4
    X = tnet.Variable("X", n, n)
    Xv = well_conditioned(rng, n)
    g, value = derive(tnet.det(X), X, {"X": Xv})
    close(value, np.linalg.det(Xv) * np.linalg.inv(Xv).T)
    close(value, numeric_jacobian_wrt(np.linalg.det, Xv), rtol=1e-6)
    assert len(g.terms) == 1


def test_differential_of_determinant_literature_form(rng):
    """d|X| = |X| tr(X^-1 dX), the form found in the literature."""
    n = 4
    X = tnet.Variable("X", n, n)
    Xv, dXv = well_conditioned(rng, n), rng.normal(size=(n, n))
    d = tnet.differential(tnet.det(X), X)
    close(tnet.evaluate(d, {"X": Xv, "dX": dXv}), np.linalg.det(Xv) * np.trace(np.linalg.inv(Xv) @ dXv))


def test_gradient_of_logdet(rng):
    """∇ log|X| = X^-T."""
    n = 4
    X = tnet.Variable("X", n, n)
    Xv = well_conditioned(rng, n)
    g, value = derive(tnet.logdet(X), X, {"X": Xv})
    close(value, np.linalg.inv(Xv).T)
    assert len(g.terms) == 1 and node_labels(g.terms[0][1]) == Counter({"inv": 1})


# ---------------------------------------------------------------------------------------------
# sec. 5: basic examples
# ---------------------------------------------------------------------------------------------
def test_grad_aT_x_is_a(rng):
    n = 5
    a, x = tnet.Variable("a", n), tnet.Variable("x", n)
    b = {"a": rng.normal(size=n), "x": rng.normal(size=n)}
    g, value = derive(a @ x, x, b)
    assert g is a
    close(value, b["a"])


def test_grad_xT_A_x(rng):
    """∇(x^T A x) = (A + A^T) x."""
    n = 5
    A, x = tnet.Variable("A", n, n), tnet.Variable("x", n)
    b = {"A": rng.normal(size=(n, n)), "x": rng.normal(size=n)}
    g, value = derive(x @ A @ x, x, b)
    close(value, (b["A"] + b["A"].T) @ b["x"])
    assert len(g.terms) == 2
    assert all(node_labels(net) == Counter({"A": 1, "x": 1}) for _, net in g.terms)


def test_grad_aT_X_b_has_just_a_and_b(rng):
    """∇(a^T X b) = a b^T: the network's nodes are exactly a and b."""
    n, m = 4, 3
    a, X, bb = tnet.Variable("a", n), tnet.Variable("X", n, m), tnet.Variable("b", m)
    b = {"a": rng.normal(size=n), "X": rng.normal(size=(n, m)), "b": rng.normal(size=m)}
    g, value = derive(a @ X @ bb, X, b)
    close(value, np.outer(b["a"], b["b"]))
    assert len(g.terms) == 1
    coef, net = g.terms[0]
    assert coef == 1.0
    assert isinstance(g, tnet.Network)
    assert g.nodes == (a, bb)


def test_grad_aT_X_XT_a_is_one_term_with_coefficient_2(rng):
    """∇(a^T X X^T a) = 2 a a^T X: one term, coefficient 2, nodes a, X, a."""
    n, m = 4, 3
    a, X = tnet.Variable("a", n), tnet.Variable("X", n, m)
    b = {"a": rng.normal(size=n), "X": rng.normal(size=(n, m))}
    g, value = derive(a @ X @ X.T @ a, X, b)
    close(value, 2 * np.outer(b["a"], b["a"]) @ b["X"])
    assert len(g.terms) == 1
    coef, net = g.terms[0]
    assert coef == 2.0
    assert node_labels(net) == Counter({"a": 2, "X": 1})


def test_grad_trace_A_Xinv_B(rng):
    """∇ tr(A X^-1 B) = -X^-T A^T B^T X^-T (eq. 34), one term."""
    n, m = 4, 3
    A, X, B = tnet.Variable("A", m, n), tnet.Variable("X", n, n), tnet.Variable("B", n, m)
    b = {"A": rng.normal(size=(m, n)), "X": well_conditioned(rng, n), "B": rng.normal(size=(n, m))}
    g, value = derive(tnet.trace(A @ tnet.inv(X) @ B), X, b)
    XiT = np.linalg.inv(b["X"]).T
    close(value, -XiT @ b["A"].T @ b["B"].T @ XiT)
    assert len(g.terms) == 1 and g.terms[0][0] == -1.0
    assert node_labels(g.terms[0][1]) == Counter({"inv": 2, "A": 1, "B": 1})


def test_trace_A_Xinv_B_by_substitution(rng):
    """The paper's own route for eq. 34: substitute d(X^-1) = -X^-1 dX X^-1 into
    d tr(A X^-1 B) = (A d(X^-1) B) · I, then read the gradient off the differential."""
    n, m = 4, 3
    A, X, B = tnet.Variable("A", m, n), tnet.Variable("X", n, n), tnet.Variable("B", n, m)
    b = {"A": rng.normal(size=(m, n)), "X": well_conditioned(rng, n), "B": rng.normal(size=(n, m))}
    d_inv = tnet.differential(tnet.inv(X), X)
    df = tnet.cdot_k(A @ d_inv @ B, tnet.identity(m), 2)  # M · I = tr M
    g = tnet.gradient_of_differential(df, X)
    XiT = np.linalg.inv(b["X"]).T
    close(tnet.evaluate(g, b), -XiT @ b["A"].T @ b["B"].T @ XiT)


def test_gradient_of_trace_read_off_trace_of_the_differential(rng):
    """d tr(X X) = tr(d(X X)): the gradient read off tr of the differential is 2 X^T."""
    n = 4
    X = tnet.Variable("X", n, n)
    Xv = rng.normal(size=(n, n))
    g = tnet.gradient_of_differential(tnet.trace(tnet.differential(X @ X, X)), X)
    close(tnet.evaluate(g, {"X": Xv}), 2 * Xv.T)


def _eq36(xv):
    """∂(x x^T)_ij / ∂x_p of eq. 36, as a [i, j, p] array."""
    n = len(xv)
    out = np.zeros((n, n, n))
    for i in range(n):
        for j in range(n):
            for p in range(n):
                if i == j == p:
                    out[i, j, p] = 2 * xv[i]
                elif i == p != j:
                    out[i, j, p] = xv[j]
                elif i != p == j:
                    out[i, j, p] = xv[i]
    return out


@pytest.mark.parametrize("build", ["kron", "einsum"])
def test_jacobian_of_x_xT_has_the_papers_two_terms(rng, build):
    """d(x x^T) = (I_1 x I_2 + x I_2 I_1) ·_1 dx (eq. 35): a 3rd-order Jacobian with two terms,
    each an identity and x, agreeing with eq. 36."""
    n = 4
    x = tnet.Variable("x", n)
    outer = tnet.kron(x, x) if build == "kron" else tnet.einsum("i,j->ij", x, x)
    xv = rng.normal(size=n)
    J, value = derive(outer, x, {"x": xv}, kind="jacobian")
    close(value, _eq36(xv))
    assert len(J.terms) == 2
    for coef, net in J.terms:
        assert coef == 1.0 and node_labels(net) == Counter({"x": 1, "I": 1})


def test_grad_of_x_xT_has_two_terms(rng):
    n = 4
    x = tnet.Variable("x", n)
    xv = rng.normal(size=n)
    g, value = derive(tnet.kron(x, x), x, {"x": xv})
    close(value, np.transpose(_eq36(xv), (2, 0, 1)))
    assert len(g.terms) == 2
    for coef, net in g.terms:
        assert coef == 1.0 and node_labels(net) == Counter({"x": 1, "I": 1})


def test_differential_of_x_xT(rng):
    n = 4
    x = tnet.Variable("x", n)
    xv, dxv = rng.normal(size=n), rng.normal(size=n)
    d = tnet.differential(tnet.kron(x, x), x)
    close(tnet.evaluate(d, {"x": xv, "dx": dxv}), np.outer(dxv, xv) + np.outer(xv, dxv))


# ---------------------------------------------------------------------------------------------
# higher orders: applying the rules again
# ---------------------------------------------------------------------------------------------
def test_hessian_of_xT_A_x(rng):
    n = 4
    A, x = tnet.Variable("A", n, n), tnet.Variable("x", n)
    b = {"A": rng.normal(size=(n, n)), "x": rng.normal(size=n)}
    H, value = derive(x @ A @ x, x, b, kind="hessian")
    assert isinstance(H, tnet.Expr) and H.shape == (n, n)
    close(value, b["A"] + b["A"].T)


def test_hessian_of_aT_X_XT_a(rng):
    """∂²/∂X_pq ∂X_rs of a^T X X^T a = 2 a_p a_r δ_qs."""
    n, m = 3, 4
    a, X = tnet.Variable("a", n), tnet.Variable("X", n, m)
    b = {"a": rng.normal(size=n), "X": rng.normal(size=(n, m))}
    H, value = derive(a @ X @ X.T @ a, X, b, kind="hessian")
    assert H.shape == (n, m, n, m)
    close(value, 2 * np.einsum("p,r,qs->pqrs", b["a"], b["a"], np.eye(m)))


def test_hessian_of_logdet(rng):
    """∂²log|X| / ∂X_pq ∂X_rs = -(X^-1)_qr (X^-1)_sp."""
    n = 3
    X = tnet.Variable("X", n, n)
    Xv = well_conditioned(rng, n)
    Xi = np.linalg.inv(Xv)
    _, value = derive(tnet.logdet(X), X, {"X": Xv}, kind="hessian")
    close(value, -np.einsum("qr,sp->pqrs", Xi, Xi))


def test_hessian_of_logsumexp_is_softmax_gradient(rng):
    n = 5
    x = tnet.Variable("x", n)
    xv = rng.normal(size=n)
    _, value = derive(tnet.logsumexp(x), x, {"x": xv}, kind="hessian")
    close(value, np_softmax_grad(np_softmax_rows(xv)))


def test_hessian_of_determinant_matches_finite_differences(rng):
    n = 3
    X = tnet.Variable("X", n, n)
    Xv = well_conditioned(rng, n)
    _, value = derive(tnet.det(X), X, {"X": Xv}, kind="hessian")
    fd = numeric_jacobian_wrt(lambda M: np.linalg.det(M) * np.linalg.inv(M).T, Xv)
    close(value, np.transpose(fd, (2, 3, 0, 1)), rtol=1e-6)


def test_third_derivative_by_applying_the_rules_again(rng):
    """∂³ (a^T x)^3 = 6 a ⊗ a ⊗ a."""
    n = 3
    a, x = tnet.Variable("a", n), tnet.Variable("x", n)
    b = {"a": rng.normal(size=n), "x": rng.normal(size=n)}
    T = tnet.jacobian(tnet.hessian((a @ x) ** 3, x), x)
    close(tnet.evaluate(T, b), 6 * np.einsum("i,j,k->ijk", b["a"], b["a"], b["a"]))


# ---------------------------------------------------------------------------------------------
# sec. 6.1: single-layer network (regression)
# ---------------------------------------------------------------------------------------------
ACTIVATIONS = {
    "tanh": (tnet.tanh, np.tanh, lambda A: 1 - np.tanh(A) ** 2),
    "sigmoid": (tnet.sigmoid, lambda A: 1 / (1 + np.exp(-A)), lambda A: np.exp(-A) / (1 + np.exp(-A)) ** 2),
}


@pytest.mark.parametrize("bias_form", ["broadcast", "ones_bT"])
@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_single_layer_net(rng, act, bias_form):
    """∇_W J = X^T (Z ⊙ C), ∇_b J = (Z ⊙ C)^T 1 with Z = h - Y, C = f'(XW + 1 b^T)."""
    f, f_np, fprime_np = ACTIVATIONS[act]
    N, d, m = 6, 4, 3
    X, W, b, Y = (tnet.Variable("X", N, d), tnet.Variable("W", d, m), tnet.Variable("b", m), tnet.Variable("Y", N, m))
    bias = b if bias_form == "broadcast" else tnet.kron(tnet.ones(N), b)  # the paper's 1 b^T
    h = f(X @ W + bias)
    J = 0.5 * tnet.cdot_k(h - Y, h - Y, 2)  # 1/2 (h - Y) · (h - Y)
    v = {
        "X": rng.normal(size=(N, d)),
        "W": rng.normal(size=(d, m)),
        "b": rng.normal(size=m),
        "Y": rng.normal(size=(N, m)),
    }

    gW, gb = tnet.grad(J, [W, b])
    rawW, rawb = tnet.grad(J, [W, b], simplify=False)
    got = tnet.evaluate([gW, gb], v)
    raw = tnet.evaluate([rawW, rawb], v)

    pre = v["X"] @ v["W"] + v["b"]
    ZC = (f_np(pre) - v["Y"]) * fprime_np(pre)
    close(got[0], v["X"].T @ ZC)
    close(got[1], ZC.T @ np.ones(N))
    close(raw[0], got[0])
    close(raw[1], got[1])
    close(tnet.evaluate(J, v), 0.5 * np.sum((f_np(pre) - v["Y"]) ** 2))


# ---------------------------------------------------------------------------------------------
# sec. 6.2: multi-layer network (regression) with L2 regularization
# ---------------------------------------------------------------------------------------------
def _mlp(widths, N, head="tanh", symbolic=False):
    """The sec. 6.2 / 6.3 network: Z_0 = X, A_j = Z_{j-1} W_j + 1 b_j^T, Z_j = f_j(A_j).
    With symbolic=True the sizes are names ("N", "n0", "n1", ...) bound at evaluation."""
    L = len(widths) - 1
    if symbolic:
        N, widths = "N", [f"n{j}" for j in range(L + 1)]
    X = tnet.Variable("X", N, widths[0])
    Ws = [tnet.Variable(f"W{j}", widths[j - 1], widths[j]) for j in range(1, L + 1)]
    bs = [tnet.Variable(f"b{j}", widths[j]) for j in range(1, L + 1)]
    Z = X
    for j, (W, b) in enumerate(zip(Ws, bs), start=1):
        A = Z @ W + b
        Z = tnet.softmax(A) if (j == L and head == "softmax") else tnet.tanh(A)
    return X, Ws, bs, Z


def _mlp_bindings(rng, widths, N):
    v = {"X": rng.normal(size=(N, widths[0]))}
    for j in range(1, len(widths)):
        v[f"W{j}"] = rng.normal(size=(widths[j - 1], widths[j])) / np.sqrt(widths[j - 1])
        v[f"b{j}"] = 0.1 * rng.normal(size=widths[j])
    return v


def _np_forward(v, L, head="tanh"):
    Zs, As = [v["X"]], [None]
    for j in range(1, L + 1):
        A = Zs[-1] @ v[f"W{j}"] + v[f"b{j}"]
        As.append(A)
        Zs.append(np_softmax_rows(A) if (j == L and head == "softmax") else np.tanh(A))
    return Zs, As


def _np_backward(v, Zs, L, lam, last_S):
    """The paper's final equations from S_L down: ∇W_j = Z_{j-1}^T S_j + λ W_j, ∇b_j = S_j^T 1,
    ∇Z_{j-1} = S_j W_j^T, S_j = ∇Z_j ⊙ f'_j(A_j)."""
    N = Zs[0].shape[0]
    gW, gb = {}, {}
    S = last_S
    for j in range(L, 0, -1):
        gW[j] = Zs[j - 1].T @ S + lam * v[f"W{j}"]
        gb[j] = S.T @ np.ones(N)
        if j > 1:
            gZ = S @ v[f"W{j}"].T
            S = gZ * (1 - Zs[j - 1] ** 2)
    return gW, gb


@pytest.mark.parametrize("symbolic", [False, True], ids=["int-sizes", "named-sizes"])
def test_multilayer_regression_net_with_l2(symbolic):
    rng = np.random.default_rng(62)
    widths, N, lam = [4, 5, 6, 3], 7, 0.1
    L = len(widths) - 1
    X, Ws, bs, ZL = _mlp(widths, N, symbolic=symbolic)
    Y = tnet.Variable("Y", *ZL.shape)
    D = ZL - Y
    J = (1 / (2 * N)) * tnet.cdot_k(D, D, 2)
    for W in Ws:
        J = J + 0.5 * lam * tnet.cdot_k(W, W, 2)
    v = _mlp_bindings(rng, widths, N)
    v["Y"] = rng.normal(size=(N, widths[-1]))

    grads = tnet.grad(J, Ws + bs)
    got = tnet.evaluate(grads, v)
    raw = tnet.evaluate(tnet.grad(J, Ws + bs, simplify=False), v)

    Zs, _ = _np_forward(v, L)
    S_L = (1 / N) * (Zs[L] - v["Y"]) * (1 - Zs[L] ** 2)  # ∇Z_L J ⊙ f'_L(A_L)
    gW, gb = _np_backward(v, Zs, L, lam, S_L)
    for j in range(1, L + 1):
        close(got[j - 1], gW[j])
        close(got[L + j - 1], gb[j])
    for a, b in zip(raw, got):
        close(a, b)


# ---------------------------------------------------------------------------------------------
# sec. 6.3: classification with softmax and cross-entropy
# ---------------------------------------------------------------------------------------------
def _classification_setup(rng, lam):
    widths, N = [4, 5, 6, 3], 7
    L = len(widths) - 1
    X, Ws, bs, ZL = _mlp(widths, N, head="softmax")
    Y = tnet.Variable("Y", N, widths[-1])
    # J = -(1/N) ln(s^1(A_L)) · Y + (λ/2) Σ_k W_k · W_k
    J = (-1 / N) * tnet.cdot_k(tnet.log(ZL), Y, 2)
    for W in Ws:
        J = J + 0.5 * lam * tnet.cdot_k(W, W, 2)
    v = _mlp_bindings(rng, widths, N)
    v["Y"] = one_hot_rows(rng, N, widths[-1])
    return widths, N, L, J, Ws, bs, v


def _eq40_E(AL, Yv):
    """E of eq. 40, built with tnet: -(1/N) (Y ⊘ Z_L)^{1 bar2} ⊙^{1 3} ∇s^1(A_L), where
    ∇s^1(A_L) is the 3-tensor [row, input, output] of ∇s applied to each row."""
    N, k = AL.shape
    A = tnet.Variable("A_L", N, k)
    Yt = tnet.Variable("Y", N, k)
    G4 = tnet.grad(tnet.softmax(A), A)  # [i, j, i', l]: zero unless i == i'
    grad_s_rows = tnet.einsum("ijil->ijl", G4)  # ∇s^1(A_L)[i, j, l]
    B = Yt / tnet.softmax(A)  # Y ⊘ Z_L
    E = (-1 / N) * tnet.odot(B, grad_s_rows, P=[0, 1], Q=[0, 2], summed=[1])
    nabla_s = tnet.evaluate(grad_s_rows, {"A_L": AL})
    S = np_softmax_rows(AL)
    for i in range(N):
        close(nabla_s[i], np_softmax_grad(S[i]))
    return tnet.evaluate(E, {"A_L": AL, "Y": Yv})


def test_classification_eq40_and_eq43_give_the_same_E():
    rng = np.random.default_rng(63)
    N, k = 7, 3
    AL, Yv = rng.normal(size=(N, k)), one_hot_rows(rng, N, k)
    E43 = (-1 / N) * (Yv - np_softmax_rows(AL))
    close(_eq40_E(AL, Yv), E43)
    # and the "easier way" is itself what tnet derives for ∇_{A_L} J_1
    A = tnet.Variable("A_L", N, k)
    Yt = tnet.Variable("Y", N, k)
    J1 = (-1 / N) * tnet.cdot_k(tnet.log(tnet.softmax(A)), Yt, 2)
    _, value = derive(J1, A, {"A_L": AL, "Y": Yv})
    close(value, E43)


def test_classification_net_both_routes():
    """Route 1: tnet's gradient of the loss. Route 2: the closed-form E of eq. 43 and the
    paper's backprop formulas. Route 3: E of eq. 40 (built with tnet) and the same formulas."""
    rng = np.random.default_rng(64)
    lam = 0.1
    widths, N, L, J, Ws, bs, v = _classification_setup(rng, lam)

    grads = tnet.grad(J, Ws + bs)
    got = tnet.evaluate(grads, v)
    raw = tnet.evaluate(tnet.grad(J, Ws + bs, simplify=False), v)

    Zs, As = _np_forward(v, L, head="softmax")
    E43 = (-1 / N) * (v["Y"] - Zs[L])
    E40 = _eq40_E(As[L], v["Y"])
    close(E40, E43)
    for E in (E43, E40):
        gW, gb = _np_backward(v, Zs, L, lam, E)
        for j in range(1, L + 1):
            close(got[j - 1], gW[j])
            close(got[L + j - 1], gb[j])
    for a, b in zip(raw, got):
        close(a, b)


# ---------------------------------------------------------------------------------------------
# sec. 6.4: the RNN through time
# ---------------------------------------------------------------------------------------------
def _rnn(tau, N, d, h, k):
    W, U, V = tnet.Variable("W", h, h), tnet.Variable("U", d, h), tnet.Variable("V", h, k)
    b, c = tnet.Variable("b", h), tnet.Variable("c", k)
    Z0 = tnet.Variable("Z0", N, h)
    Xs = [tnet.Variable(f"X{t}", N, d) for t in range(1, tau + 1)]
    Ys = [tnet.Variable(f"Y{t}", N, k) for t in range(1, tau + 1)]
    Z, J = Z0, None
    for Xt, Yt in zip(Xs, Ys):
        A = Z @ W + Xt @ U + b  # A_t = Z_{t-1} W + X_t U + 1 b^T
        Z = tnet.tanh(A)
        O = Z @ V + c  # O_t = Z_t V + 1 c^T
        Jt = (-1 / N) * tnet.cdot_k(tnet.log(tnet.softmax(O)), Yt, 2)
        J = Jt if J is None else J + Jt
    return J, [W, U, b, V, c, Z0]


def test_rnn_through_time_all_parameter_gradients():
    rng = np.random.default_rng(64)
    tau, N, d, h, k = 3, 5, 4, 6, 3
    J, params = _rnn(tau, N, d, h, k)
    v = {
        "W": rng.normal(size=(h, h)) / np.sqrt(h),
        "U": rng.normal(size=(d, h)) / np.sqrt(d),
        "V": rng.normal(size=(h, k)) / np.sqrt(h),
        "b": 0.1 * rng.normal(size=h),
        "c": 0.1 * rng.normal(size=k),
        "Z0": np.tanh(rng.normal(size=(N, h))),
    }
    for t in range(1, tau + 1):
        v[f"X{t}"] = rng.normal(size=(N, d))
        v[f"Y{t}"] = one_hot_rows(rng, N, k)

    grads = tnet.grad(J, params)
    got = dict(zip(["W", "U", "b", "V", "c", "Z0"], tnet.evaluate(grads, v)))
    raw = tnet.evaluate(tnet.grad(J, params, simplify=False), v)

    # the paper's final equations
    W, U, V, b, c = v["W"], v["U"], v["V"], v["b"], v["c"]
    Zs, As, Os = [v["Z0"]], [None], [None]
    for t in range(1, tau + 1):
        As.append(Zs[-1] @ W + v[f"X{t}"] @ U + b)
        Zs.append(np.tanh(As[-1]))
        Os.append(Zs[-1] @ V + c)
    gO = {t: (-1 / N) * (v[f"Y{t}"] - np_softmax_rows(Os[t])) for t in range(1, tau + 1)}
    gA = {tau + 1: np.zeros((N, h))}
    for t in range(tau, 0, -1):
        gA[t] = (1 - np.tanh(As[t]) ** 2) * (gA[t + 1] @ W.T + gO[t] @ V.T)
    ones = np.ones(N)
    expected = {
        "W": sum(Zs[t - 1].T @ gA[t] for t in range(1, tau + 1)),
        "U": sum(v[f"X{t}"].T @ gA[t] for t in range(1, tau + 1)),
        "b": sum(gA[t].T @ ones for t in range(1, tau + 1)),
        "V": sum(Zs[t].T @ gO[t] for t in range(1, tau + 1)),
        "c": sum(gO[t].T @ ones for t in range(1, tau + 1)),
        "Z0": gA[1] @ W.T,
    }
    for name, value in expected.items():
        close(got[name], value)
    for a, bb in zip(raw, got.values()):
        close(a, bb)
