"""What a gallery entry is: the paper's example built with tnet, and its numeric check.

An example module in `gallery/examples/` defines `ENTRY = Entry(...)`:

- `derive()` builds the expression with tnet's API, differentiates and simplifies it (this is
  what the gallery times) and returns an `Outcome`: the expressions to draw, the results to
  print and check, and the arrays to check them on;
- `check(outcome)` computes the paper's closed form in numpy and returns {what: max error} for
  each result (relative to the size of the expected values when they exceed 1). It may also
  raise AssertionError for a property that is not an error size (two results that must differ).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tnet import render
from tnet.expr import Expr, Variable

#: an entry fails when a max error exceeds this
TOLERANCE = 1e-8


@dataclass
class Outcome:
    """What `derive()` produced."""

    #: (caption, expression) to draw, in order
    figures: list[tuple[str, Expr]] = field(default_factory=list)
    #: (label, tnet result) to print; check() compares them with numpy
    results: list[tuple[str, Expr]] = field(default_factory=list)
    #: the arrays the expressions are evaluated on, by variable
    arrays: dict[Variable, np.ndarray] = field(default_factory=dict)
    #: anything else check() needs
    extra: dict[str, Any] = field(default_factory=dict)
    #: names the printed forms use for sub-expressions (the paper's Z_j, S_j, ...)
    names: dict[Expr, str] = field(default_factory=dict)

    def result(self, label: str) -> Expr:
        """The result with this label."""
        for name, e in self.results:
            if name == label:
                return e
        raise KeyError(label)

    def derivation(self, f: Expr, x: Variable, name: str = "f") -> Expr:
        """Add the four stages of deriving ∇_x f (tnet.render.derivation_expressions) as figures;
        return the simplified gradient."""
        stages = render.derivation_expressions(f, x)
        d = f"d{name}" if name.isalnum() else f"d({name})"
        captions = {
            "function": name,
            "differential": f"{d}: one term per occurrence of {x.name}, d{x.name} highlighted",
            "gradient before simplification": f"∇_{x.name} {name}, before simplification",
            "gradient after simplification": f"∇_{x.name} {name}, after simplification",
        }
        for stage, e in stages:
            self.figures.append((captions[stage], e))
        return stages[-1][1]


@dataclass(frozen=True)
class Entry:
    """One example of the paper."""

    slug: str  #: file-name stem of its images, and its anchor on the page
    section: str  #: the paper's section, e.g. "4.3.5"
    title: str  #: a short title
    formula: str  #: the paper's formula (plain text with Unicode)
    derive: Callable[[], Outcome]
    check: Callable[[Outcome], dict[str, float]]
    note: str = ""  #: a sentence or two on what the entry shows
    tolerance: float = TOLERANCE
    slow: bool = False  #: left out of the test suite's quick gallery build


def rng(seed: int = 0) -> np.random.Generator:
    """The gallery's random numbers: fixed seeds, so every build checks the same arrays."""
    return np.random.default_rng(seed)


def max_error(got: Any, want: Any) -> float:
    """max |got - want|, divided by max |want| when that exceeds 1; inf for a shape mismatch."""
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    if got.shape != want.shape:
        return float("inf")
    if got.size == 0:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(want))))
    return float(np.max(np.abs(got - want)) / scale)


def one_hot(rows: int, classes: int, generator: np.random.Generator) -> np.ndarray:
    """Random one-hot rows (labels for classification)."""
    return np.eye(classes)[generator.integers(0, classes, size=rows)]
