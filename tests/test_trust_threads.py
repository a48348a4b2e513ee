"""Issue 9, items 2 and 9 and the memory policy: building, differentiating, simplifying and
evaluating from many threads at once gives what one thread gives, and throwaway evaluations
hold no memory (docs/design.md, "Thread safety")."""

from __future__ import annotations

import gc
import sys
import threading
import tracemalloc

import numpy as np

import tnet

THREADS = 8


def _run_threads(work, rounds: int) -> list[list]:
    """Run work(thread, round) on THREADS threads released together by a barrier each round,
    with a short switch interval so that they interleave inside tnet."""
    barrier = threading.Barrier(THREADS)
    results: list[list] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def body(k: int) -> None:
        try:
            for r in range(rounds):
                barrier.wait()
                results[k].append(work(k, r))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)
            barrier.abort()

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=body, args=(k,)) for k in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors[0]
    return results


def test_2_threads_creating_one_new_variable_get_one_object():
    def work(k: int, r: int):
        return tnet.Variable(f"fresh{r}", 3, r + 1)

    results = _run_threads(work, 200)
    for r in range(200):
        assert len({id(res[r]) for res in results}) == 1


def _build(r: int) -> tuple:
    x = tnet.Variable(f"x{r % 7}", 3)
    A = tnet.Variable("A", 3, 3)
    f = tnet.sum(tnet.tanh(A @ x) ** 2) + tnet.logsumexp(A @ x) + (x @ x) ** (0.5 + r % 3)
    return f, x, A


def test_2_9_build_differentiate_simplify_evaluate_in_threads_match_one_thread():
    rng = np.random.default_rng(0)
    xs = {f"x{k}": rng.normal(size=3) for k in range(7)}
    Av = rng.normal(size=(3, 3))

    def work(k: int, r: int):
        f, x, A = _build(r)
        g = tnet.grad(f, x)
        h = tnet.simplify(tnet.grad(f, A))
        bind = {x: xs[x.name], "A": Av}
        return g, h, tnet.evaluate([f, g, h], bind)

    rounds = 30
    results = _run_threads(work, rounds)
    for r in range(rounds):
        f, x, A = _build(r)
        g, h = tnet.grad(f, x), tnet.simplify(tnet.grad(f, A))
        want = tnet.evaluate([f, g, h], {x: xs[x.name], "A": Av})
        for res in results:
            got_g, got_h, values = res[r]
            assert got_g is g and got_h is h  # one object per structure, across threads
            for v, w in zip(values, want):
                np.testing.assert_array_equal(v, w)


def test_memory_of_throwaway_evaluations_is_released():
    big = np.ones((1024, 1024))  # 8 MB
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        for k in range(200):
            X = tnet.Variable(f"throwaway{k}", 1024, 1024)
            e = tnet.exp(X) * 2.0 + X.T
            tnet.evaluate(e, {X: big})
            del X, e
        gc.collect()
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert end - start < 2 * big.nbytes, f"{(end - start) / 1e6:.1f} MB still held"
