"""Simplification rules: powers of one tensor, Delta and Ones folding, isomorphic terms, and
the sharing policy (products used once are flattened, shared ones stay shared)."""

from __future__ import annotations

import numpy as np

import tnet
from tnet.expr import walk
from tnet.network import Network

rng = np.random.default_rng(11)


def test_powers_of_one_tensor_merge():
    """(1 ⊘ Z) ⊙ Z = 1 (sec. 6.3) and X ⊙ X^0.5 ⊙ X = X^2.5."""
    X, Y = tnet.Variable("X", 3, 4), tnet.Variable("Y", 3, 4)
    e = tnet.simplify(tnet.sum(X * X**-1 * Y))
    assert [n.label for _, net in e.terms for n in net.nodes] == ["Y"]
    e2 = tnet.simplify(X * X * X**0.5)
    assert e2 is X**2.5
    x = rng.uniform(1, 2, size=(3, 4))
    assert np.allclose(tnet.evaluate(e2, {"X": x}), x**2.5)
    # x ⊙ x alone stays the paper's W ⊙ W, and x ⊙ x^T (other edges) is left alone
    S = tnet.Variable("S", 3, 3)
    assert tnet.simplify(X * X).terms[0][1].nodes == (X, X)
    assert len(tnet.simplify(S * S.T**-1).terms[0][1].nodes) == 2


def test_log_softmax_gradient_is_stable_for_large_logits():
    """The cross-entropy gradient comes out as -(1/N)(Y - diag(Y 1) s), with no 1 ⊘ s left."""
    A, Y = tnet.Variable("A", 2, 3), tnet.Variable("Y", 2, 3)
    J = -0.5 * tnet.sum(tnet.log(tnet.softmax(A)) * Y)
    g = tnet.grad(J, A)
    assert not any(getattr(e.fn, "exponent", 1) < 0 for e in walk([g]) if isinstance(e, tnet.Apply))
    a = np.array([[1000.0, -1000.0, 0.0], [0.0, 1.0, 2.0]])
    y = np.eye(3)[[1, 2]]
    s = np.exp(a - a.max(axis=1, keepdims=True))
    s /= s.sum(axis=1, keepdims=True)
    got = tnet.evaluate(g, {"A": a, "Y": y})
    assert np.all(np.isfinite(got))
    assert np.allclose(got, -0.5 * (y - s))


def test_delta_and_ones_fold():
    n = 4
    x = tnet.Variable("x", n)
    assert tnet.simplify(tnet.identity(n) @ x) is x
    assert tnet.simplify(tnet.trace(tnet.identity(n))).terms[0][0] == n  # sum of a Delta's diagonal
    e = tnet.simplify(tnet.sum(tnet.ones(n, 3) * 2.0))
    assert e.terms[0][0] == 2.0 * n * 3 and not e.terms[0][1].nodes
    # a Delta between two output axes stays: the gradient of tr X is the identity
    X = tnet.Variable("X", n, n)
    assert tnet.grad(tnet.trace(X), X) is tnet.identity(n)


def test_isomorphic_terms_merge_and_output_positions_count():
    X = tnet.Variable("X", 3, 3)
    a = tnet.Variable("a", 3)
    # a^T X a twice, written with the two factors in different orders: one term, coefficient 2
    e = tnet.simplify(a @ X @ a + tnet.einsum("j,i,ij->", a, a, X))
    assert len(e.terms) == 1 and e.terms[0][0] == 2
    # X and X^T are the same tensor on different output positions: two terms
    e2 = tnet.simplify(X + X.T)
    assert len(e2.terms) == 2


def test_products_used_once_are_flattened_shared_ones_stay_shared():
    X = tnet.Variable("X", 5, 3)
    W1, W2 = tnet.Variable("W1", 3, 4), tnet.Variable("W2", 4, 2)
    J = tnet.sum(tnet.tanh(tnet.tanh(X @ W1) @ W2))
    g_alone = tnet.grad(J, W1)
    nested = [e for e in walk([g_alone]) if isinstance(e, Network) and any(isinstance(n, Network) for n in e.nodes)]
    assert not nested  # one gradient: its backward chain is one flat product
    g1, g2 = tnet.grad(J, [W1, W2])
    networks = [{id(e) for e in walk([g]) if isinstance(e, Network)} for g in (g1, g2)]
    shared = networks[0] & networks[1]
    assert shared  # two gradients: the adjoint they both need is one shared node
    env = {"X": rng.normal(size=(5, 3)), "W1": rng.normal(size=(3, 4)), "W2": rng.normal(size=(4, 2))}
    v_alone, v1 = tnet.evaluate([g_alone, g1], env)
    assert np.allclose(v_alone, v1)


def test_scalar_factors_inlined_into_an_unchanged_product():
    """A product whose only change is a scalar factor to inline (a network of no node, such
    as a backprop seed) keeps its nodes and edges and takes the factor's coefficient; a zero
    factor makes it Zero."""
    from tnet.network import Network

    A, B = tnet.Variable("A", 2, 3), tnet.Variable("B", 3, 2)
    for c in (2.5, 0.0):
        seed = Network([], [], [], coef=c)
        e = Network([A, B, seed], [(0, 1), (1, 2), ()], (0, 2))
        got = tnet.simplify(e)
        a, b = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2)
        assert np.allclose(tnet.evaluate(got, {"A": a, "B": b}), c * a @ b)
        if c == 0:
            assert isinstance(got, tnet.Zero)
        else:
            assert isinstance(got, Network) and got.nodes == (A, B) and got.coef == c
