"""Bad input to the calculus gets a clear error.

- differentiating with respect to something that is not a Variable (a product, a Constant, a
  Differential, an identity, an array, a name) raises DifferentiationError saying a Variable
  is needed, from grad, jacobian, hessian and differential alike;
- a function without a derivative rule raises DifferentiationError naming the function, but
  only when something actually has to be differentiated through it;
- a "differential" that is not linear in dX cannot have a gradient read off it.
"""

from __future__ import annotations

import numpy as np
import pytest

import tnet

X = tnet.Variable("X", 3, 3)
Yv = tnet.Variable("Y", 3, 3)
f = tnet.sum(tnet.tanh(X @ X))

# a function with a value but no derivative rule
NODERIV = tnet.Function("noderiv", np.cos)

NOT_VARIABLES = {
    "product": X @ X,
    "transpose": X.T,
    "constant": tnet.Constant("K", np.eye(3)),
    "differential": tnet.Differential(X),
    "identity": tnet.identity(3),
    "ones": tnet.ones(3, 3),
    "function": tnet.tanh(X),
    "array": np.eye(3),
    "name": "X",
    "number": 3.0,
    "none": None,
}

CALCULUS = {
    "grad": tnet.grad,
    "jacobian": tnet.jacobian,
    "hessian": tnet.hessian,
    "differential": tnet.differential,
}


def test_differentiation_error_is_a_tnet_error():
    assert issubclass(tnet.DifferentiationError, tnet.TnetError)


@pytest.mark.parametrize("what", sorted(NOT_VARIABLES))
@pytest.mark.parametrize("op", sorted(CALCULUS))
def test_with_respect_to_a_non_variable(op, what):
    with pytest.raises(tnet.DifferentiationError, match="Variable"):
        CALCULUS[op](f, NOT_VARIABLES[what])


def test_with_respect_to_a_product_names_what_it_got():
    with pytest.raises(tnet.DifferentiationError) as info:
        tnet.grad(f, X @ X)
    message = str(info.value)
    assert "Variable" in message and "Network" in message


@pytest.mark.parametrize("what", ["constant", "differential", "product"])
def test_a_non_variable_inside_a_list(what):
    with pytest.raises(tnet.DifferentiationError, match="Variable"):
        tnet.grad(f, [X, NOT_VARIABLES[what]])


def test_with_respect_to_a_constant_names_it():
    with pytest.raises(tnet.DifferentiationError, match="Constant"):
        tnet.grad(f, NOT_VARIABLES["constant"])


def test_with_respect_to_a_differential_names_it():
    with pytest.raises(tnet.DifferentiationError, match="Differential"):
        tnet.grad(tnet.sum(tnet.Differential(X) @ X), tnet.Differential(X))


def test_gradient_of_differential_needs_a_variable():
    df = tnet.differential(f, X)
    with pytest.raises(tnet.DifferentiationError, match="Variable"):
        tnet.gradient_of_differential(df, tnet.Differential(X))


def test_f_must_be_an_expression():
    with pytest.raises(TypeError):
        tnet.grad(np.eye(3), X)


@pytest.mark.parametrize("op", sorted(CALCULUS))
def test_function_without_derivative_rule_names_the_function(op):
    g = tnet.sum(tnet.apply("noderiv", X))
    assert np.isclose(tnet.evaluate(g, {"X": np.eye(3)}), np.sum(np.cos(np.eye(3))))  # it has a value
    with pytest.raises(tnet.DifferentiationError, match="noderiv"):
        CALCULUS[op](g, X)


def test_function_without_derivative_rule_deep_inside():
    g = tnet.trace(tnet.exp(tnet.apply("noderiv", X @ X.T) @ X) + X)
    with pytest.raises(tnet.DifferentiationError, match="'noderiv'"):
        tnet.grad(g, [Yv, X])


def test_function_without_derivative_rule_is_fine_where_x_does_not_reach_it():
    g = tnet.sum(tnet.apply("noderiv", Yv)) * tnet.trace(X)
    value = tnet.evaluate(tnet.grad(g, X), {"X": np.zeros((3, 3)), "Y": np.eye(3)})
    np.testing.assert_allclose(value, np.sum(np.cos(np.eye(3))) * np.eye(3))


def test_unknown_function_name():
    with pytest.raises(tnet.TnetError, match="no_such_function"):
        tnet.apply("no_such_function", X)


def test_gradient_of_a_non_linear_differential():
    """d X ⊗ dX holds dX twice per term: no gradient can be read off it."""
    dX = tnet.Differential(X)
    with pytest.raises(tnet.DifferentiationError, match="dX"):
        tnet.gradient_of_differential(tnet.kron(dX, dX), X)


def test_gradient_of_something_without_dX():
    with pytest.raises(tnet.DifferentiationError, match="dX"):
        tnet.gradient_of_differential(tnet.sum(X * X), X)


def test_non_variable_error_names_the_argument_given():
    """A parameter's name instead of the Variable: the message quotes what was passed ('W1'),
    not a piece of it."""
    with pytest.raises(tnet.DifferentiationError, match="'W1'"):
        tnet.grad(f, "W1")


def test_non_variable_error_for_an_array_describes_the_array():
    """An array passed as the variable: the message describes that array (its shape), not the
    first row it would give if it were read as a list of variables."""
    with pytest.raises(tnet.DifferentiationError, match=r"\(3, 3\)"):
        tnet.grad(f, np.eye(3))
