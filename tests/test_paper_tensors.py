"""The paper's section 2 facts about tensors and their operators, checked against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tnet

rng = np.random.default_rng(7)


def arr(*shape):
    return rng.normal(size=shape)


def test_sec_2_1_matrix_product_as_outer_fuse_sum():
    """M1 = A ⊗ B, M2 fuses dims 2 and 3, M3 sums the fused dim: M3 = AB (eq. 1)."""
    A, B = tnet.Variable("A", 2, 3), tnet.Variable("B", 3, 4)
    a, b = arr(2, 3), arr(3, 4)
    env = {"A": a, "B": b}
    m1 = tnet.kron(A, B)
    m2 = tnet.einsum("ij,jm->ijm", A, B)
    m3 = tnet.einsum("ij,jm->im", A, B)
    assert np.allclose(tnet.evaluate(m1, env), np.einsum("ij,lm->ijlm", a, b))
    assert np.allclose(tnet.evaluate(m2, env), np.einsum("ij,jm->ijm", a, b))
    assert np.allclose(tnet.evaluate(m3, env), a @ b)
    assert np.allclose(tnet.evaluate(m2, env).sum(axis=1), a @ b)
    # (A_ij B_jm | im) = (B_jm A_ij | im)
    assert np.allclose(tnet.evaluate(tnet.einsum("jm,ij->im", B, A), env), a @ b)


def test_sec_2_2_kron_outer_product_of_vectors():
    v, w = tnet.Variable("v", 3), tnet.Variable("w", 4)
    vv, ww = arr(3), arr(4)
    assert np.allclose(tnet.evaluate(tnet.kron(v, w), {"v": vv, "w": ww}), np.outer(vv, ww))
    A, B = tnet.Variable("A", 2, 3), tnet.Variable("B", 3)
    a, b = arr(2, 3), arr(3)
    assert not np.allclose(
        tnet.evaluate(tnet.kron(A, B), {"A": a, "B": b}).ravel(),
        tnet.evaluate(tnet.kron(B, A), {"A": a, "B": b}).ravel(),
    )


def test_eq_2_odot_example_positions():
    """A^{23} ⊙^{14} B (eq. 2) as the einsum of its definition (eq. 3)."""
    A, B = tnet.Variable("A", 2, 3, 4, 5), tnet.Variable("B", 3, 6, 7, 4, 2)
    a, b = arr(2, 3, 4, 5), arr(3, 6, 7, 4, 2)
    e = tnet.odot(A, B, [1, 2], [0, 3])
    assert e.shape == (2, 3, 4, 5, 6, 7, 2)
    assert np.allclose(tnet.evaluate(e, {"A": a, "B": b}), np.einsum("akhd,kefhg->akhdefg", a, b))


def test_eq_4_and_5_same_tensor_up_to_permutation():
    """A^{12} ⊙^{32} B = (A_ijk B_lji | ijkl) and B^{32} ⊙^{12} A = (B_lji A_ijk | ljik)."""
    A, B = tnet.Variable("A", 3, 4, 5), tnet.Variable("B", 6, 4, 3)
    a, b = arr(3, 4, 5), arr(6, 4, 3)
    env = {"A": a, "B": b}
    e4 = tnet.evaluate(tnet.odot(A, B, [0, 1], [2, 1]), env)
    e5 = tnet.evaluate(tnet.odot(B, A, [2, 1], [0, 1]), env)
    assert np.allclose(e4, np.einsum("ijk,lji->ijkl", a, b))
    assert np.allclose(e5, np.einsum("lji,ijk->ljik", b, a))
    assert np.allclose(np.transpose(e4, (3, 1, 0, 2)), e5)  # ijkl -> ljik
    assert e4.shape != e5.shape


def test_barred_positions_and_matrix_product():
    """AB = A^{bar 2} ⊙^1 B = A^2 ·^1 B = A ·_1 B; v^T w = v^{bar 1} ⊙^1 w = v · w."""
    A, B = tnet.Variable("A", 2, 3), tnet.Variable("B", 3, 4)
    a, b = arr(2, 3), arr(3, 4)
    env = {"A": a, "B": b}
    for e in (tnet.odot(A, B, [1], [0], summed=[1]), tnet.cdot(A, B, [1], [0]), tnet.cdot_k(A, B, 1), A @ B):
        assert np.allclose(tnet.evaluate(e, env), a @ b)
    v, w = tnet.Variable("v", 5), tnet.Variable("w", 5)
    vv, ww = arr(5), arr(5)
    assert np.isclose(tnet.evaluate(tnet.odot(v, w, [0], [0], summed=[0]), {"v": vv, "w": ww}), vv @ ww)
    assert np.isclose(tnet.evaluate(tnet.cdot_k(v, w, 1), {"v": vv, "w": ww}), vv @ ww)
    # the Hadamard product W ⊙ W with positions omitted
    W = tnet.Variable("W", 2, 3, 4)
    ww3 = arr(2, 3, 4)
    assert np.allclose(tnet.evaluate(tnet.odot_k(W, W, 3), {"W": ww3}), ww3 * ww3)


def test_eq_6_permutation():
    A = tnet.Variable("A", 2, 3, 4)
    a = arr(2, 3, 4)
    assert np.allclose(tnet.evaluate(tnet.permute(A, [2, 0, 1]), {"A": a}), np.transpose(a, (2, 0, 1)))
    assert np.allclose(tnet.evaluate(A.T, {"A": a}), a.T)
    assert np.allclose(tnet.evaluate(A.transpose(1, 0, 2), {"A": a}), np.transpose(a, (1, 0, 2)))


def test_sec_2_3_bracket_with_fused_and_summed_positions():
    """A_{p1 [p2 p5 p7] p3 [p4 p6] p8} with bars on p1 and p6: a diagonal of A, summed."""
    A = tnet.Variable("A", 2, 3, 4, 4, 3, 4, 3, 5)
    a = arr(2, 3, 4, 4, 3, 4, 3, 5)
    # positions (1-based) 2,5,7 fused (k), 4,6 fused (h); 1 and h summed
    e = tnet.einsum("ikchkhkf->kcf", A)
    assert np.allclose(tnet.evaluate(e, {"A": a}), np.einsum("ikchkhkf->kcf", a))


def test_sec_2_4_associativity_fails_for_dot_with_positions():
    """(A ^1·^1 B) ^1·^1 C differs from A ^1·^1 (B ^1·^1 C) (sec. 2.4)."""
    A, B, C = (tnet.Variable(n, 3, 3) for n in "ABC")
    a, b, c = arr(3, 3), arr(3, 3), arr(3, 3)
    env = {"A": a, "B": b, "C": c}
    left = tnet.cdot(tnet.cdot(A, B, [0], [0]), C, [0], [0])
    right = tnet.cdot(A, tnet.cdot(B, C, [0], [0]), [0], [0])
    lv, rv = tnet.evaluate(left, env), tnet.evaluate(right, env)
    assert np.allclose(lv, np.einsum("ij,ik,jm->km", a, b, c))  # [~A1 B1][~A2 C1] B2 C2
    assert np.allclose(rv, np.einsum("ax,ia,iy->xy", a, b, c))  # [~B1 C1][~A1 B2] A2 C2
    assert not np.allclose(lv, rv)


def test_sec_2_4_associativity_of_elementwise_products():
    A, B, C = (tnet.Variable(n, 3, 3) for n in "ABC")
    a, b, c = arr(3, 3), arr(3, 3), arr(3, 3)
    env = {"A": a, "B": b, "C": c}
    # (A ^1⊙^1 B) ^1⊙^1 C = A ^1⊙^1 (B ^1⊙^1 C) = [A1 B1 C1] A2 B2 C2
    left = tnet.odot(tnet.odot(A, B, [0], [0]), C, [0], [0])
    right = tnet.odot(A, tnet.odot(B, C, [0], [0]), [0], [0])
    want = np.einsum("ia,ib,ic->iabc", a, b, c)
    assert np.allclose(tnet.evaluate(left, env), want)
    assert np.allclose(tnet.evaluate(right, env), want)
    # but (A ^2⊙^1 B) ^1⊙^1 C differs from A ^2⊙^1 (B ^1⊙^1 C)
    left2 = tnet.odot(tnet.odot(A, B, [1], [0]), C, [0], [0])
    right2 = tnet.odot(A, tnet.odot(B, C, [0], [0]), [1], [0])
    assert np.allclose(tnet.evaluate(left2, env), np.einsum("ij,jb,ic->ijbc", a, b, c))  # [A1 C1][A2 B1] B2 C2
    assert np.allclose(tnet.evaluate(right2, env), np.einsum("ij,jb,jc->ijbc", a, b, c))  # A1 [A2 B1 C1] B2 C2
    assert not np.allclose(tnet.evaluate(left2, env), tnet.evaluate(right2, env))


dims = st.integers(min_value=1, max_value=3)


def _tensor(name, ndim, draw):
    shape = tuple(draw(st.lists(dims, min_size=ndim, max_size=ndim)))
    return tnet.Variable(name, *shape), shape


@given(st.data())
def test_sec_2_5_odot_k_associative(data):
    """max(k, h) <= dim(B) implies (A ⊙_k B) ⊙_h C = A ⊙_k (B ⊙_h C)."""
    nb = data.draw(st.integers(1, 3), label="dim B")
    k = data.draw(st.integers(0, nb), label="k")
    h = data.draw(st.integers(0, nb), label="h")
    nb_shape = tuple(data.draw(st.lists(dims, min_size=nb, max_size=nb)))
    na = k + data.draw(st.integers(0, 1))
    nc = h + data.draw(st.integers(0, 1))
    a_shape = tuple(data.draw(st.lists(dims, min_size=na - k, max_size=na - k))) + nb_shape[:k]
    c_shape = nb_shape[nb - h :] + tuple(data.draw(st.lists(dims, min_size=nc - h, max_size=nc - h)))
    A, B, C = tnet.Variable("A", *a_shape), tnet.Variable("B", *nb_shape), tnet.Variable("C", *c_shape)
    env = {"A": rng.normal(size=a_shape), "B": rng.normal(size=nb_shape), "C": rng.normal(size=c_shape)}
    left = tnet.odot_k(tnet.odot_k(A, B, k), C, h)
    right = tnet.odot_k(A, tnet.odot_k(B, C, h), k)
    assert left.shape == right.shape
    assert np.allclose(tnet.evaluate(left, env), tnet.evaluate(right, env))


@given(st.data())
def test_sec_2_5_cdot_k_associative(data):
    """k + h <= dim(B) implies (A ·_k B) ·_h C = A ·_k (B ·_h C), and the mixed forms."""
    nb = data.draw(st.integers(0, 4), label="dim B")
    k = data.draw(st.integers(0, nb), label="k")
    h = data.draw(st.integers(0, nb - k), label="h")
    nb_shape = tuple(data.draw(st.lists(dims, min_size=nb, max_size=nb)))
    a_extra = tuple(data.draw(st.lists(dims, max_size=2)))
    c_extra = tuple(data.draw(st.lists(dims, max_size=2)))
    a_shape = a_extra + nb_shape[:k]
    c_shape = nb_shape[nb - h :] + c_extra
    A, B, C = tnet.Variable("A", *a_shape), tnet.Variable("B", *nb_shape), tnet.Variable("C", *c_shape)
    env = {"A": rng.normal(size=a_shape), "B": rng.normal(size=nb_shape), "C": rng.normal(size=c_shape)}
    pairs = [
        (tnet.cdot_k(tnet.cdot_k(A, B, k), C, h), tnet.cdot_k(A, tnet.cdot_k(B, C, h), k)),
        (tnet.odot_k(tnet.cdot_k(A, B, k), C, h), tnet.cdot_k(A, tnet.odot_k(B, C, h), k)),
        (tnet.cdot_k(tnet.odot_k(A, B, k), C, h), tnet.odot_k(A, tnet.cdot_k(B, C, h), k)),
    ]
    for left, right in pairs:
        assert left.shape == right.shape
        assert np.allclose(tnet.evaluate(left, env), tnet.evaluate(right, env))


def test_same_dim_dot_and_odot_commute():
    """U ⊙_d V = U ⊙ V = V ⊙ U and U ·_d V = V · U when d = dim U = dim V."""
    U, V = tnet.Variable("U", 2, 3), tnet.Variable("V", 2, 3)
    env = {"U": arr(2, 3), "V": arr(2, 3)}
    assert np.allclose(tnet.evaluate(tnet.odot_k(U, V, 2), env), tnet.evaluate(tnet.odot_k(V, U, 2), env))
    assert np.isclose(tnet.evaluate(tnet.cdot_k(U, V, 2), env), tnet.evaluate(tnet.cdot_k(V, U, 2), env))


def test_sec_2_3_1_row_and_column_vectors():
    """(1^T u) v = v u^T 1 (eq. 10 fixed)."""
    u, v = tnet.Variable("u", 4), tnet.Variable("v", 3)
    one = tnet.ones(4)
    uu, vv = arr(4), arr(3)
    env = {"u": uu, "v": vv}
    lhs = tnet.kron(v, tnet.cdot_k(one, u, 1))
    assert np.allclose(tnet.evaluate(lhs, env), vv * uu.sum())
    assert np.allclose(tnet.evaluate(tnet.kron(v, u) @ one, env), np.outer(vv, uu) @ np.ones(4))


@pytest.mark.parametrize("n", [1, 2, 5])
def test_identity_and_delta(n):
    x = tnet.Variable("x", n)
    xv = arr(n)
    assert np.allclose(tnet.evaluate(tnet.identity(n), {}), np.eye(n))
    assert np.allclose(tnet.evaluate(tnet.identity(n) @ x, {"x": xv}), xv)
    d3 = tnet.evaluate(tnet.delta(n, 3), {})
    assert d3.shape == (n, n, n) and d3.sum() == n and all(d3[i, i, i] == 1 for i in range(n))
    assert np.allclose(tnet.evaluate(tnet.diag(x), {"x": xv}), np.diag(xv))
