"""One derivation asked for in text, the shared engine of the front doors (the command line and
the web page): read a formula and its declarations (`tnet.notation.formula_in`), derive
gradients, Jacobians or Hessians, print them in matrix and bracket notation, LaTeX and MathML,
check them numerically against central finite differences, and draw each stage.

`derive` bounds what it is given: the length of the text, the size of the expression and of its
derivatives (counted as nodes of the expression DAG); `Bounds` holds the limits. Time is bounded
by the caller (the web server runs each request in a worker process it can stop)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .compiler import BACKENDS, export
from .diff import grad, hessian, jacobian
from .errors import CompileError, LimitError, TnetError
from .evaluate import evaluate
from .expr import Expr, Sum, Variable, walk
from .network import Network
from .notation import to_bracket, to_latex, to_matrix
from .notation.formula_in import Formula, parse_formula
from .notation.mathml_out import to_mathml
from .render import derivation, pipe, to_dot

__all__ = [
    "KINDS",
    "BACKENDS",
    "Bounds",
    "Derivative",
    "LimitError",
    "Result",
    "derive",
    "numeric_check",
    "check_all",
    "code",
    "code_sizes",
    "drawings",
    "random_values",
    "stage_graphs",
]

KINDS = ("gradient", "jacobian", "hessian")


@dataclass(frozen=True)
class Bounds:
    """The limits of one derivation: characters of text, nodes of the function's expression DAG,
    and nodes of each derivative's."""

    max_text: int = 2_000
    max_nodes: int = 400
    max_derivative_nodes: int = 4_000


@dataclass
class Derivative:
    """The derivative of the formula by one variable: its kind (gradient, jacobian or hessian),
    the expression, and the numeric check (largest relative error) once run."""

    wrt: str
    kind: str
    expr: Expr
    check: float | None = None

    @property
    def title(self) -> str:
        symbol = {"gradient": "∇", "jacobian": "J", "hessian": "H"}[self.kind]
        return f"{symbol}_{self.wrt} f"

    def text(self, notation: str) -> str:
        """The derivative in 'matrix' or 'bracket' notation, or as 'latex' or 'mathml'."""
        if notation == "matrix":
            return to_matrix(self.expr)
        if notation == "bracket":
            return to_bracket(self.expr)
        if notation == "latex":
            return to_latex(self.expr)
        if notation == "mathml":
            return to_mathml(self.expr)
        raise ValueError(f"unknown notation {notation!r} (matrix, bracket, latex or mathml)")


@dataclass
class Result:
    """A formula read and derived: the formula, its derivatives, one per variable asked for."""

    formula: Formula
    derivatives: list[Derivative] = field(default_factory=list)


def too_long(what: str, length: int, limit: int) -> str:
    """The message for a text beyond its bound."""
    verb = "have" if what.endswith("s") else "has"
    return f"too long: the {what} {verb} {length} characters; the limit is {limit}"


def _size(e: Expr) -> int:
    """The size of an expression: its distinct sub-expressions, a product term counted by its
    node occurrences and a sum by its terms."""
    return sum(
        len(n.nodes) if isinstance(n, Network) else len(n.terms_) if isinstance(n, Sum) else 1 for n in walk([e])
    )


def _occurrences(e: Expr, x: Variable) -> int:
    """How many times x occurs in e's product terms and function arguments."""
    return sum(n.nodes.count(x) if isinstance(n, Network) else 0 for n in walk([e])) + (e is x)


def derive(
    text: str,
    declarations: str = "",
    wrt: Sequence[str] = (),
    kind: str = "gradient",
    bounds: Bounds | None = None,
) -> Result:
    """Read the formula and derive it by each name in `wrt` (every variable, in order of first
    use, when empty). `kind` is 'gradient' (eq. 28), 'jacobian' or 'hessian'. Raises ParseError
    for text that cannot be read, LimitError beyond the bounds, and TnetError for a derivation
    that cannot be done (a Hessian of a non-scalar, a name the formula does not use)."""
    bounds = bounds or Bounds()
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} ({', '.join(KINDS)})")
    for what, t in (("formula", text), ("declarations", declarations)):
        if len(t) > bounds.max_text:
            raise LimitError(too_long(what, len(t), bounds.max_text))
    formula = parse_formula(text, declarations)
    nodes = _size(formula.expr)
    if nodes > bounds.max_nodes:
        raise LimitError(f"the formula has {nodes} nodes; the limit is {bounds.max_nodes}")
    names = list(wrt) or list(formula.variables)
    for name in names:
        if name not in formula.variables:
            known = ", ".join(formula.variables) or "none"
            raise TnetError(f"the formula does not use {name!r}; its variables are: {known}")
    if kind == "hessian" and formula.expr.ndim != 0:
        raise TnetError(f"a Hessian needs a scalar formula; this one has shape {formula.expr.shape}")
    result = Result(formula)
    for name in names:
        x = formula.variables[name]
        estimate = nodes * _occurrences(formula.expr, x) * (2 if kind == "hessian" else 1)
        if estimate > bounds.max_derivative_nodes:  # each occurrence of x gives one term of the size of f
            raise LimitError(
                f"the {kind} by {name} would have about {estimate} nodes ({nodes} nodes in the formula, "
                f"{name} occurs {_occurrences(formula.expr, x)} times); the limit is {bounds.max_derivative_nodes}"
            )
        if kind == "gradient":
            d = grad(formula.expr, x)
        elif kind == "jacobian":
            d = jacobian(formula.expr, x)
        else:
            d = hessian(formula.expr, x)
        size = _size(d)
        if size > bounds.max_derivative_nodes:
            raise LimitError(f"the {kind} by {name} has {size} nodes; the limit is {bounds.max_derivative_nodes}")
        result.derivatives.append(Derivative(name, kind, d))
    return result


# ---------------------------------------------------------------------------------------------
# the numeric check
# ---------------------------------------------------------------------------------------------
def random_values(formula: Formula, seed: int = 0) -> dict[str, np.ndarray]:
    """Random well-conditioned values of the formula's variables: entries in [0.5, 1.5]
    (positive, so log and sqrt are defined), square matrices diagonally dominant (so their
    inverse and a positive determinant exist), symmetric ones symmetric. Each size name gets
    one size between 2 and 4."""
    rng = np.random.default_rng(seed)
    sizes: dict[Any, int] = {}
    out: dict[str, np.ndarray] = {}
    for name, v in formula.variables.items():
        shape = tuple(s if isinstance(s, int) else sizes.setdefault(s, int(rng.integers(2, 5))) for s in v.shape)
        value = rng.uniform(0.5, 1.5, size=shape)
        if len(shape) == 2 and shape[0] == shape[1]:
            if formula.kinds[name] == "symmetric":
                value = (value + value.T) / 2
            value = value + 2 * shape[0] * np.eye(shape[0])
        out[name] = value
    return out


def numeric_check(formula: Formula, derivative: Derivative, values: dict[str, np.ndarray]) -> float:
    """The largest relative error between the derivative evaluated at `values` and central
    finite differences: max |derivative - differences| / max(max |differences|, 1). A Hessian is
    checked against differences of the gradient. Every entry is perturbed on its own (a
    symmetric variable too: its derivative is the unconstrained one)."""
    x = formula.variables[derivative.wrt]
    f: Expr = formula.expr
    if derivative.kind == "hessian":
        f = grad(formula.expr, x)
    exact = np.asarray(evaluate(derivative.expr, values, allow_unknown=True), dtype=float)
    base = values[derivative.wrt]
    h = 1e-5 * max(1.0, float(np.max(np.abs(base))))
    columns = []
    for k in range(base.size):
        flat = np.zeros(base.size)
        flat[k] = h
        step = flat.reshape(base.shape)
        up = np.asarray(evaluate(f, {**values, derivative.wrt: base + step}, allow_unknown=True), dtype=float)
        down = np.asarray(evaluate(f, {**values, derivative.wrt: base - step}, allow_unknown=True), dtype=float)
        columns.append((up - down) / (2 * h))
    differences = np.stack(columns).reshape(base.shape + np.shape(columns[0]))
    if derivative.kind == "jacobian":  # f's axes first, then x's
        nx = base.ndim
        differences = np.moveaxis(differences, tuple(range(nx)), tuple(range(-nx, 0)))
    if differences.shape != exact.shape:
        raise TnetError(f"the derivative has shape {exact.shape}, the differences {differences.shape}")
    scale = max(float(np.max(np.abs(differences), initial=0.0)), 1.0)
    return float(np.max(np.abs(exact - differences), initial=0.0)) / scale


def check_all(result: Result, seed: int = 0) -> dict[str, np.ndarray]:
    """Run the numeric check of every derivative of the result (filling `Derivative.check`);
    returns the values used."""
    values = random_values(result.formula, seed)
    for d in result.derivatives:
        d.check = numeric_check(result.formula, d, values)
    return values


# ---------------------------------------------------------------------------------------------
# the drawings
# ---------------------------------------------------------------------------------------------
def stage_graphs(result: Result) -> list[tuple[str, str, Any]]:
    """The pictures of each derivation, as (variable, stage, graphviz graph): the stages of the
    gradient (the function, its differential, the gradient before and after simplification),
    then the Jacobian or Hessian itself when one was asked for."""
    out: list[tuple[str, str, Any]] = []
    f = result.formula.expr
    for d in result.derivatives:
        x = result.formula.variables[d.wrt]
        out.extend((d.wrt, stage, graph) for stage, graph in derivation(f, x))
        if d.kind != "gradient":
            out.append((d.wrt, d.kind, to_dot(d.expr, title=d.title)))
    return out


def drawings(result: Result) -> list[tuple[str, str, str]]:
    """`stage_graphs` as SVG text (needs the Graphviz dot program)."""
    return [(var, stage, pipe(graph, "svg").decode("utf-8")) for var, stage, graph in stage_graphs(result)]


# ---------------------------------------------------------------------------------------------
# the exported code
# ---------------------------------------------------------------------------------------------
def code_sizes(result: Result, given: Mapping[str, int] | None = None, seed: int = 0) -> dict[str, int]:
    """A size for every size name of the formula: the one `given`, else the one the numeric
    check's random values use (`random_values` with this seed). Raises CompileError for a name
    the formula does not have or a size below 1."""
    names = {s for v in result.formula.variables.values() for s in v.shape if isinstance(s, str)}
    for name, size in (given or {}).items():
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            raise CompileError(f"the formula has no size {name!r}; its sizes are: {known}")
        if size < 1:
            raise CompileError(f"size {name!r} must be at least 1, got {size}")
    values = random_values(result.formula, seed)
    sizes: dict[str, int] = {}
    for name, v in result.formula.variables.items():
        for s, n in zip(v.shape, values[name].shape):
            if isinstance(s, str):
                sizes[s] = int((given or {}).get(s, n))
    return dict(sorted(sizes.items()))


def code(result: Result, backend: str = "numpy", sizes: Mapping[str, int] | None = None) -> str:
    """The standalone Python source (`tnet.compiler.export`) of one function computing every
    derivative of the result, in order, for `backend` and these sizes (`code_sizes`). Its
    parameters are the formula's variables that the derivatives use, by name."""
    if backend not in BACKENDS:
        raise CompileError(f"unknown backend {backend!r}; the backends are: {', '.join(BACKENDS)}")
    kinds = {d.kind for d in result.derivatives}
    name = "_".join([kinds.pop() if len(kinds) == 1 else "derivatives", *(d.wrt for d in result.derivatives)])
    if not name.isidentifier():
        name = "derivatives"
    return export([d.expr for d in result.derivatives], backend, sizes=dict(sizes or {}), name=name)
