"""The formula language (tnet/notation/formula_in.py): a table of inputs and the numpy value each
must have, shape inference and its errors, and the round trip to_matrix -> parse_matrix of the
derivatives it produces; MathML out (tnet/notation/mathml_out.py) is well-formed and carries the
formula's symbols."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tnet
from tnet.notation import parse_matrix
from tnet.notation.formula_in import parse_declarations, parse_formula
from tnet.notation.mathml_out import latex_to_mathml, matrix_to_mathml, to_mathml


def _softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _values(f, seed=0):
    rng = np.random.default_rng(seed)
    sizes: dict = {}
    out = {}
    for name, v in f.variables.items():
        shape = tuple(s if isinstance(s, int) else sizes.setdefault(s, int(rng.integers(2, 5))) for s in v.shape)
        value = rng.uniform(0.5, 1.5, size=shape)
        if len(shape) == 2 and shape[0] == shape[1]:
            value = value + 2 * shape[0] * np.eye(shape[0])
        if f.kinds[name] == "symmetric":  # S' reads as S
            value = (value + value.T) / 2
        out[name] = value
    return out


# formula, declarations, its value in numpy (from the values of its variables)
TABLE = [
    ("x'*A*x", "", lambda x, A: x @ A @ x),
    ("A*x - b", "", lambda A, x, b: A @ x - b),
    ("norm2(A*x - b)^2", "A: matrix m×n", lambda A, x, b: np.sum((A @ x - b) ** 2)),
    ("norm2(A*x - b)", "", lambda A, x, b: np.linalg.norm(A @ x - b)),
    ("tr(X*A*X')", "", lambda X, A: np.trace(X @ A @ X.T)),
    ("log(det(X))", "", lambda X: np.log(np.linalg.det(X))),
    ("inv(X)", "", lambda X: np.linalg.inv(X)),
    ("X^-1*b", "", lambda X, b: np.linalg.inv(X) @ b),
    ("X^3", "", lambda X: X @ X @ X),
    ("sum(exp(X*w))", "", lambda X, w: np.sum(np.exp(X @ w))),
    ("a .* b", "", lambda a, b: a * b),
    ("a ./ b - a/2", "", lambda a, b: a / b - a / 2),
    ("a .^ 3", "", lambda a: a**3),
    ("softmax(W*x)", "", lambda W, x: _softmax(W @ x)),
    ("softmax(W)", "", lambda W: _softmax(W)),
    ("logsumexp(W)", "", lambda W: np.log(np.sum(np.exp(W), axis=-1))),
    ("x'*y", "", lambda x, y: x @ y),
    ("x*y'", "", lambda x, y: np.outer(x, y)),
    ("x'*A", "", lambda x, A: x @ A),
    ("2*c*x + 3", "c: scalar", lambda c, x: 2 * c * x + 3),
    ("c^2 - 1/c + (1 + 2)*c", "c: scalar", lambda c: c**2 - 1 / c + 3 * c),
    ("-x'*(-y)", "", lambda x, y: x @ y),
    ("diag(v)*M*diag(M)", "", lambda v, M: np.diag(v) @ M @ np.diag(M)),
    ("tanh(A)*sigmoid(B) + relu(A')", "", lambda A, B: np.tanh(A) @ (1 / (1 + np.exp(-B))) + np.maximum(A.T, 0)),
    ("sqrt(x) .* abs(sin(x)) + cos(x)", "", lambda x: np.sqrt(x) * np.abs(np.sin(x)) + np.cos(x)),
    ("logdet(S) + tr(S'*B)", "S: symmetric n×n", lambda S, B: np.linalg.slogdet(S)[1] + np.trace(S.T @ B)),
    ("norm1(A*x)", "", lambda A, x: np.sum(np.abs(A @ x))),
    ("u'*v", "u, v: vector 3", lambda u, v: u @ v),
    ("maximum(x, 1) + minimum(A*x, b)", "", lambda x, A, b: np.maximum(x, 1) + np.minimum(A @ x, b)),
    ("maximum(c, X)", "c: scalar", lambda c, X: np.maximum(c, X)),
]


@pytest.mark.parametrize("text, decl, numpy_value", TABLE, ids=[t for t, _, _ in TABLE])
def test_formula_values(text, decl, numpy_value):
    f = parse_formula(text, decl)
    values = _values(f)
    got = tnet.evaluate(f.expr, values)
    names = numpy_value.__code__.co_varnames[: numpy_value.__code__.co_argcount]
    np.testing.assert_allclose(got, numpy_value(*(values[n] for n in names)), rtol=1e-10, atol=1e-12)


def test_shapes_are_inferred_and_unified_by_name():
    f = parse_formula("norm2(A*x - b)^2", "A: matrix m×n")
    assert f.variables["A"].shape == ("m", "n")
    assert f.variables["x"].shape == ("n",)
    assert f.variables["b"].shape == ("m",)
    assert f.declarations() == "A: matrix m×n; x: vector n; b: vector m"
    g = parse_formula("tr(X*A*X')")
    x, a = g.variables["X"].shape, g.variables["A"].shape
    assert a[0] == a[1] == x[1] and x[0] != x[1]
    assert parse_formula("c*x + d", "c, d: scalar").variables["d"].shape == ()
    assert parse_formula("A*x", "A: matrix 3×4").variables["x"].shape == (4,)
    assert parse_formula("log(det(X))").variables["X"].shape[0] == parse_formula("log(det(X))").variables["X"].shape[1]


@pytest.mark.parametrize(
    "text, decl, message, position",
    [
        ("A*x", "A: matrix m×n; x: vector k", "a matrix (m×n) and a column vector (k) do not fit (n ≠ k)", 1),
        ("A*x + y'", "", "a column vector (n) and a row vector", 4),
        ("x*y", "", "cannot multiply a column vector (n) by a column vector (m)", 1),
        ("x + A", "", "a column vector (n) and a matrix", 2),
        ("tr(A)", "A: matrix 2×3", "tr needs a square matrix", 0),
        ("A^2", "A: matrix m×n", "a matrix power needs a square matrix", 1),
        ("x^2", "", "'^' raises a scalar or a square matrix", 1),
        ("A / B", "", "'/' divides by a scalar", 2),
        ("foo(x)", "", "unknown function 'foo'", 0),
        ("exp(x, y)", "", "exp takes 1 argument, got 2", 0),
        ("maximum(x)", "", "maximum takes 2 arguments, got 1", 0),
        ("maximum(x, y')", "", "the arguments of maximum: a column vector (n) and a row vector", 0),
        ("attention(X, X, X)", "", "the formula language has only element-wise functions of several", 0),
        ("A*(x", "", "expected ')'", 4),
        ("x +", "", "expected a name, a number or '('", 3),
        ("x $ y", "", "unexpected '$'", 2),
        ("1/0", "", "division by zero", 1),
    ],
)
def test_errors_point_at_the_position(text, decl, message, position):
    with pytest.raises(tnet.ParseError) as info:
        parse_formula(text, decl)
    assert message in str(info.value)
    assert info.value.position == position


@pytest.mark.parametrize(
    "decl, message",
    [
        ("A matrix", "expected a declaration"),
        ("A: tensor n", "unknown kind 'tensor'"),
        ("x: vector m×n", "a vector has 1 size, got 2"),
        ("S: symmetric m×n", "a symmetric matrix is square"),
        ("x: vector n; x: vector m", "x is declared twice"),
        ("x: vector 0", "sizes are positive"),
    ],
)
def test_bad_declarations(decl, message):
    with pytest.raises(tnet.ParseError, match=message):
        parse_declarations(decl)


def test_declarations_forms():
    d = parse_declarations("A, B: matrix m x n\nx: vector 3; S: symmetric n; c: scalar")
    assert d["A"].sizes == d["B"].sizes == ("m", "n")
    assert d["x"].sizes == (3,) and d["S"].sizes == ("n", "n") and d["c"].sizes == ()


def test_nesting_and_length_bounds():
    with pytest.raises(tnet.ParseError, match="nested more than"):
        parse_formula("(" * 200 + "x" + ")" * 200)
    with pytest.raises(tnet.ParseError, match="nested more than"):
        parse_formula("-" * 200 + "x")
    with pytest.raises(tnet.ParseError, match="characters long"):
        parse_formula("x+" * 6000 + "x")


def test_symmetric_transpose_reads_as_itself():
    f = parse_formula("S'", "S: symmetric n×n")
    assert f.expr is f.variables["S"]


GALLERY_FORMULAS = [
    ("x'*A*x", ""),
    ("norm2(A*x - b)^2", ""),
    ("tr(X*A*X')", ""),
    ("log(det(X))", ""),
    ("sum(exp(X*w))", ""),
    ("softmax(W*x)", ""),
    ("a .* b", ""),
    ("sum(tanh(X*W + B) .* Y)", ""),
]


@pytest.mark.parametrize("text, decl", GALLERY_FORMULAS)
def test_round_trip_of_derivatives(text, decl):
    """Every gradient printed in matrix notation reads back (parse_matrix) to the same values."""
    f = parse_formula(text, decl)
    values = _values(f, seed=1)
    for x in f.variables.values():
        g = tnet.grad(f.expr, x)
        back = parse_matrix(g.to_matrix(), **f.variables)
        np.testing.assert_allclose(
            tnet.evaluate(back, values, allow_unknown=True), tnet.evaluate(g, values), rtol=1e-9, atol=1e-12
        )


@pytest.mark.parametrize("text, decl", GALLERY_FORMULAS)
def test_mathml_is_well_formed(text, decl):
    f = parse_formula(text, decl)
    for x in f.variables.values():
        g = tnet.grad(f.expr, x)
        for notation in ("matrix", "bracket"):
            root = ET.fromstring(to_mathml(g, notation))
            assert root.tag == "{http://www.w3.org/1998/Math/MathML}math"
            names = {el.text for el in root.iter("{http://www.w3.org/1998/Math/MathML}mi")}
            assert x.name in names or any(v in names for v in f.variables)


def test_mathml_structure():
    ns = "{http://www.w3.org/1998/Math/MathML}"
    root = ET.fromstring(matrix_to_mathml("2 A^T (A x - b) + X^-1 + y^⊙0.5 + 1{n}"))
    sups = root.findall(f".//{ns}msup")
    assert [el[0].text for el in sups] == ["A", "X", "y"]
    assert "".join(sups[0][1].itertext()) == "T"
    assert "".join(sups[1][1].itertext()) == "−1"
    assert "".join(sups[2][1].itertext()) == "⊙0.5"
    assert root.find(f".//{ns}msub") is not None
    assert [el.text for el in root.iter(f"{ns}mn")][0] == "2"
    latex = ET.fromstring(latex_to_mathml(r"\frac{1}{2} A_{1}[\overline{A_{2}} x] \odot \mathbf{1}"))
    assert latex.find(f".//{ns}mfrac") is not None
    assert latex.find(f".//{ns}mover") is not None
    assert "⊙" in [el.text for el in latex.iter(f"{ns}mo")]
    with pytest.raises(ValueError, match="unknown notation"):
        to_mathml(tnet.Variable("x", 2), "einsum")
