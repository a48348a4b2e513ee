"""Printing the paper's notation: to_bracket (read back by tnet.parse), to_latex, to_matrix.

to_matrix is checked by evaluating what it prints (`eval_matrix`) against tnet.evaluate, not by
comparing strings alone."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tnet
from tnet.network import combine
from tnet.notation import eval_matrix, leaves, parse_matrix, to_bracket, to_latex, to_matrix

rng = np.random.default_rng(11)


def arr(*shape):
    return rng.normal(size=shape)


def env_for(e, arrays):
    return {name: arrays[name] for name in leaves(e) if name in arrays}


def assert_reads_back(e, arrays):
    """parse(to_bracket(e)) and eval_matrix(to_matrix(e)) give e's values."""
    want = tnet.evaluate(e, env_for(e, arrays))
    text = to_bracket(e)
    back = tnet.parse(text, **leaves(e))
    got = tnet.evaluate(back, env_for(back, arrays))
    assert got.shape == want.shape, text
    assert np.allclose(got, want), text
    matrix = to_matrix(e)
    got = eval_matrix(matrix, **env_for(e, arrays))
    assert np.shape(got) == want.shape, matrix
    assert np.allclose(got, want), matrix
    latex = to_latex(e)
    assert latex.count("{") == latex.count("}"), latex
    return text, matrix


# --- to_bracket -------------------------------------------------------------------------------------
A, B = tnet.Variable("A", 3, 4), tnet.Variable("B", 4, 3)
C = tnet.Variable("C", 3, 4)
X = tnet.Variable("X", 3, 3)
a, b = tnet.Variable("a", 3), tnet.Variable("b", 4)
ARRAYS = {"A": arr(3, 4), "B": arr(4, 3), "C": arr(3, 4), "X": arr(3, 3) + 3 * np.eye(3), "a": arr(3), "b": arr(4)}


@pytest.mark.parametrize(
    "e, text",
    [
        (A @ B, "A_1[~A_2 B_1]B_2"),
        (A.T, "A_21"),
        (A * C, "[A C]"),
        (tnet.trace(X), "[~X_1 X_2]"),
        (tnet.kron(a, b), "a b"),
        (tnet.sum(A), "~A"),
        (tnet.sum(A, 0), "A_2 ~A_1"),
        (a @ X @ a, "[~a X_1][~X_2 a]"),
        (2 * A - C, "2 A - C"),
        (tnet.tanh(A @ B), "tanh(A_1[~A_2 B_1]B_2)"),
        (tnet.softmax(A), "softmax^1(A)"),
        (tnet.inv(X) @ X, "inv(X)_1[~inv(X)_2 X_1]X_2"),
        (A**2, "pow{2}(A)"),
        (tnet.identity(3), "I{3}"),
        (tnet.ones(3), "1{3}"),
        (tnet.zeros(3, 4), "0 1{3} 1{4}"),
        (A + b, "A + 1{3} b"),
    ],
)
def test_to_bracket_strings(e, text):
    assert to_bracket(e) == text
    assert e.to_bracket() == text
    assert_reads_back(e, ARRAYS)


def test_to_bracket_paper_expressions_print_back():
    G, Bm, W = tnet.Variable("G", 5, 4), tnet.Variable("B", 5, 4), tnet.Variable("W", 4, 4)
    e = tnet.parse("[G_1 B_1][B_2 W_1][~G_2 W_2]", G=G, B=Bm, W=W)
    assert to_bracket(e) == "[G_1 B_1][~G_2 W_2][B_2 W_1]"
    A3, B3 = tnet.Variable("A", 2, 3, 4), tnet.Variable("B", 5, 3, 2)
    eq8 = tnet.odot(A3, B3, [0, 1], [2, 1])
    assert to_bracket(eq8) == "[A_1 B_3][A_2 B_2]A_3 B_1"
    eq9 = tnet.odot(B3, A3, [2, 1], [0, 1])
    assert to_bracket(eq9) == "B_1[B_2 A_2][B_3 A_1]A_3"


def test_leaves_and_unusual_names():
    w0 = tnet.Variable("W_0", 3)
    eye = tnet.Variable("I", 3)
    tanh_named = tnet.Variable("tanh", 3)
    e = tnet.kron(w0, eye) + tnet.kron(tanh_named, tnet.ones(3))
    text = to_bracket(e)
    assert "`W_0`" in text and "`I#2`" in text and "`tanh`" in text
    assert set(leaves(e)) == {"W_0", "I#2", "tanh"}  # a bare I is always the identity
    arrays = {"W_0": arr(3), "I": arr(3), "tanh": arr(3)}
    e = e + tnet.identity(3) * eye  # the identity and a tensor named I in one expression
    text = to_bracket(e)
    assert np.allclose(tnet.evaluate(tnet.parse(text, **leaves(e)), arrays), tnet.evaluate(e, arrays))
    # constants made from arrays are named by their values: one line, in backquotes
    e = A * np.ones((3, 4)) + np.arange(4.0)
    text = to_bracket(e)
    assert "\n" not in text and "`" in text
    back = tnet.parse(text, **leaves(e))
    assert np.allclose(tnet.evaluate(back, {"A": ARRAYS["A"]}), tnet.evaluate(e, {"A": ARRAYS["A"]}))
    # two different tensors with one name get distinct printed names
    x3, x4 = tnet.Variable("x", 3), tnet.Constant("x", np.ones(4))
    e = tnet.kron(x3, x4)
    names = leaves(e)
    assert sorted(names) == ["x", "x#2"]
    assert to_bracket(e) == "x `x#2`"


def test_named_sub_expressions():
    x = tnet.Variable("x", 4)
    s = tnet.softmax(x)
    g = tnet.simplify(tnet.grad(s, x))
    assert to_matrix(g, names={s: "s"}) == "diag(s) - s s^T"
    text = to_bracket(g, names={s: "s"})
    assert text == "[s I_1]I_2 - s s"  # the paper's s1^T ⊙ I - s s^T (sec. 4.3.5)
    assert to_latex(g, names={s: "s"}) == "[s I_{1}]I_{2} - s s"
    assert set(leaves(g, names={s: "s"})) == {"s"}
    xv = arr(4)
    sv = np.exp(xv) / np.exp(xv).sum()
    back = tnet.parse(text, s=sv)
    assert np.allclose(tnet.evaluate(back), np.diag(sv) - np.outer(sv, sv))


def test_complex_coefficients_and_scalars():
    e = (1 + 2j) * A - 0.1 * C
    text = to_bracket(e)
    assert "2j" in text
    back = tnet.parse(text, **leaves(e))
    assert np.allclose(tnet.evaluate(back, env_for(back, ARRAYS)), tnet.evaluate(e, env_for(e, ARRAYS)))
    s = tnet.Variable("s")
    assert_reads_back(3 * tnet.kron(s, a), {"s": np.array(2.0), **ARRAYS})
    assert to_bracket(combine([], [], [], 1.0)) == "1.0"
    assert tnet.evaluate(tnet.parse("1.0")) == 1.0


def test_terms_that_need_index_notation():
    """A term whose portions cannot be given back by the first-fit rule is written in index
    notation: X_1 X_2 X_2 X_1 with the second X read first would mean something else."""
    e = tnet.einsum("ij,kl->iljk", X, X)
    text, _ = assert_reads_back(e, ARRAYS)
    e = tnet.einsum("ij,kl->ilkj", X, X)
    assert_reads_back(e, ARRAYS)


# --- to_latex ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "e, latex",
    [
        (A @ B, r"A_{1}[\overline{A_{2}} B_{1}]B_{2}"),
        (tnet.sum(A), r"\overline{A}"),
        (0.5 * A - C, r"\frac{1}{2} A - C"),
        (tnet.tanh(A), r"\tanh(A)"),
        (tnet.softmax(A), r"\operatorname{softmax}^{1}(A)"),
        (tnet.inv(X), r"X^{-1}"),
        (tnet.trace(X), r"[\overline{X_{1}} X_{2}]"),
        (A + b, r"A + \mathbf{1} b"),
    ],
)
def test_to_latex_strings(e, latex):
    assert to_latex(e) == latex
    assert e.to_latex() == latex


def test_to_latex_balanced_for_a_gradient():
    W = tnet.Variable("W", 4, 3)
    loss = tnet.sum(tnet.tanh(A @ W) ** 2)
    text = to_latex(tnet.grad(loss, W))
    assert text.count("{") == text.count("}") and text.count("(") == text.count(")")


# --- to_matrix: the paper's sec. 5 results ------------------------------------------------------------
def test_sec_4_3_5_softmax_gradient():
    x = tnet.Variable("x", 4)
    s = tnet.softmax(x)
    g = tnet.simplify(tnet.grad(s, x))
    assert to_matrix(g) == "diag(softmax(x)) - softmax(x) softmax(x)^T"
    assert to_matrix(g, names={s: "s"}) == "diag(s) - s s^T"
    xv = arr(4)
    got = eval_matrix(to_matrix(g), x=xv)
    assert np.allclose(got, tnet.evaluate(g, {"x": xv}))
    sv = np.exp(xv) / np.exp(xv).sum()
    assert np.allclose(eval_matrix("diag(s) - s s^T", s=sv), got)


def test_eval_matrix_errors_are_parse_errors():
    with pytest.raises(tnet.ParseError):
        eval_matrix("A B +", A=np.eye(2), B=np.eye(2))
    with pytest.raises(tnet.ParseError):
        eval_matrix("Q", A=np.eye(2))


# --- hypothesis round trips -----------------------------------------------------------------------------
POOL = {"A": (2, 3), "B": (3, 3), "c": (3,), "d": (2,), "E": (3, 2, 3), "s": ()}
VARS = {name: tnet.Variable(name, *shape) for name, shape in POOL.items()}
VALUES = {name: rng.normal(size=shape) for name, shape in POOL.items()}


@st.composite
def networks(draw, depth=0):
    """A random product term: tensors (repeated ones too), 1 and I, functions and nested
    products as nodes, legs on shared edges (fused, traces), a random output order."""
    sizes: list[int] = []
    operands, labels = [], []
    kinds = ["var"] * 6 + ["ones", "delta", "function"] + (["nested"] if depth < 1 else [])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(kinds))
        if kind == "var":
            node = VARS[draw(st.sampled_from(sorted(POOL)))]
        elif kind == "ones":
            node = tnet.Ones(*draw(st.lists(st.sampled_from([2, 3]), min_size=1, max_size=2)))
        elif kind == "delta":
            node = tnet.Delta(draw(st.sampled_from([2, 3])), draw(st.sampled_from([2, 2, 3])))
        elif kind == "function":
            name = draw(st.sampled_from(["A", "B", "c", "E"]))
            fn = draw(st.sampled_from(["tanh", "softmax", "exp"]))
            node = (
                tnet.tanh(VARS[name])
                if fn == "tanh"
                else tnet.exp(VARS[name])
                if fn == "exp"
                else tnet.softmax(VARS[name])
            )
        else:
            node = draw(networks(depth=depth + 1))
        legs = []
        for size in node.shape:
            same = [e for e, s in enumerate(sizes) if s == size]
            if same and draw(st.booleans()):
                legs.append(draw(st.sampled_from(same)))
            else:
                sizes.append(size)
                legs.append(len(sizes) - 1)
        operands.append(node)
        labels.append(legs)
    used = sorted({e for legs in labels for e in legs})
    order = draw(st.permutations(used))
    output = order[: draw(st.integers(0, min(len(order), 4)))]
    coef = draw(st.sampled_from([1.0, 1.0, -1.0, 2.0, 0.5]))
    return combine(operands, labels, output, coef, inline=False)


@st.composite
def expressions(draw):
    e = draw(networks())
    if draw(st.booleans()):
        e = e - 0.5 * tnet.tanh(e)
    return e


@given(expressions())
def test_round_trip_parse_to_bracket(e):
    """parse(e.to_bracket()) evaluates to the same values as e, for random networks."""
    want = tnet.evaluate(e, env_for(e, VALUES))
    text = e.to_bracket()
    back = tnet.parse(text, **leaves(e))
    got = tnet.evaluate(back, env_for(back, VALUES))
    assert got.shape == want.shape, text
    assert np.allclose(got, want), text


@given(expressions())
def test_round_trip_to_matrix(e):
    """to_matrix prints what eval_matrix evaluates to e's values (matrix form or einsum)."""
    want = tnet.evaluate(e, env_for(e, VALUES))
    formula = e.to_matrix()
    got = eval_matrix(formula, **env_for(e, VALUES))
    assert np.shape(got) == want.shape, formula
    assert np.allclose(got, want), formula


@given(expressions())
def test_to_latex_is_balanced(e):
    text = e.to_latex()
    assert text.count("{") == text.count("}"), text
    assert "\\left(" not in text or text.count("\\left(") == text.count("\\right)")


@given(networks())
def test_round_trip_after_simplify(e):
    s = tnet.simplify(e)
    back = tnet.parse(s.to_bracket(), **leaves(s))
    assert np.allclose(tnet.evaluate(back, env_for(back, VALUES)), tnet.evaluate(e, env_for(e, VALUES)))


# --- parse_matrix: matrix notation in ---------------------------------------------------------------
def assert_parses_back(e, formula, arrays, names=None):
    """parse_matrix(formula) builds an expression with e's values, which prints as formula."""
    bound = leaves(e, names)
    back = parse_matrix(formula, **bound)
    assert isinstance(back, tnet.Expr)
    want = tnet.evaluate(e, env_for(e, arrays))
    got = tnet.evaluate(back, env_for(back, arrays))
    assert got.shape == want.shape, formula
    assert np.allclose(got, want), formula
    assert to_matrix(back, names=names) == formula
    return back


def test_parse_matrix_reads_the_sec_5_results():
    x = tnet.Variable("x", 3)
    Am, Bm, bv = tnet.Variable("A", 3, 3), tnet.Variable("B", 3, 3), tnet.Variable("b", 3)
    arrays = {"a": arr(3), "b": arr(3), "x": arr(3), "A": arr(3, 3), "B": arr(3, 3), "X": ARRAYS["X"]}
    cases = [
        (tnet.grad(a @ x, x), "a"),
        (tnet.grad(x @ Am @ x, x), "A x + A^T x"),
        (tnet.grad(a @ X @ bv, X), "a b^T"),
        (tnet.grad(a @ X @ X.T @ a, X), "2 a a^T X"),
        (tnet.grad(tnet.trace(Am @ tnet.inv(X) @ Bm), X), "-(X^-T A^T B^T X^-T)"),
    ]
    for g, formula in cases:
        assert to_matrix(g) == formula
        assert g.to_matrix() == formula
        assert_parses_back(g, formula, arrays)
        got = eval_matrix(formula, **env_for(g, arrays))  # parse-then-evaluate in one call
        assert np.allclose(got, tnet.evaluate(g, env_for(g, arrays))), formula


def test_parse_matrix_reads_the_sec_4_and_6_results():
    xs = tnet.Variable("x", 4)
    s = tnet.softmax(xs)
    g = tnet.simplify(tnet.grad(s, xs))
    assert_parses_back(g, "diag(s) - s s^T", {"x": arr(4)}, names={s: "s"})
    assert_parses_back(g, "diag(softmax(x)) - softmax(x) softmax(x)^T", {"x": arr(4)})
    N, d, m = 5, 3, 4
    Xs, Z, Cm = tnet.Variable("X", N, d), tnet.Variable("Z", N, m), tnet.Variable("C", N, m)
    arrays = {"X": arr(N, d), "Z": arr(N, m), "C": arr(N, m)}
    assert_parses_back(tnet.parse("X_2[Z C (~X_1 1)]", X=Xs, Z=Z, C=Cm), "X^T (Z ⊙ C)", arrays)
    assert_parses_back(tnet.parse("[Z C (~1 1)]", Z=Z, C=Cm), "(Z ⊙ C)^T 1", arrays)
    G, Bm, W = tnet.Variable("G", N, m), tnet.Variable("B", N, m), tnet.Variable("W", m, m)
    e48 = tnet.parse("[G_1 B_1][B_2 W_1][~G_2 W_2]", G=G, B=Bm, W=W)
    assert_parses_back(e48, "B ⊙ (G W^T)", {"G": arr(N, m), "B": arr(N, m), "W": arr(m, m)})
    # the single-layer network's gradients, as to_matrix prints them
    Wv, bv, Y = tnet.Variable("W", d, m), tnet.Variable("b", m), tnet.Variable("Y", N, m)
    J = 0.5 * tnet.sum((tnet.tanh(Xs @ Wv + bv) - Y) ** 2)
    arrays = {"X": arr(N, d), "W": arr(d, m), "b": arr(m), "Y": arr(N, m)}
    for g in tnet.grad(J, [Wv, bv]):
        formula = to_matrix(g)
        assert formula.startswith("0.5 X^T (") or formula.endswith("^T 1")
        back = parse_matrix(formula, **leaves(g))
        assert np.allclose(tnet.evaluate(back, arrays), tnet.evaluate(g, arrays)), formula


@pytest.mark.parametrize(
    "e, formula",
    [
        (A @ B, "A B"),
        (A.T, "A^T"),
        (tnet.trace(X @ X), "tr(X X)"),
        (tnet.trace(X), "tr(X)"),
        (tnet.diag(a), "diag(a)"),
        (tnet.diag(X), "diag(X)"),
        (tnet.det(X) * tnet.inv(X).T, "det(X) X^-T"),
        (A * C, "A ⊙ C"),
        (tnet.tanh(A) * C, "tanh(A) ⊙ C"),
        (a @ a, "a^T a"),
        (tnet.sum(A), "1^T A 1"),
        (tnet.sum(A, 0), "A^T 1"),
        (A**2, "A^⊙2"),
        (A + b, "A + 1{3} b^T"),
        (tnet.identity(3), "I{3}"),
        (tnet.ones(3), "1{3}"),
        (tnet.softmax(A), "softmax^1(A)"),
        (tnet.kron(A, a), 'einsum("ab,c->abc", A, a)'),
        ((1 + 2j) * A - 0.1 * C, "(1+2j) A - 0.1 C"),
        (tnet.zeros(3, 4), "0 1{3} 1{4}^T"),
    ],
)
def test_parse_matrix_reads_every_form_to_matrix_prints(e, formula):
    assert to_matrix(e) == formula
    assert_parses_back(e, formula, ARRAYS)


def test_parse_matrix_builds_expressions_that_differentiate():
    """The paper's sec. 5 derivations, starting from the formula text."""
    x, av, bv = tnet.Variable("x", 3), tnet.Variable("a", 3), tnet.Variable("b", 3)
    Xm, Am, Bm = (tnet.Variable(n, 3, 3) for n in "XAB")
    assert tnet.grad(parse_matrix("a^T x", a=av, x=x), x).to_matrix() == "a"
    assert tnet.grad(parse_matrix("x^T A x", x=x, A=Am), x).to_matrix() == "A x + A^T x"
    assert tnet.grad(parse_matrix("x' A x", x=x, A=Am), x).to_matrix() == "A x + A^T x"  # ' transposes
    assert tnet.grad(parse_matrix("a^T X b", a=av, X=Xm, b=bv), Xm).to_matrix() == "a b^T"
    assert tnet.grad(parse_matrix("a^T X X^T a", a=av, X=Xm), Xm).to_matrix() == "2 a a^T X"
    assert tnet.grad(parse_matrix("tr(A X^-1 B)", A=Am, X=Xm, B=Bm), Xm).to_matrix() == "-(X^-T A^T B^T X^-T)"


def test_parse_matrix_operators():
    arrays = {"A": arr(3, 4), "C": arr(3, 4), "a": arr(3), "c": arr(3)}
    Av, Cv, av = arrays["A"], arrays["C"], arrays["a"]
    cases = {
        "A ⊘ C": Av / Cv,
        "A * C": Av * Cv,
        "-A + 2 C": -Av + 2 * Cv,
        "- -A": Av,
        "A^⊙-1": 1 / Av,
        "pow{0.5}(A ⊙ A)": np.abs(Av),
        "a^T ⊙ c^T": av * arrays["c"],  # two row vectors: a row vector (a vector)
        "(a^T A)^T": Av.T @ av,
        "a'": av,
        "A I": Av,
        "1^T a": av.sum(),
        "A 1 + 2": Av.sum(axis=1) + 2,
        "`A` ⊙ C": Av * Cv,
        "tanh^21(A)": np.tanh(Av).T,
        "softmax^{1}(A)": np.exp(Av) / np.exp(Av).sum(axis=1, keepdims=True),
        "1.0": 1.0,
        "0.5": 0.5,
    }
    for text, want in cases.items():
        got = eval_matrix(text, **arrays)
        assert np.shape(got) == np.shape(want), text
        assert np.allclose(got, want), text
    delta3 = eval_matrix("I{3,3}")
    assert delta3.shape == (3, 3, 3) and delta3.sum() == 3 and delta3[1, 1, 1] == 1
    # size names: the printed 1{n} of a symbolic size reads back
    Xn = tnet.Variable("X", "n", 3)
    e = parse_matrix("X^T 1{n}", X=Xn)
    assert e.shape == (3,)
    assert np.allclose(tnet.evaluate(e, {"X": np.ones((4, 3))}), [4.0, 4.0, 4.0])


@pytest.mark.parametrize(
    "text, position, message",
    [
        ("a a^T +", 7, "expected a matrix, a vector or a number"),
        ("A ⊙ ", 4, "expected a matrix, a vector or a number"),
        ("Q", 0, "unknown tensor name 'Q'"),
        ("A Q", 2, "unknown tensor name 'Q'"),
        ("A^Q", 1, "expected T, -1, -T or ⊙p after '^'"),
        ("(A", 2, "expected ')'"),
        ("a^T a^T", 4, "cannot multiply two row vectors"),
        ("A A", 2, "size mismatch"),  # (3, 4) times (3, 4)
        ("A + a", 2, "do not broadcast"),
        ("a A", 2, "cannot multiply a tensor with 1 axes on the left"),
        ("I", 0, "cannot infer the size of a bare 1 or I"),
        ("1^T", 0, "cannot infer the size"),
        ("a I", 2, "cannot infer the size of this I"),
        ("foo(A)", 0, "unknown function 'foo'"),
        ("tanh A", 0, "unknown tensor name 'tanh'"),  # a function needs its parentheses
        ("1{x y}", 2, "expected a size"),
        ("pow{x}(A)", 4, "expected a number exponent in pow{p}"),
        ("softmax^0(A)", 8, "positions start at 1"),
        ('einsum("ij,jk->ik", A)', 8, "the spec names 2 operands but 1 were given"),
        ('einsum("ij->kk", A)', 12, "output index 'k' is in no operand"),
        ('einsum("ij", A', 14, "expected ',' or ')'"),
        ("`A", 0, "a backquoted name is never closed"),
        ("A^-1", 0, "inv needs square matrices"),
        ("A ⊘ 0", 2, "division"),
        ("A )", 2, "unexpected ')'"),
    ],
)
def test_parse_matrix_errors_name_the_position(text, position, message):
    arrays = {"A": ARRAYS["A"], "a": ARRAYS["a"]}
    with pytest.raises(tnet.ParseError) as info:
        parse_matrix(text, **arrays)
    assert info.value.position == position, str(info.value)
    assert message in str(info.value)


MATRIX_TOKENS = [
    *"AaBxI1+-*⊙⊘(),'^_`{}\" ",
    *["2", "0.5", "1e3", "(1+2j)", "^T", "^-1", "^-T", "^⊙2", "^⊙-0.5", "`A`", "{3}", "{n}", "{3,3}", "1.0"],
    *["tr(", "diag(", "det(", "tanh(", "softmax^1(", "softmax^{}(", "pow{2}(", 'einsum("', "ij", "->", "..."],
]


@given(st.one_of(st.text(max_size=12), st.lists(st.sampled_from(MATRIX_TOKENS), max_size=12).map("".join)))
def test_parse_matrix_raises_only_parse_errors(text):
    """Any text: an expression or a ParseError that points into the text, nothing else."""
    try:
        parse_matrix(text, A=ARRAYS["A"], a=ARRAYS["a"], B=ARRAYS["B"])
    except tnet.ParseError as err:
        assert err.position is None or 0 <= err.position <= len(text)


@given(expressions())
def test_round_trip_parse_matrix(e):
    """to_matrix, then parse_matrix, then evaluate: e's values (where to_matrix has a matrix form)."""
    formula = e.to_matrix()
    assume("einsum(" not in formula)
    back = parse_matrix(formula, **leaves(e))
    want = tnet.evaluate(e, env_for(e, VALUES))
    got = tnet.evaluate(back, env_for(back, VALUES))
    assert got.shape == want.shape, formula
    assert np.allclose(got, want), formula
