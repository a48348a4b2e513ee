"""tnet.parse: the paper's bracket and index notation in, checked against numpy.einsum.

Every bracket or index expression that the paper writes out in sections 2.1 to 2.5 (and the
ones of secs. 4.2, 4.3.5, 5, 6.1 - 6.4) is parsed here and compared with the einsum its
definition gives."""

from __future__ import annotations

import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tnet
from tnet.notation import parse

rng = np.random.default_rng(2024)


def arr(*shape):
    return rng.normal(size=shape)


def value(text, **arrays):
    return tnet.evaluate(parse(text, **arrays))


def check(text, spec, **arrays):
    """parse(text) evaluates to numpy.einsum(spec) of the arrays, in keyword order."""
    expected = np.einsum(spec, *arrays.values()) if spec else None
    got = value(text, **arrays)
    assert got.shape == expected.shape, (text, got.shape, expected.shape)
    assert np.allclose(got, expected), text


# --- sec. 2.1: index notation --------------------------------------------------------------------
A23, B34 = arr(2, 3), arr(3, 4)


@pytest.mark.parametrize(
    "text, spec",
    [
        ("(A_ij B_lm | ijlm)", "ij,lm->ijlm"),  # M1 = A ⊗ B
        ("(A_ij B_jm | ijm)", "ij,jm->ijm"),  # M2: the fused dimension kept
        ("(A_ij B_jm | im)", "ij,jm->im"),  # M3 = AB, eq. 1
        ("(A_ij B_jm|im)", "ij,jm->im"),
        ("(A_{ij} B_{jm} | im)", "ij,jm->im"),  # the paper's LaTeX spelling
        ("(A_{i j} B_{j m} | {i m})", "ij,jm->im"),
        ("(A_{row k} B_{k col} | {row col})", "ij,jm->im"),  # longer index names
        ("A_ij B_jm | im", "ij,jm->im"),  # without the parentheses
        ("(A_ij B_jm | mi)", "ij,jm->mi"),  # the order after | is the output order
    ],
)
def test_sec_2_1_index_notation(text, spec):
    check(text, spec, A=A23, B=B34)


def test_sec_2_1_order_of_factors_does_not_matter():
    """(A_ij B_jm | im) = (B_jm A_ij | im)."""
    assert np.allclose(value("(A_ij B_jm | im)", A=A23, B=B34), value("(B_jm A_ij | im)", A=A23, B=B34))


# --- sec. 2.2: formal definitions ----------------------------------------------------------------
def test_sec_2_2_kronecker_and_outer_product():
    A, B = arr(2, 3, 2), arr(3, 2)
    check("(A_ijk B_lm | ijklm)", "ijk,lm->ijklm", A=A, B=B)  # A ⊗ B
    v, w = arr(3), arr(4)
    check("(v_i w_j | ij)", "i,j->ij", v=v, w=w)  # v w^T = v ⊗ w
    check("v w", "i,j->ij", v=v, w=w)


def test_eq_2_odot_with_named_indices():
    """A^{23} ⊙^{14} B = (A_{i1 k h i4} B_{k j2 j3 h j5} | i1 k h i4 j2 j3 j5) (eq. 2)."""
    A, B = arr(2, 3, 4, 2), arr(3, 2, 2, 4, 3)
    check(
        "(A_{i1 k h i4} B_{k j2 j3 h j5} | {i1 k h i4 j2 j3 j5})",
        "akhd,kbchf->akhdbcf",
        A=A,
        B=B,
    )


def test_eq_4_and_5():
    """A^{12} ⊙^{32} B = (A_ijk B_lji | ijkl) and B^{32} ⊙^{12} A = (B_lji A_ijk | ljik)."""
    A, B = arr(2, 3, 4), arr(5, 3, 2)
    check("(A_ijk B_lji | ijkl)", "ijk,lji->ijkl", A=A, B=B)
    check("(B_lji A_ijk | ljik)", "lji,ijk->ljik", B=B, A=A)


def test_eq_6_permutation():
    """A_P = (A_{i1..iN} | i_p1 i_p2 ...) (eq. 6)."""
    A = arr(2, 3, 4)
    check("A_312", "ijk->kij", A=A)
    check("A_123", "ijk->ijk", A=A)
    check("A_1 A_2 A_3", "ijk->ijk", A=A)  # A = A_1..n = A_1 A_2 ... A_n (sec. 2.3)
    check("A_{3,1,2}", "ijk->kij", A=A)
    check("A_{3 1 2}", "ijk->kij", A=A)
    check("A_{312}", "ijk->kij", A=A)  # the paper's LaTeX spelling A_{312}


def test_sec_2_2_brackets_inside_one_tensor():
    """A_{p1 [p2 p5 p7] p3 [p4 p6] p8} and the barred version (sums over p1 and [p4 p6])."""
    A = arr(2, 3, 2, 4, 3, 4, 3, 2)
    check("A_1[A_2 A_5 A_7]A_3[A_4 A_6]A_8", "akbhkhkc->akbhc", A=A)
    check("~A_1[A_2 A_5 A_7]A_3[A_4 ~A_6]A_8", "akbhkhkc->kbc", A=A)


def test_sec_2_2_products_with_bars():
    A, B = arr(2, 3), arr(3, 4)
    check("A_1[~A_2 B_1]B_2", "ik,km->im", A=A, B=B)  # AB = A^{2bar} ⊙^1 B
    v, w = arr(3), arr(3)
    check("[~v w]", "i,i->", v=v, w=w)  # v^T w = v^{1bar} ⊙^1 w
    check("[v ~w]", "i,i->", v=v, w=w)


# --- sec. 2.3: general bracket notation ----------------------------------------------------------
def test_eq_7_juxtaposition_of_vectors():
    """u ⊗ v ⊗ w = uvw (eq. 7): names written together, with or without spaces."""
    u, v, w = arr(2), arr(3), arr(4)
    check("uvw", "i,j,k->ijk", u=u, v=v, w=w)
    check("u v w", "i,j,k->ijk", u=u, v=v, w=w)


def test_sec_2_3_brackets_with_a_kronecker_group():
    """[A_P B_Q A_R (C_S C_T)] = A_P ⊙ B_Q ⊙ A_R ⊙ (C_S ⊗ C_T)."""
    A, B, C = arr(2, 3, 2, 3), arr(2, 3), arr(2, 3)
    check("[A_12 B A_34 (C_1 C_2)]", "abab,ab,ab->ab", A=A, B=B, C=C)
    check("[A_12 B A_34 C]", "abab,ab,ab->ab", A=A, B=B, C=C)
    # a bar on any one member sums the fused dimensions
    for text in ["[A_12 ~B A_34 (C_1 C_2)]", "[A_12 B ~A_34 (C_1 C_2)]", "[A_12 B A_34 ~(C_1 C_2)]"]:
        check(text, "abab,ab,ab->", A=A, B=B, C=C)
    # [A_P B_Q A_R (~C_S C_T)] sums only the first dim(C_S) dimensions
    check("[A_12 B A_34 (~C_1 C_2)]", "abab,ab,ab->b", A=A, B=B, C=C)


def test_sec_2_3_a_bar_sums_every_dimension_of_its_term():
    """A_P ~A_Q A_R sums over the dimensions of A_Q; barred terms move freely."""
    A = arr(2, 3, 4)
    for text in ["A_1 ~A_2 A_3", "~A_2 A_1 A_3", "A_1 A_3 ~A_2"]:
        check(text, "ijk->ik", A=A)
    check("~A", "ijk->", A=A)


def test_sec_2_3_taking_something_out():
    """[~A_12 B_12 (C_1 D_1)] D_2 = [A_12 B_12 (~C_1 1)] ·_1 D_12 and
    [A_12 B_12 (~C_1 1)] = [~A_1 B_1 C_1][A_2 B_2]."""
    A, B, C, D = arr(2, 3), arr(2, 3), arr(2), arr(3, 4)
    left = value("[~A_12 B_12 (C_1 D_1)]D_2", A=A, B=B, C=C, D=D)
    assert np.allclose(left, np.einsum("ij,ij,i,jk->k", A, B, C, D))
    taken = value("[A_12 B_12 (~C_1 1)]", A=A, B=B, C=C)
    assert np.allclose(taken, np.einsum("ij,ij,i->j", A, B, C))
    assert np.allclose(np.tensordot(taken, D, 1), left)
    assert np.allclose(value("[~A_1 B_1 C_1][A_2 B_2]", A=A, B=B, C=C), taken)


def test_sec_2_3_summed_terms_move_freely():
    """X[~A B C]Y = [~A B C]XY = XY[~A B C]."""
    X, Y, A, B, C = arr(2), arr(3), arr(4), arr(4), arr(4)
    expected = np.einsum("i,j,k,k,k->ij", X, Y, A, B, C)
    for text in ["X[~A B C]Y", "[~A B C]X Y", "X Y[~A B C]", "XY[~ABC]"]:
        assert np.allclose(value(text, X=X, Y=Y, A=A, B=B, C=C), expected), text


def test_sec_2_3_nested_brackets_in_a_group():
    """X[AB(C_1[~C_2 D_1]D_2)]Y = [~C_2 D_1]X[AB(C_1 D_2)]Y, and the barred version is the
    system XY, [~A B (C_1 D_2)], [~C_2 D_1]."""
    X, Y = arr(2), arr(3)
    A, B, C, D = arr(2, 3), arr(2, 3), arr(2, 4), arr(4, 3)
    env = dict(X=X, Y=Y, A=A, B=B, C=C, D=D)
    expected = np.einsum("x,y,ab,ab,ak,kb->xaby", X, Y, A, B, C, D)
    assert np.allclose(value("X[A B (C_1[~C_2 D_1]D_2)]Y", **env), expected)
    assert np.allclose(value("X[AB(C_1[~C_2D_1]D_2)]Y", **env), expected)
    assert np.allclose(value("[~C_2 D_1]X[A B (C_1 D_2)]Y", **env), expected)
    barred = value("X[~A B (C_1[~C_2 D_1]D_2)]Y", **env)
    assert np.allclose(barred, np.einsum("x,y,ab,ab,ak,kb->xy", X, Y, A, B, C, D))


def test_eq_8_and_9():
    """A^{12} ⊙^{32} B = [A_1 B_3][A_2 B_2]A_3 B_1 (eq. 8); B^{32} ⊙^{12} A = B_1[B_2 A_2][B_3 A_1]A_3
    (eq. 9); with the intermediate steps."""
    A, B = arr(2, 3, 4), arr(5, 3, 2)
    check("[A_1 B_3][A_2 B_2]A_3 B_1", "ijk,lji->ijkl", A=A, B=B)
    check("B_1[B_2 A_2][B_3 A_1]A_3", "lji,ijk->ljik", B=B, A=A)
    # the intermediate steps of eq. 8 leave portions incomplete: they are not terms on their own
    with pytest.raises(tnet.ParseError, match="incomplete"):
        parse("[A_1 B_3]A_23", A=A, B=B)
    # the same tensor, with the left operand's dimensions in increasing order
    assert np.allclose(
        value("[A_1 B_3][A_2 B_2]A_3 B_1", A=A, B=B),
        tnet.evaluate(tnet.odot(tnet.Constant("A", A), tnet.Constant("B", B), [0, 1], [2, 1])),
    )


def test_sec_2_3_1_vectors():
    """(1^T u) v = [~1 u] v = v [u ~1]."""
    u, v = arr(3), arr(4)
    check("[~1 u]v", "i,j->j", u=u, v=v)
    check("v[u ~1]", "i,j->j", u=u, v=v)


# --- sec. 2.4: associativity ---------------------------------------------------------------------
def test_sec_2_4_associativity():
    A, B, C = arr(2, 3), arr(2, 4), arr(3, 5)
    # (A^1 ·^1 B)^1 ·^1 C and its intermediate step
    check("[~A_1 B_1]A_2 B_2", "ij,ik->jk", A=A, B=B)
    check("[~A_1 B_1][~A_2 C_1]B_2 C_2", "ij,ik,jl->kl", A=A, B=B, C=C)
    # A^1 ·^1 (B^1 ·^1 C) with B, C sharing a first dimension
    B2, C2 = arr(2, 4), arr(2, 5)
    check("[~B_1 C_1]B_2 C_2", "ij,ik->jk", B=B2, C=C2)
    A2 = arr(4, 3)
    check("[~B_1 C_1][~A_1 B_2]A_2 C_2", "jl,ij,ik->lk", A=A2, B=B2, C=C2)
    # element-wise products: both associations agree
    A3, B3, C3 = arr(2, 3), arr(2, 4), arr(2, 5)
    check("[A_1 B_1]A_2 B_2", "ij,ik->ijk", A=A3, B=B3)
    check("[A_1 B_1 C_1]A_2 B_2 C_2", "ij,ik,il->ijkl", A=A3, B=B3, C=C3)
    # ... and those that do not
    A4, B4, C4 = arr(2, 3), arr(3, 4), arr(2, 5)
    check("A_1[A_2 B_1]B_2", "ij,jk->ijk", A=A4, B=B4)
    check("[A_1 C_1][A_2 B_1]B_2 C_2", "ij,jk,il->ijkl", A=A4, B=B4, C=C4)
    C5 = arr(3, 5)
    check("A_1[A_2 B_1 C_1]B_2 C_2", "ij,jk,jl->ijkl", A=A4, B=B4, C=C5)


# --- sec. 4.2: a term with X in several portions -------------------------------------------------
def test_sec_4_2_portions_go_to_the_first_occurrence_that_lacks_them():
    """B(X, X, X) = A_1 X[X_2 A_2]X_3[X_1 C_2]C_1 D X_23[~X_1 C_3]: three occurrences of X."""
    A, X, C, D = arr(2, 3), arr(2, 3, 2), arr(3, 2, 2), arr(2)
    spec = "ab,cde,fbh,ifm,n,mpq->acdebhfinpq"
    got = value("A_1 X[X_2 A_2]X_3[X_1 C_2]C_1 D X_23[~X_1 C_3]", A=A, X=X, C=C, D=D)
    assert np.allclose(got, np.einsum(spec, A, X, X, C, D, X))
    # dB: each term holds dX once, split into portions
    dX = arr(2, 3, 2)
    env = dict(A=A, X=X, C=C, D=D, dX=dX)
    first = value("A_1 dX[X_2 A_2]X_3[X_1 C_2]C_1 D X_23[~X_1 C_3]", **env)
    assert np.allclose(first, np.einsum(spec, A, dX, X, C, D, X))
    second = value("A_1 X[dX_2 A_2]dX_3[dX_1 C_2]C_1 D X_23[~X_1 C_3]", **env)
    assert np.allclose(second, np.einsum(spec, A, X, dX, C, D, X))
    third = value("A_1 X[X_2 A_2]X_3[X_1 C_2]C_1 D dX_23[~dX_1 C_3]", **env)
    assert np.allclose(third, np.einsum(spec, A, X, X, C, D, dX))


# --- sec. 4.3.5 and 5: basic examples ------------------------------------------------------------
def test_sec_4_3_5_softmax_steps():
    """ds = M(s ⊙ da) = M_1[~M_2 s da] = [~da s M_2]M_1 (names written together: das)."""
    M, s, da = arr(3, 3), arr(3), arr(3)
    expected = M @ (s * da)
    for text in ["M_1[~M_2 s da]", "[~da s M_2]M_1", "[~das M_2]M_1"]:
        assert np.allclose(value(text, M=M, s=s, da=da), expected), text


def test_sec_5_examples():
    a, b, X, dX = arr(3), arr(4), arr(3, 4), arr(3, 4)
    env = dict(a=a, b=b, X=X, dX=dX)
    # d(a^T X b) = [a ~dX_1][~dX_2 b] = ab · dX
    assert np.allclose(value("[a ~dX_1][~dX_2 b]", **env), a @ dX @ b)
    check("a b", "i,j->ij", a=a, b=b)
    # d(a^T X X^T a) = 2 [a ~dX_1][~dX_2 X_2][X_1 ~a] and the gradient 2 a X_2[X_1 ~a] = 2 a a^T X
    assert np.allclose(value("2[a ~dX_1][~dX_2 X_2][X_1 ~a]", **env), 2 * a @ dX @ X.T @ a)
    assert np.allclose(value("2 a X_2[X_1 ~a]", **env), 2 * np.outer(a, a) @ X)
    assert np.allclose(value("2aX_2[X_1~a]", **env), 2 * np.outer(a, a) @ X)


def test_sec_5_trace_of_an_inverse():
    """d tr(A X^-1 B) = -U_1[U_2 ~dX_1][~dX_2 V_1]V_2 · I and its steps (expression 34)."""
    U, V, dX = arr(3, 3), arr(3, 3), arr(3, 3)
    env = dict(U=U, V=V, dX=dX)
    expected = -np.trace(U @ dX @ V)
    assert np.allclose(value("-[~I_1 U_1][U_2 ~dX_1][~dX_2 V_1][~I_2 V_2]", **env), expected)
    grad = value("-[~I_1 U_1]U_2 V_1[~I_2 V_2]", **env)
    assert np.allclose(np.sum(grad * dX), expected)
    assert np.allclose(value("-U_2[U_1 ~I_1][~I_2 V_2]V_1", **env), -U.T @ V.T)
    assert np.allclose(value("-U_1[U_2 ~dX_1][~dX_2 V_1]V_2", **env), -U @ dX @ V)


def test_eq_35_derivative_of_x_x_transpose():
    """d(x x^T) = I_1[I_2 ~dx]x + x[~dx I_1]I_2 = (I_1 x I_2 + x I_2 I_1) ·_1 dx."""
    x, dx = arr(3), arr(3)
    env = dict(x=x, dx=dx)
    expected = np.outer(dx, x) + np.outer(x, dx)
    assert np.allclose(value("I_1[I_2 ~dx]x + x[~dx I_1]I_2", **env), expected)
    assert np.allclose(value("I_1 x[I_2 ~dx] + x I_2[~dx I_1]", **env), expected)
    jac = value("I{3}_1 x I{3}_2 + x I{3}_2 I{3}_1", **env)
    assert np.allclose(np.tensordot(jac, dx, 1), expected)
    eye = np.eye(3)
    assert np.allclose(jac, np.einsum("ip,j->ijp", eye, x) + np.einsum("i,jp->ijp", x, eye))


# --- sec. 6: deep learning -----------------------------------------------------------------------
def test_sec_6_1_single_layer():
    N, d, m = 5, 3, 4
    X, Z, C, dW, db = arr(N, d), arr(N, m), arr(N, m), arr(d, m), arr(m)
    env = dict(X=X, Z=Z, C=C, dW=dW, db=db)
    dJ = np.sum(Z * C * (X @ dW)) + np.sum(Z * C * np.outer(np.ones(N), db))
    assert np.allclose(value("[~Z C (X_1[X_2 ~dW_1]dW_2)] + [~Z C (1 db)]", **env), dJ)
    assert np.allclose(value("[X_2 ~dW_1][Z C (~X_1 ~dW_2)] + [Z C (~1 ~db)]", **env), dJ)
    grad_w = value("X_2[Z C (~X_1 1)]", **env)
    assert np.allclose(grad_w, X.T @ (Z * C))
    assert np.allclose(value("[Z C (~1 1)]", **env), (Z * C).T @ np.ones(N))
    assert np.allclose(value("[ZC(~11)]", **env), (Z * C).T @ np.ones(N))


def test_sec_6_2_multi_layer():
    P, Q, R, S = arr(5, 4), arr(5, 4), arr(5, 3), arr(3, 4)
    env = dict(P=P, Q=Q, R=R, S=S)
    scalar = np.sum(P * Q * (R @ S))
    assert np.allclose(value("[~P Q (R_1[~R_2 S_1]S_2)]", **env), scalar)
    assert np.allclose(value("[P Q (~R_1 ~S_2)][~R_2 S_1]", **env), scalar)
    assert np.allclose(value("[P Q (1 ~S_2)]S_1", **env), (P * Q) @ S.T)
    assert np.allclose(value("[~P Q (R_1[R_2 ~S_1]S_2)]", **env), scalar)
    assert np.allclose(value("[R_2 ~S_1][P Q (~R_1 ~S_2)]", **env), scalar)
    assert np.allclose(value("R_2[P Q (~R_1 1)]", **env), R.T @ (P * Q))
    d = arr(4)
    check("[P Q (~1 d)]", "ij,ij,j->j", P=P, Q=Q, d=d)


def test_sec_6_3_classification():
    B, C = arr(5, 4), arr(5, 3, 4)
    check("[B_1 C_1][~B_2 C_3]C_2", "ij,ikj->ik", B=B, C=C)  # B^{1 2bar} ⊙^{13} C
    C2 = arr(5, 4, 4)
    check("[B_1 C_1][C_2 ~B_2 C_3]", "ij,ijj->i", B=B, C=C2)  # the text as extracted: C_2, C_3 fused
    E, Z, W, dW, db = arr(5, 4), arr(5, 3), arr(3, 4), arr(3, 4), arr(4)
    env = dict(E=E, Z=Z, W=W, dW=dW, db=db)
    assert np.allclose(value("[~E_1 Z_1][Z_2 ~dW_1][E_2 ~dW_2]", **env), np.sum(E * (Z @ dW)))
    assert np.allclose(value("[E_1 1][E_2 ~db]", **env), np.einsum("ij,j->i", E, db))
    assert np.allclose(value("E_1[~E_2 W_2]W_1", **env), E @ W.T)
    assert np.allclose(value("Z_2[~Z_1 E_1]E_2", **env), Z.T @ E)
    assert np.allclose(value("E_2[~E_1 1]", **env), E.T @ np.ones(5))


def test_sec_6_4_expression_48():
    """[G_1 B_1][B_2 W_1][~G_2 W_2] = B ⊙ (G W^T), and the steps before it."""
    N, h = 5, 4
    G, B, D, W = arr(N, h), arr(N, h), arr(N, h), arr(h, h)
    env = dict(G=G, B=B, D=D, W=W)
    check("[G_1 B_1][B_2 W_1][~G_2 W_2]", "ij,ik,kj->ik", G=G, B=B, W=W)
    assert np.allclose(value("[G_1 B_1][B_2 W_1][~G_2 W_2]", **env), B * (G @ W.T))
    assert np.allclose(value("[B_1 D_1][B_2 ~D_2 W_1]W_2", **env), (B * D) @ W)
    scalar = np.sum(G * ((B * D) @ W))
    assert np.allclose(value("[G_1 B_1 ~D_1][B_2 ~D_2 W_1][~G_2 W_2]", **env), scalar)
    assert np.allclose(value("G_1 W_1[~G_2 W_2]", **env), G @ W.T)
    assert np.allclose(value("G_1[~G_2 W_2]W_1", **env), G @ W.T)


def test_sec_6_4_parameter_gradients():
    """A · (BD) = A · B_1[B_2 ~D_1]D_2 = [~A_1 B_1][B_2 ~D_1][A_2 ~D_2] = B_2[B_1 ~A_1]A_2 · D."""
    A, B, D = arr(5, 4), arr(5, 3), arr(3, 4)
    env = dict(A=A, B=B, D=D)
    assert np.allclose(value("B_1[B_2 ~D_1]D_2", **env), B @ D)
    assert np.allclose(value("[~A_1 B_1][B_2 ~D_1][A_2 ~D_2]", **env), np.sum(A * (B @ D)))
    assert np.allclose(value("[~A_1 B_1]B_2 A_2", **env), B.T @ A)
    assert np.allclose(value("B_2[B_1 ~A_1]A_2", **env), B.T @ A)


# --- the rest of the syntax ------------------------------------------------------------------------
def test_sums_coefficients_and_signs():
    A, B = arr(3, 3), arr(3, 3)
    got = value("2 A_1[~A_2 B_1]B_2 - [~A B] A", A=A, B=B)
    assert np.allclose(got, 2 * A @ B - np.sum(A * B) * A)
    got = value("2 A_1[A_2 B_1]B_2 - [~A B] A_1[A_2 B_1]B_2", A=A, B=B)
    assert np.allclose(got, (2 - np.sum(A * B)) * np.einsum("ij,jk->ijk", A, B))
    assert np.allclose(value("-A + 0.5 B - 1/4 A_21", A=A, B=B), -A + 0.5 * B - A.T / 4)
    assert np.allclose(value("1e-3 A", A=A), 1e-3 * A)
    assert np.allclose(value("2.5", A=A), 2.5)
    assert np.allclose(value("A + 2j B", A=A, B=B), A + 2j * B)
    assert np.allclose(value("- - A", A=A), A)


def test_functions_and_sub_expressions():
    A, x = arr(3, 4), arr(4)
    assert np.allclose(value("tanh(A)", A=A), np.tanh(A))
    assert np.allclose(value("tanh(A)_21", A=A), np.tanh(A).T)
    assert np.allclose(value("tanh^21(A)", A=A), np.tanh(A).T)
    s = value("softmax^1(A)", A=A)
    assert np.allclose(s, np.exp(A) / np.exp(A).sum(1, keepdims=True))
    s2 = value("softmax^2(A)", A=A)
    assert np.allclose(s2, (np.exp(A) / np.exp(A).sum(0, keepdims=True)).T)
    assert np.allclose(value("softmax(x)", x=x), np.exp(x) / np.exp(x).sum())
    assert np.allclose(value("pow{2}(A)", A=A), A**2)
    assert np.allclose(value("pow{-1}(A)", A=A), 1 / A)
    assert np.allclose(value("exp(A_1[~A_2 x])", A=A, x=x), np.exp(A @ x))
    assert np.allclose(value("[exp(A) A]", A=A), np.exp(A) * A)
    # a sub-expression used as a tensor, with its own portions
    B = arr(4, 3)
    assert np.allclose(value("(A_1[~A_2 B_1]B_2)_21", A=A, B=B), (A @ B).T)
    assert np.allclose(
        value("(A_1[~A_2 B_1]B_2)_1 x (A_1[~A_2 B_1]B_2)_2", A=A, B=B, x=x), np.einsum("ik,j->ijk", A @ B, x)
    )
    assert np.allclose(value("(A + A)_21", A=A), 2 * A.T)
    assert np.allclose(value("[~(A_ij B_jk | ik) I]", A=A, B=B), np.trace(A @ B))


def test_reserved_ones_and_identity():
    A = arr(3, 4)
    assert np.allclose(value("1{3}"), np.ones(3))
    assert np.allclose(value("I{3}"), np.eye(3))
    d3 = value("I{2,3}")
    assert d3.shape == (2, 2, 2) and d3[1, 1, 1] == 1 and d3.sum() == 2
    assert np.allclose(value("[A_1 1]A_2", A=A), A)
    assert np.allclose(value("A_1[A_2 ~1]", A=A), A.sum(1))
    assert np.allclose(value("[A_1 I_1]I_2 ~A_2", A=A), np.diag(A.sum(1)))
    assert np.allclose(value("(A_ij I_jk | ik)", A=A), A)
    assert np.allclose(value("(1_i A_ij | j)", A=A), A.sum(0))
    assert np.allclose(value("`I`", I=A), A)  # a tensor named I is written in backquotes


def test_arrays_and_expressions_as_bindings():
    X = tnet.Variable("X", 3, 3)
    e = parse("X_1[~X_2 X_1]X_2", X=X)
    x = arr(3, 3)
    assert np.allclose(tnet.evaluate(e, {"X": x}), x @ x)
    g = tnet.grad(tnet.sum(e), X)
    assert g.shape == (3, 3)
    c = parse("c", c=[1.0, 2.0])
    assert isinstance(c, tnet.Constant) and c.name == "c"
    # names that are not identifiers are written in backquotes
    assert np.allclose(value("`W_0` x", **{"W_0": arr(2), "x": arr(3)}).shape, (2, 3))


# --- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, message, position",
    [
        ("A_1 Q", "unknown tensor name 'Q'", 4),
        ("A_1", "incomplete", 0),
        ("A_13", "position 3 is out of range", 0),
        ("[A_1 B_1]A_2 B_2", "fused dimensions of different sizes", 5),
        ("[A B_1]", "same number of dimensions", 3),
        ("A_1[A_2 B_1]B_2 + [~A", "never closed", 18),
        ("A]", "unmatched", 1),
        ("(A_ij B_jk | il)", "appears in no factor", 14),
        ("(A_ij B_ik | jk)", "index i has size", 6),
        ("(A_i B_jk | ij)", "2 dimension\\(s\\) but 1", 4),
        ("A_ij", "expected positions", 2),
        ("A 2", "can only start a term", 2),
        ("1", "cannot infer the size of 1", 0),
        ("I", "cannot infer the size of I", 0),
        ("A_0", "positions start at 1", 2),
        ("foo(A)", "unknown tensor name 'foo'", 0),
        ("tanh (A)", "tanh is a function", 0),
        ("A_12 + A_1 ~A_2", "shape", 7),
        ("softmax^3(A)", "cannot apply softmax", 0),
        ("", "empty expression", 0),
        ("[]", "empty brackets", 0),
        ("~", "expected a tensor after '~'", 1),
        ("(| ij)", "expected factors", 1),
    ],
)
def test_errors_name_the_position_and_what_was_expected(text, message, position):
    A, B = tnet.Variable("A", 3, 4), tnet.Variable("B", 4, 3)
    with pytest.raises(tnet.ParseError, match=message) as info:
        parse(text, A=A, B=B)
    assert info.value.position == position, str(info.value)
    assert f"(at position {position})" in str(info.value)


def test_definition_lines_name_expressions_for_the_lines_after_them():
    """What the printers write for an expression too large to write out: ``t1 = ...`` lines,
    then the expression; each definition may use the ones before it."""
    A = tnet.Variable("A", 3, 3)
    a = np.random.default_rng(0).normal(size=(3, 3))
    text = "t1 = A_1[~A_2 A_1]A_2\n`two` = 2 t1\n  t1_1[~t1_2 two_1]two_2 - A"
    got = tnet.evaluate(parse(text, A=A), {"A": a})
    assert np.allclose(got, 2 * np.linalg.matrix_power(a, 4) - a)
    matrix = tnet.notation.parse_matrix("s = A A\ns A^T", A=A)
    assert np.allclose(tnet.evaluate(matrix, {"A": a}), a @ a @ a.T)
    # a line that only looks like a definition is the expression when it is the last one
    with pytest.raises(tnet.ParseError, match="unknown tensor name 't1'"):
        parse("t1 = A", A=A)


@pytest.mark.parametrize(
    ("text", "message", "line", "column", "position"),
    [
        ("t1 = A_1[~A_2 A_1]A_2\nt1 + B", "unknown tensor name 'B'", 2, 6, 27),
        ("t1 = A_1[~A_2 B_1]B_2\nt1", "unknown tensor name 'B'", 1, 15, 14),
        ("t1 = A\nt1 = 2 A\nt1", "t1 is defined here and defined on an earlier line", 2, 1, 7),
        ("A = 2 A\nA", "A is defined here and bound by a keyword argument", 1, 1, 0),
    ],
)
def test_errors_in_definition_lines_name_the_line_and_column(text, message, line, column, position):
    A = tnet.Variable("A", 3, 3)
    with pytest.raises(tnet.ParseError, match=message) as info:
        parse(text, A=A)
    assert info.value.position == position, str(info.value)
    assert f"(at line {line}, column {column}, position {position})" in str(info.value)
    pointed = str(info.value).splitlines()[-2:]  # the line, and a caret under the column
    assert pointed[0].strip() == text.splitlines()[line - 1].strip() and pointed[1].index("^") == column + 1


def test_error_for_I_bound_but_written_bare():
    with pytest.raises(tnet.ParseError, match="identity"):
        parse("I", I=np.eye(2))


def test_bindings_must_be_tensors():
    with pytest.raises(TypeError):
        parse("A", A="not an array")


# --- fuzzing ----------------------------------------------------------------------------------------
_ALPHABET = "AaBbXIx1230_~[](){}|+-.,` ^^jeE/#tanhsoftmxpw{}⊙"
_FUZZ_ENV = {
    "A": tnet.Variable("A", 3, 4),
    "B": tnet.Variable("B", 4, 3),
    "X": tnet.Variable("X", 3, 3),
    "a": tnet.Variable("a", 3),
    "b": tnet.Variable("b", 4),
    "x": tnet.Variable("x", 3),
}


def _parse_or_parse_error(text):
    try:
        e = parse(text, **_FUZZ_ENV)
    except tnet.ParseError as err:
        assert err.position is None or 0 <= err.position <= len(text)
        return None
    assert isinstance(e, tnet.Expr)
    return e


@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_fuzz_random_strings_raise_only_parse_errors(text):
    _parse_or_parse_error(text)


@given(st.text(max_size=30))
def test_fuzz_any_unicode_raises_only_parse_errors(text):
    _parse_or_parse_error(text)


_SEEDS = [
    "A_1[~A_2 B_1]B_2",
    "[A_1 B_2][A_2 B_1]",
    "(A_ij B_jk | ik)",
    "2 X_1[X_2 x] - [~a x] X",
    "softmax^1(A)_21",
    "[X_12 X_21 (~a 1)]",
    "tanh(A_1[~A_2 b])",
    "(X + X_21)_12 ~a",
]


@settings(max_examples=200)
@given(
    st.sampled_from(_SEEDS),
    st.lists(st.tuples(st.integers(0, 40), st.sampled_from(list(_ALPHABET) + [""])), max_size=4),
)
def test_fuzz_mutated_expressions_raise_only_parse_errors(seed, edits):
    text = seed
    for where, ch in edits:
        k = where % (len(text) + 1)
        text = text[:k] + ch + text[k + 1 :] if ch == "" else text[:k] + ch + text[k:]
    _parse_or_parse_error(text)


def test_fuzz_deep_nesting_is_a_parse_error():
    for text in ["[" * 500 + "A" + "]" * 500, "(" * 500 + "A" + ")" * 500, "tanh(" * 300 + "X" + ")" * 300]:
        with pytest.raises(tnet.ParseError):
            parse(text, **_FUZZ_ENV)


def test_fuzz_every_printable_character_alone():
    for ch in string.printable + "⊙~αé":
        _parse_or_parse_error(ch)
        _parse_or_parse_error("A_1 " + ch)
        _parse_or_parse_error("[A_1 " + ch + "]")
