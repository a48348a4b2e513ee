"""Timing targets of issue 9 (pathological inputs), each next to a reference run in the same
process.

Run as a script: ``python benchmarks/bench_trust.py [scale]`` (scale 1.0 is the issue's sizes).

* a sum of 10,000 terms built with ``+`` in a loop; reference: the same sum built by one call
  to ``network.linear_combination``.  Target: under 1 s.
* simplify of the gradient of trace(A^k) for a chain in which one variable is used k = 500
  times (the k terms of the gradient tie on the cheap invariant); reference: the gradient
  itself.  Target: under 1 s.
* parsing a run of 10,000 letters that are bound names (``[a b c ...]`` written as one word);
  reference: the same names written apart with spaces.  Target: under 1 s.

Each line prints the seconds and the ratio to the reference.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import tnet
from tnet.network import linear_combination


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _row(name: str, seconds: float, reference: float) -> None:
    print(f"{name:<48} {seconds:9.3f} s   reference {reference:8.3f} s   ratio {seconds / max(reference, 1e-9):8.1f}")


def bench_sum(n: int) -> None:
    vs = [tnet.Variable(f"v{k}", 3) for k in range(n)]

    def plus():
        s: tnet.Expr = vs[0]
        for v in vs[1:]:
            s = s + v
        return s

    _row(f"sum of {n} terms with +", _seconds(plus), _seconds(lambda: linear_combination([(1.0, v) for v in vs])))


def bench_simplify(k: int) -> None:
    A = tnet.Variable("A", 3, 3)
    P: tnet.Expr = A
    for _ in range(k - 1):
        P = P @ A
    raw_time = _seconds(lambda: tnet.grad(tnet.trace(P), A, simplify=False))
    raw = tnet.grad(tnet.trace(P), A, simplify=False)
    _row(f"simplify, one variable used {k} times", _seconds(lambda: tnet.simplify(raw)), raw_time)


def bench_parse(n: int) -> None:
    letters = "abcdefghijklmnopqrstuvwxyz"
    x = {c: tnet.Variable(c, 2) for c in letters}
    word = "".join(letters[k % 26] for k in range(n))
    spaced = " ".join(word)
    _row(
        f"parse a run of {n} bound letters",
        _seconds(lambda: tnet.parse("(" + word + ")", **x)),
        _seconds(lambda: tnet.parse("(" + spaced + ")", **x)),
    )


if __name__ == "__main__":
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    bench_sum(int(10_000 * scale))
    bench_simplify(int(500 * scale))
    bench_parse(int(10_000 * scale))
