"""Bad input gets a clear error that names the problem, never a bare KeyError/IndexError."""

from __future__ import annotations

import numpy as np
import pytest

import tnet


def test_mismatched_sizes_on_one_edge_names_both_tensors_and_sizes():
    A, B = tnet.Variable("A", 2, 3), tnet.Variable("B", 4, 5)
    with pytest.raises(tnet.ShapeError) as info:
        A @ B
    msg = str(info.value)
    assert "A" in msg and "B" in msg and "3" in msg and "4" in msg
    with pytest.raises(tnet.ShapeError, match="3 vs 4"):
        tnet.einsum("ij,jk->ik", A, B)
    with pytest.raises(tnet.ShapeError, match=r"\(2, 3\).*\(4, 5\)"):
        A + B


def test_mismatch_found_only_at_binding_time():
    A, B = tnet.Variable("A", "n", "k"), tnet.Variable("B", 3, 2)
    e = A @ B  # the size name k meets 3: fine until an array says otherwise
    with pytest.raises(tnet.ShapeError) as info:
        tnet.evaluate(e, {"A": np.ones((2, 4)), "B": np.ones((3, 2))})
    assert "A" in str(info.value) and "B" in str(info.value)
    assert "3" in str(info.value) and "4" in str(info.value)
    # two different size names on one edge are a mistake caught at once
    with pytest.raises(tnet.ShapeError, match="k vs m"):
        A @ tnet.Variable("C", "m", 2)


def test_axis_out_of_range():
    A = tnet.Variable("A", 2, 3)
    with pytest.raises(tnet.AxisError, match="out of range"):
        tnet.sum(A, axis=2)
    with pytest.raises(tnet.AxisError, match="out of range"):
        tnet.odot(A, A, [0, 5], [0, 1])
    with pytest.raises(tnet.AxisError, match="out of range"):
        tnet.softmax(A, axis=-3)
    with pytest.raises(tnet.AxisError, match="out of range"):
        tnet.apply("softmax", A, [3])


def test_non_permutation():
    A = tnet.Variable("A", 2, 3, 4)
    for bad in ([0, 0, 1], [0, 1], [0, 1, 3], [2, 1, 0, 3]):
        with pytest.raises(tnet.AxisError, match="not a permutation"):
            tnet.permute(A, bad)
    with pytest.raises(tnet.AxisError, match="not a permutation"):
        A.transpose(1, 0)


def test_summed_not_a_subset_of_P():
    A, B = tnet.Variable("A", 2, 3), tnet.Variable("B", 3, 2)
    with pytest.raises(tnet.AxisError, match="not a subset of P"):
        tnet.odot(A, B, [1], [0], summed=[0])
    with pytest.raises(tnet.AxisError, match="same length"):
        tnet.odot(A, B, [0, 1], [0])


def test_missing_and_unknown_bindings():
    X = tnet.Variable("X", 2, 2)
    y = tnet.Variable("y", 2)
    e = X @ y
    with pytest.raises(tnet.BindingError, match="missing binding for variable 'y'"):
        tnet.evaluate(e, {"X": np.eye(2)})
    with pytest.raises(tnet.BindingError, match="unknown variable 'nosuchvariable'"):
        tnet.evaluate(e, {"X": np.eye(2), "y": np.ones(2), "nosuchvariable": 1.0})
    with pytest.raises(tnet.BindingError, match="Variable or its name"):
        tnet.evaluate(e, {3: np.eye(2)})


def test_array_that_does_not_fit_its_variable():
    X = tnet.Variable("X", 2, 3)
    with pytest.raises(tnet.BindingError, match=r"shape \(3, 2\).*axis 0.*size 2"):
        tnet.evaluate(tnet.exp(X), {"X": np.ones((3, 2))})
    with pytest.raises(tnet.BindingError, match="3 axes"):
        tnet.evaluate(tnet.exp(X), {"X": np.ones((2, 3, 1))})
    Y = tnet.Variable("Y", "n", "n")
    with pytest.raises(tnet.BindingError, match="size 'n'"):
        tnet.evaluate(tnet.exp(Y), {"Y": np.ones((2, 3))})


def test_bad_construction_arguments():
    with pytest.raises(tnet.ShapeError):
        tnet.Variable("X", -1)
    with pytest.raises(tnet.ShapeError):
        tnet.Variable("X", 2.5)
    with pytest.raises(TypeError):
        tnet.Variable("", 2)
    with pytest.raises(TypeError, match="expected a tnet expression"):
        tnet.Variable("X", 2) @ "abc"
    with pytest.raises(tnet.ShapeError, match="square"):
        tnet.inv(tnet.Variable("R", 2, 3))
    with pytest.raises(tnet.ShapeError, match="at least 2 axes"):
        tnet.det(tnet.Variable("v", 3))
    with pytest.raises(tnet.ParseError, match="position"):
        tnet.einsum("ij,j?->i", tnet.Variable("A", 2, 2), tnet.Variable("b", 2, 2))
    with pytest.raises(tnet.ParseError, match="2 operands"):
        tnet.einsum("ij,jk->ik", tnet.Variable("A", 2, 2))
    with pytest.raises(tnet.DifferentiationError, match="unknown function 'nofn'"):
        tnet.apply("nofn", tnet.Variable("A", 2, 2))


def test_errors_are_tnet_errors():
    for cls in (tnet.ShapeError, tnet.AxisError, tnet.BindingError, tnet.ParseError, tnet.DifferentiationError):
        assert issubclass(cls, tnet.TnetError)
