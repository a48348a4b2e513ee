"""Tests of tnet.contract: results against numpy.einsum, plan costs against numpy.einsum_path."""

from __future__ import annotations

import functools
import re
import time
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tnet.contract import ContractionError, Plan, Step, contract, execute, numpy_path_flops, plan_contraction

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def einsum_spec(inputs, output) -> str:
    """The numpy.einsum string of a network whose labels are arbitrary hashables."""
    letter: dict = {}
    for labels in (*inputs, output):
        for e in labels:
            letter.setdefault(e, LETTERS[len(letter)])
    lhs = ",".join("".join(letter[e] for e in labels) for labels in inputs)
    return lhs + "->" + "".join(letter[e] for e in output)


def parse_spec(spec: str):
    """ "ab,bc->ac" as (inputs, output) with one-letter string labels."""
    lhs, out = spec.split("->")
    inputs = [tuple(t) for t in lhs.split(",")] if lhs else []
    return inputs, tuple(out)


def make_arrays(inputs, sizes, rng, dtype=np.float64):
    arrays = []
    for labels in inputs:
        shape = [sizes[e] for e in labels]
        if np.issubdtype(dtype, np.integer):
            arrays.append(rng.integers(-3, 4, size=shape).astype(dtype))
        elif np.issubdtype(dtype, np.complexfloating):
            arrays.append((rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype(dtype))
    return arrays


def assert_matches_einsum(inputs, output, sizes, arrays) -> np.ndarray:
    got = contract(inputs, output, sizes, arrays)
    want = np.einsum(einsum_spec(inputs, output), *arrays, optimize=False)
    assert isinstance(got, np.ndarray)
    assert got.shape == np.shape(want)
    assert got.dtype == np.result_type(*arrays)
    if np.issubdtype(got.dtype, np.integer):
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    return got


def numpy_costs(inputs, output, sizes, memory_limit=None):
    """(exact optimal FLOPs, printed optimized FLOPs, printed naive FLOPs) from numpy."""
    spec = einsum_spec(inputs, output)
    arrays = [np.empty([sizes[e] for e in labels]) for labels in inputs]
    optimize = "optimal" if memory_limit is None else ("optimal", memory_limit)
    path, text = np.einsum_path(spec, *arrays, optimize=optimize)
    printed = float(re.search(r"Optimized FLOP count:\s*(\S+)", text).group(1))
    naive = float(re.search(r"Naive FLOP count:\s*(\S+)", text).group(1))
    return numpy_path_flops(inputs, output, sizes, path), printed, naive


def random_network(rng, n, pool, max_axes=4, size_range=(2, 8), out_prob=0.3):
    inputs = [tuple(int(x) for x in rng.integers(0, pool, size=rng.integers(0, max_axes + 1))) for _ in range(n)]
    present = sorted({e for labels in inputs for e in labels})
    output = [e for e in present if rng.random() < out_prob]
    rng.shuffle(output)
    sizes = {e: int(rng.integers(size_range[0], size_range[1] + 1)) for e in present}
    return inputs, tuple(output), sizes


# ----------------------------------------------------------------------------------------------
# random hypergraphs against numpy.einsum
# ----------------------------------------------------------------------------------------------


@st.composite
def networks(draw):
    """Random hypergraph networks: labels from a small pool, so they are shared by several
    operands (hyperedges) and repeat inside one (traces, diagonals)."""
    pool = draw(st.integers(1, 6))
    n = draw(st.integers(1, 7))
    inputs = [tuple(draw(st.lists(st.integers(0, pool - 1), max_size=4))) for _ in range(n)]
    present = sorted({e for labels in inputs for e in labels})
    order = draw(st.permutations(present))
    output = tuple(order[: draw(st.integers(0, len(order)))])
    sizes = {e: draw(st.integers(1, 4)) for e in present}
    return inputs, output, sizes


@settings(max_examples=200, deadline=None)
@given(
    net=networks(),
    dtype=st.sampled_from([np.float64, np.complex128, np.int64]),
    layout=st.sampled_from(["C", "F", "reversed"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_networks_match_einsum(net, dtype, layout, seed):
    inputs, output, sizes = net
    arrays = make_arrays(inputs, sizes, np.random.default_rng(seed), dtype)
    if layout == "F":
        arrays = [np.asfortranarray(a) if a.ndim else a for a in arrays]
    elif layout == "reversed":  # negative strides on every axis
        arrays = [a[tuple(slice(None, None, -1) for _ in range(a.ndim))] for a in arrays]
    assert_matches_einsum(inputs, output, sizes, arrays)
    plan = plan_contraction(inputs, output, sizes)
    assert plan.flops == sum(step.flops for step in plan.steps)
    assert plan.largest == max((step.size for step in plan.steps), default=0)


# ----------------------------------------------------------------------------------------------
# explicit cases
# ----------------------------------------------------------------------------------------------

CHAIN_9 = ",".join(LETTERS[i] + LETTERS[i + 1] for i in range(9)) + "->" + LETTERS[0] + LETTERS[9]
CHAIN_12 = ",".join(LETTERS[i] + LETTERS[i + 1] for i in range(12)) + "->" + LETTERS[0] + LETTERS[12]

CASES = [
    "ii->",
    "ii->i",
    "iij->ji",
    "ij->ji",
    "ij->",
    "ij,jk->ik",
    "ij,jk->ki",
    "ij,ij->ij",
    "ij,ij->",
    "ij,ji->i",
    "i,j->ij",
    "i,j->ji",
    "ijk,jl,jm->klm",
    "ijk,jl,jm->",
    "ijk,jl,jm->jklm",
    ",->",
    "i,->i",
    ",,->",
    "i->i",
    "i->",
    "ij,j->",
    "ab,bc,cd->ad",
    "i,ij,kj,k->",
    "na,ab,nb,bc,nc->nc",
    "ab,cd->ad",
    "ab,bc,de,ef->af",
    "ab,,cd->",
    "a,b,c->abc",
    "ab,ab,cd->",
    "ia,ib,ic,abc->i",
    "aab,bcc,ca->",
    CHAIN_9,
    CHAIN_12,
    "ab,bc,cd,de,ef,fg,gh,hi,ij,ja->",
]


@pytest.mark.parametrize("spec", CASES)
@pytest.mark.parametrize("size", [1, 3])
def test_explicit_cases(spec, size):
    inputs, output = parse_spec(spec)
    labels = sorted({e for t in inputs for e in t})
    sizes = {e: size + k % 2 for k, e in enumerate(labels)}
    arrays = make_arrays(inputs, sizes, np.random.default_rng(len(spec)))
    assert_matches_einsum(inputs, output, sizes, arrays)


def test_size_one_and_size_zero_axes():
    inputs, output = parse_spec("ab,bc,cd->ad")
    for sizes in ({"a": 1, "b": 1, "c": 1, "d": 1}, {"a": 2, "b": 1, "c": 3, "d": 1}, {"a": 2, "b": 0, "c": 3, "d": 2}):
        arrays = make_arrays(inputs, sizes, np.random.default_rng(0))
        assert_matches_einsum(inputs, output, sizes, arrays)


def test_empty_network_is_one():
    result = contract([], (), {}, [])
    assert isinstance(result, np.ndarray)
    assert result.shape == ()
    assert result == 1.0
    plan = plan_contraction([], (), {})
    assert plan.steps == () and plan.flops == 0
    assert execute(plan, []) == 1.0


def test_scalars():
    got = contract([(), ()], (), {}, [np.array(2.0), np.array(3.5)])
    assert got.shape == () and got == 7.0
    got = contract([(), ("i",)], ("i",), {"i": 3}, [np.array(2), np.arange(3)])
    np.testing.assert_array_equal(got, [0, 2, 4])
    assert got.dtype == np.result_type(np.array(2), np.arange(3))


def test_empty_output_gives_0d_array():
    a = np.arange(6.0).reshape(2, 3)
    got = contract([("i", "j"), ("i", "j")], (), {"i": 2, "j": 3}, [a, a])
    assert isinstance(got, np.ndarray) and got.shape == ()
    assert got == (a * a).sum()


def test_mixed_hashable_labels_and_dtypes():
    inputs = [(0, "x"), ("x", 2.5), (2.5, (1, 2))]
    sizes = {0: 2, "x": 3, 2.5: 4, (1, 2): 5}
    rng = np.random.default_rng(1)
    arrays = [
        rng.standard_normal((2, 3)).astype(np.float32),
        rng.integers(0, 5, (3, 4)),
        rng.standard_normal((4, 5)),
    ]
    got = assert_matches_einsum(inputs, ((1, 2), 0), sizes, arrays)
    assert got.dtype == np.float64


def test_list_inputs_are_accepted():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    got = contract([[0, 1], [1, 2]], [0, 2], {0: 2, 1: 3, 2: 4}, [a.tolist(), b])
    np.testing.assert_allclose(got, a @ b)


def test_plan_cache_is_used():
    from tnet import contract as module

    inputs, output, sizes = [(0, 1), (1, 2)], (0, 2), {0: 2, 1: 3, 2: 4}
    arrays = [np.ones((2, 3)), np.ones((3, 4))]
    contract(inputs, output, sizes, arrays)
    before = module._cached_plan.cache_info()
    contract(inputs, output, sizes, arrays)
    after = module._cached_plan.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses


def test_single_operand_steps_come_first_and_hyperedges_stay_open():
    # j joins three operands and is summed only when the last of them is merged.
    inputs, output = parse_spec("ijk,jl,jm,mm->klm")
    sizes = dict(i=2, j=3, k=4, l=5, m=6)
    plan = plan_contraction(inputs, output, sizes)
    holders = 3
    for step in plan.steps:
        if len(step.operands) == 1:
            continue
        merged = sum("j" in edges for edges in step.operand_edges)
        if "j" in step.summed:
            assert holders == merged
        holders -= merged - ("j" in step.edges)
    summed = [e for step in plan.steps for e in step.summed]
    assert sorted(summed) == ["i", "j"]


# ----------------------------------------------------------------------------------------------
# plan costs against numpy.einsum_path
# ----------------------------------------------------------------------------------------------


def test_flop_convention_matches_numpy_on_simple_cases():
    # A matrix chain: 2x per summing step; numpy prints sum + 1.
    inputs, output = parse_spec("ab,bc,cd->ad")
    sizes = dict(a=2, b=30, c=40, d=5)
    plan = plan_contraction(inputs, output, sizes)
    exact, printed, naive = numpy_costs(inputs, output, sizes)
    assert plan.flops == exact == 2 * 2 * 30 * 40 + 2 * 2 * 40 * 5
    assert printed == pytest.approx(exact + 1, rel=1e-3)
    assert plan.naive_flops == pytest.approx(naive, rel=1e-3)
    # A pure Hadamard step costs 1x, an outer product 1x.
    assert plan_contraction([("i",), ("i",)], ("i",), {"i": 7}).flops == 7
    assert plan_contraction([("i",), ("j",)], ("i", "j"), {"i": 7, "j": 3}).flops == 21
    # A single-operand sum costs 2x the operand's size (numpy: one term, max(1, 0) + 1).
    assert plan_contraction([("i", "j")], (), {"i": 7, "j": 3}).flops == 42
    # Diagonals and transpositions are views: 0 FLOPs (numpy counts the size once).
    assert plan_contraction([("i", "i")], ("i",), {"i": 7}).flops == 0
    # The private edge i of "ij,j->" is summed inside the pairwise step when that is cheaper
    # under numpy's convention (2ij) than in a step of its own (2ij + 2j).
    plan = plan_contraction([("i", "j"), ("j",)], (), {"i": 5, "j": 6})
    assert plan.flops == 60 == numpy_costs([("i", "j"), ("j",)], (), {"i": 5, "j": 6})[0]
    assert len(plan.steps) == 1


def _no_private_edges(inputs, output):
    counts = Counter(e for labels in inputs for e in set(labels))
    return all(len(set(t)) == len(t) for t in inputs) and all(c > 1 or e in output for e, c in counts.items())


@pytest.mark.parametrize("seed", range(40))
def test_flops_never_exceed_numpy_optimal(seed):
    # numpy's "optimal" keeps every intermediate within the largest input/output (its default
    # memory limit) and cannot sum an operand's private edges before a pairwise step, so tnet
    # may plan fewer FLOPs; it must never plan more.
    rng = np.random.default_rng(seed)
    n = 3 + seed % 4 if seed < 36 else 7
    inputs, output, sizes = random_network(rng, n, pool=8)
    plan = plan_contraction(inputs, output, sizes)
    exact, printed, naive = numpy_costs(inputs, output, sizes)
    assert printed == pytest.approx(exact + 1, rel=1e-3)
    assert plan.naive_flops == pytest.approx(naive, rel=1e-3)
    assert plan.flops <= exact


@pytest.mark.parametrize("seed", range(40))
def test_flops_equal_numpy_optimal_without_private_edges(seed):
    # With no private edges and no repeated labels both optimise the same thing: numpy with no
    # memory limit must find exactly tnet's optimum.  (numpy does a single multi-operand step
    # for two operands, or when every index is in the output; those are skipped here.)
    rng = np.random.default_rng(1000 + seed)
    n = 3 + seed % 4
    while True:
        inputs, output, sizes = random_network(rng, n, pool=6, max_axes=3, out_prob=0.2)
        inputs = [tuple(dict.fromkeys(t)) for t in inputs]
        present = {e for t in inputs for e in t}
        if _no_private_edges(inputs, output) and present != set(output):
            break
    plan = plan_contraction(inputs, output, sizes)
    exact, _, _ = numpy_costs(inputs, output, sizes, memory_limit=10**18)
    assert plan.flops == exact


@pytest.mark.parametrize(
    "spec",
    [
        "ab,bc,cd,de,ef,fg,gh,hi->ai",  # open chain
        "ab,bc,cd,de,ef,fg,gh,ha->",  # ring
        "ab,bc,cd,de,ef,fg,gh,hb->a",  # lollipop
        "ae,bef,cfg,dg,ah,bhi,cij,dj->",  # 2 x 4 grid
        "ab,bc,cd,de,ef,fg,gh,hi->",  # private end edges
    ],
)
def test_eight_operands_match_numpy_optimal(spec):
    inputs, output = parse_spec(spec)
    labels = sorted({e for t in inputs for e in t})
    sizes = {e: 2 + (3 * k) % 7 for k, e in enumerate(labels)}
    plan = plan_contraction(inputs, output, sizes)
    exact, _, _ = numpy_costs(inputs, output, sizes)
    if _no_private_edges(inputs, output):
        assert plan.flops == exact
    else:  # the open chain's end edges are summed on their own first: cheaper than numpy
        assert plan.flops < exact


@pytest.mark.parametrize("spec", [CHAIN_9, CHAIN_12, "ab,bc,cd,de,ef,fg,gh,hi,ij,ja->"])
def test_greedy_finds_chain_optimum(spec):
    inputs, output = parse_spec(spec)
    labels = sorted({e for t in inputs for e in t})
    sizes = {e: (5, 40, 12)[k % 3] for k, e in enumerate(labels)}
    greedy = plan_contraction(inputs, output, sizes)
    optimal = plan_contraction(inputs, output, sizes, exhaustive_limit=12)
    assert greedy.flops == optimal.flops


def test_greedy_is_close_to_optimal_on_random_networks():
    rng = np.random.default_rng(7)
    ratios = []
    for _ in range(15):
        inputs, output, sizes = random_network(rng, 9, pool=12, max_axes=3)
        greedy = plan_contraction(inputs, output, sizes)
        optimal = plan_contraction(inputs, output, sizes, exhaustive_limit=9)
        assert greedy.flops >= optimal.flops
        ratios.append(greedy.flops / optimal.flops)
        arrays = make_arrays(inputs, sizes, rng)
        got = execute(greedy, arrays)
        np.testing.assert_allclose(got, execute(optimal, arrays), rtol=1e-9, atol=1e-9)
    assert np.median(ratios) < 1.05


def _best_time(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def test_planning_is_fast():
    # Targets: 8 operands (exhaustive) well under 50 ms, 10 (greedy) well under 5 ms.  The bounds
    # here are loose so a busy machine does not fail the test.
    rng = np.random.default_rng(3)
    for n, bound in ((8, 0.25), (10, 0.05)):
        inputs, output, sizes = random_network(rng, n, pool=n + 2)
        assert _best_time(functools.partial(plan_contraction, inputs, output, sizes)) < bound


# ----------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------


def test_error_output_edge_listed_twice():
    with pytest.raises(ContractionError, match=r"output edge 'i' is listed twice"):
        plan_contraction([("i", "j")], ("i", "i"), {"i": 2, "j": 3})


def test_error_output_edge_of_no_operand():
    with pytest.raises(ContractionError, match=r"output edge 'k' is not an edge of any operand"):
        contract([("i", "j")], ("k",), {"i": 2, "j": 3, "k": 4}, [np.ones((2, 3))])


def test_error_missing_size():
    with pytest.raises(ContractionError, match=r"operand 1 axis 0: edge 'q' has no size"):
        plan_contraction([("i",), ("q",)], (), {"i": 2})


def test_error_wrong_number_of_arrays():
    plan = plan_contraction([("i", "j"), ("j",)], ("i",), {"i": 2, "j": 3})
    with pytest.raises(ContractionError, match=r"expected 2 arrays .*got 1"):
        execute(plan, [np.ones((2, 3))])
    with pytest.raises(ContractionError, match=r"expected 2 arrays .*got 3"):
        contract([("i", "j"), ("j",)], ("i",), {"i": 2, "j": 3}, [np.ones((2, 3)), np.ones(3), np.ones(3)])


def test_error_wrong_ndim():
    with pytest.raises(ContractionError, match=r"operand 1: the array has 2 axes .* 1 edge labels"):
        contract([("i", "j"), ("j",)], ("i",), {"i": 2, "j": 3}, [np.ones((2, 3)), np.ones((3, 1))])


def test_error_axis_size_mismatch():
    with pytest.raises(ContractionError) as info:
        contract([("i", "j"), ("j", "k")], ("i", "k"), {"i": 2, "j": 3, "k": 4}, [np.ones((2, 3)), np.ones((5, 4))])
    message = str(info.value)
    assert "operand 1 axis 0" in message and "'j'" in message
    assert "5" in message and "3" in message
    # a repeated label's second axis is checked too
    with pytest.raises(ContractionError, match=r"operand 0 axis 1 \(edge 'i'\).* 4 .* 3"):
        contract([("i", "i")], (), {"i": 3}, [np.ones((3, 4))])


def test_contraction_error_is_a_value_error():
    assert issubclass(ContractionError, ValueError)


# ----------------------------------------------------------------------------------------------
# the printed report
# ----------------------------------------------------------------------------------------------


def test_plan_report():
    inputs, output = parse_spec("ab,bc,cd->ad")
    plan = plan_contraction(inputs, output, dict(a=2, b=30, c=40, d=5))
    text = str(plan)
    assert isinstance(plan, Plan) and all(isinstance(s, Step) for s in plan.steps)
    assert "ab,bc,cd->ad" in text
    for step in plan.steps:
        spec = ",".join("".join(e) for e in step.operand_edges) + "->" + "".join(step.edges)
        line = next(line for line in text.splitlines() if spec in line)
        assert f"{step.flops:,}" in line and f"{step.size:,}" in line
    assert f"FLOPs:                {plan.flops:,}" in text
    assert f"Naive FLOPs:          {plan.naive_flops:,}" in text
    assert "Speedup:" in text and f"{plan.naive_flops / plan.flops:,.3f}x" in text
    assert f"Largest intermediate: {plan.largest:,} elements" in text


def test_plan_report_with_integer_labels_uses_letters():
    plan = plan_contraction([(10, 20), (20, 30)], (10, 30), {10: 2, 20: 3, 30: 4})
    text = str(plan)
    assert "ab,bc->ac" in text
    assert "Contraction: ab,bc->ac" in text
