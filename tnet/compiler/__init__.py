"""tnet.compiler: expressions compiled to standalone Python code for numpy, PyTorch, JAX or Dask.

`compile(exprs, backend="numpy")` returns a `Compiled` callable. The layers inside the package:
`steps` (what a program is: `Op` and `Program`), `rewrites` (the program's rewrites and its
order: constants left to broadcasting, dead steps removed, fewer arrays alive at once, values
freed after their last use), `program` (the expressions lowered to straight-line array
operations, common sub-expressions found across all results), `backend` (what a backend
is), one module per backend (`numpy_backend`, `torch_backend`, `jax_backend`, `dask_backend`:
the vocabulary of that library), and `source` (the printer). The backend libraries are optional
(`pip install tnet-calculus[torch]`, `[jax]`, `[dask]`): the generated code imports its library
when it is first run, never tnet itself."""

from __future__ import annotations

import builtins
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from ..errors import BindingError, CompileError
from ..evaluate import Bindings, PathReport, check_structure, name_list
from ..evaluate import evaluation_program as interpreter_program
from ..expr import Apply, Call, Expr, Variable, walk
from ..functions import PowerFunction
from ..planners import check_planner
from .backend import Backend
from .dask_backend import DaskBackend
from .jax_backend import JaxBackend
from .numpy_backend import NumpyBackend, custom_name
from .program import build_program
from .source import write_source
from .steps import Program
from .torch_backend import TorchBackend

__all__ = ["BACKENDS", "Compiled", "clear_cache", "compile", "evaluate", "export"]

#: backend name -> its vocabulary (fixed; a new backend is a new module and a line here)
BACKENDS: dict[str, Backend] = {b.name: b for b in (NumpyBackend(), TorchBackend(), JaxBackend(), DaskBackend())}

#: how many specializations (one per set of sizes) a Compiled keeps, most recent first
SPECIALIZATIONS = 8

_INSTALL = {
    "torch": "pip install 'tnet-calculus[torch]' (the CPU-only build: see the README)",
    "jax": "pip install 'tnet-calculus[jax]'",
    "dask": "pip install 'tnet-calculus[dask]'",
}


@dataclass
class Specialization:
    """The program, source and function generated for one set of sizes."""

    sizes: dict[str, int]
    program: Program
    source: str
    function: Any
    params: list[str]  # the variable name of each positional parameter of `function`
    inputs: list[Variable]  # the variable of each positional parameter of `function`
    applies: bool  # whether it applies functions (numpy's warnings are then silenced, as in evaluate)


class Compiled:
    """Expressions compiled for one backend: call it with arrays by variable name (keywords or
    one mapping); it returns one array per expression (one array when compiled from a single
    expression).

    Code is generated for concrete sizes: the first call with new sizes plans the contractions
    and generates the code (kept for the last few sets of sizes); `.source`, `.plan` and
    `.function` show the code for the sizes given to `compile` (`sizes=`), or else for the
    sizes of the latest call."""

    def __init__(
        self,
        roots: Sequence[Expr],
        backend: Backend,
        *,
        single: bool,
        name: str,
        sizes: Mapping[str, int],
        plan_options: Mapping[str, Any],
    ) -> None:
        self.roots = list(roots)
        self.backend = backend
        self.name = name
        self._single = single
        self._sizes = dict(sizes)
        self._plan_options = dict(plan_options)
        self.variables = _variables(self.roots)
        self._derived = {v.name: v for r in self.roots for v in r.derived_from if v.name not in self.variables}
        self._library: dict[str, Any] | None = None
        #: code by (sizes..., whether the inputs' dtypes are mixed)
        self._specialized: OrderedDict[tuple[Any, ...], Specialization] = OrderedDict()
        #: the code for the last call's names, types and shapes, behind a check that they repeat
        #: (`_fast_entry`)
        self._fast: Any = None
        #: the fast entries made so far, by the arguments' kinds (the last few)
        self._entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        if backend.name != "numpy":  # fail now, not at the first call, on a function it cannot write
            for e in walk(self.roots):
                if isinstance(e, Apply):
                    backend.apply(e.fn, "x", set())

    # -- calling ----------------------------------------------------------------------------
    def __call__(self, bindings: Mapping[Any, Any] | None = None, /, **arrays: Any) -> Any:
        fast = self._fast
        if fast is not None:  # the last call's names, types and shapes: no other check
            if bindings is None:
                out = fast(arrays)
            elif not arrays and type(bindings) is dict:
                out = fast(bindings)
            else:
                out = _MISS
            if out is not _MISS:
                return out
        given: Mapping[Any, Any] = arrays if bindings is None else bindings
        if bindings is not None and (arrays or type(bindings) is not dict or not all(type(k) is str for k in bindings)):
            given = _named(bindings, arrays)
        spec = self._check(given)
        kinds = [(k, type(v), getattr(v, "shape", None)) for k, v in given.items()]
        # dtypes choose between the code with casts and without: only where there are two to mix
        mixable = self.backend.casts_mixed_dtypes and len(spec.params) > 1
        dtypes = {name: given[name].dtype for name in spec.params} if mixable else None
        entry = _cached_entry(self._entries, kinds, spec, self._single, self.backend.name == "numpy", dtypes)
        # a structured variable's argument is checked on every call (its values, not its kind)
        self._fast = None if any(v.structure for v in self.variables.values()) else entry
        return entry(given)

    def _check(self, given: Mapping[str, Any]) -> Specialization:
        """Check the arguments' names, kinds and shapes; the code for their sizes."""
        library = self._load()
        sizes = dict(self._sizes)
        for name, value in given.items():
            var = self.variables.get(name) or self._derived.get(name)
            if var is None:
                known = name_list(self.variables)
                raise BindingError(f"unknown variable {name!r}; the compiled expressions take: {known}")
            if not self.backend.accepts(value, library):
                raise BindingError(
                    f"the argument {name!r} is a {type(value).__module__}.{type(value).__name__}, but this "
                    f"function was compiled for the {self.backend.name} backend, which takes {self.backend.array_kind}"
                )
            shape = np.shape(value) if self.backend.name == "numpy" else tuple(value.shape)
            _check_shape(var, tuple(shape), sizes)
            if var.structure is not None:  # as evaluate checks it, where the values are at hand
                values = self.backend.concrete(value, library)
                if values is not None:
                    check_structure(var, values)
        missing = [name for name in self.variables if name not in given]
        if missing:
            var = self.variables[missing[0]]
            raise BindingError(f"missing argument for variable {missing[0]!r} of shape {_fmt(var.shape)}")
        spec = self._specialize(sizes)
        if self.backend.casts_mixed_dtypes and len({given[name].dtype for name in spec.params}) > 1:
            spec = self._specialize(sizes, mixed=True)  # products that refuse mixed dtypes: cast first
        return spec

    # -- what was generated -----------------------------------------------------------------
    @property
    def source(self) -> str:
        """The generated Python module (standalone: it imports only the backend's library)."""
        return self._current().source

    @property
    def function(self) -> Any:
        """The generated function itself (positional arguments: `.parameters`)."""
        return self._current().function

    @property
    def parameters(self) -> list[str]:
        """The variable bound to each positional parameter of `.function`, in order."""
        return self._current().params

    @property
    def plan(self) -> PathReport:
        """Each contraction's steps with their FLOPs and the largest intermediate."""
        return PathReport(list(self._current().program.plans))

    def __repr__(self) -> str:
        return f"Compiled({len(self.roots)} expressions, backend={self.backend.name!r})"

    # -- machinery --------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        """The backend's library, imported the way the generated code imports it."""
        if self._library is None:
            library: dict[str, Any] = {}
            try:
                exec("\n".join(self.backend.imports), library)
            except ImportError as err:
                raise CompileError(
                    f"the {self.backend.name} backend needs its library ({err}); {_INSTALL[self.backend.name]}"
                ) from None
            self._library = library
        return self._library

    def _current(self) -> Specialization:
        if self._specialized:
            return next(reversed(self._specialized.values()))
        sizes = dict(self._sizes)
        for var in self.variables.values():
            for s in var.shape:
                if isinstance(s, str) and s not in sizes:
                    raise CompileError(
                        f"size {s!r} of {var.name!r} is not fixed yet: pass sizes={{{s!r}: ...}} to "
                        "tnet.compile, or call the compiled function once"
                    )
        self._load()
        return self._specialize(sizes)

    def _specialize(self, sizes: dict[str, int], mixed: bool = False) -> Specialization:
        key = (*sorted(sizes.items()), mixed)
        hit = self._specialized.get(key)
        if hit is not None:
            self._specialized.move_to_end(key)
            return hit
        spec = generate(self.roots, self.backend, sizes, self.name, self._plan_options, mixed=mixed)
        self._specialized[key] = spec
        while len(self._specialized) > SPECIALIZATIONS:
            self._specialized.popitem(last=False)
        return spec


def generate(
    roots: Sequence[Expr],
    backend: Backend,
    sizes: dict[str, int],
    name: str,
    plan_options: Mapping[str, Any],
    dtype: np.dtype | None = None,
    *,
    mixed: bool = False,
    integral: bool = True,
) -> Specialization:
    """The program, source and function computing `roots` for these sizes on `backend`; with
    `dtype` (the evaluation's, numpy only), following the interpreter's dtype policy; `mixed`:
    the code first casts the inputs to their common dtype (`Backend.casts_mixed_dtypes`);
    `integral=False`: with `dtype`, every bound array is float or complex (`build_program`)."""
    program, source = _write(roots, backend, sizes, name, plan_options, dtype, mixed, integral)
    namespace: dict[str, Any] = {}
    for e in walk(roots):  # a user's functions, by their numpy value
        if isinstance(e, Apply) and not isinstance(e.fn, PowerFunction) and e.fn.name not in backend.functions:
            namespace[custom_name(e.fn)] = e.fn.value
        elif isinstance(e, Call) and e.fn.name not in backend.calls:
            namespace[custom_name(e.fn)] = e.fn.value
    try:
        exec(builtins.compile(source, f"<tnet.compile {name}>", "exec"), namespace)
    except ImportError as err:
        raise CompileError(f"the {backend.name} backend needs its library ({err}); {_INSTALL[backend.name]}") from None
    inputs = [op for op in program.steps if op.kind == "input"]
    applies = any(op.kind in ("apply", "call") for op in program.steps)
    return Specialization(
        sizes,
        program,
        source,
        namespace[name],
        [op.param("name") for op in inputs],
        [op.param("var") for op in inputs],
        applies,
    )


def _write(
    roots: Sequence[Expr],
    backend: Backend,
    sizes: dict[str, int],
    name: str,
    plan_options: Mapping[str, Any],
    dtype: Any = None,
    mixed: bool = False,
    integral: bool = True,
) -> tuple[Program, str]:
    """The program computing `roots` for these sizes on `backend`, and its source."""
    owned = backend.mutable
    spelled = {*backend.functions, *backend.calls}
    fused = backend.fused_matmul_add
    program = build_program(roots, sizes, backend.lowering, plan_options, dtype, owned, spelled, integral, fused)
    doc = f"{name}: {len(roots)} result{'' if len(roots) == 1 else 's'} on {backend.name}, generated by tnet.compile"
    return program, write_source(program, backend, name, doc, mixed)


def export(
    exprs: Expr | Sequence[Expr],
    backend: str = "numpy",
    *,
    sizes: Mapping[str, int] | None = None,
    name: str = "compiled",
    **plan_options: Any,
) -> str:
    """The source that `compile(exprs, backend, sizes=sizes, name=name).source` shows, written
    without importing the backend's library or running the code (so it can be shown where the
    library is not installed). Every size name of the expressions must be in `sizes`."""
    compiled = compile(exprs, backend, sizes=sizes, name=name, **plan_options)
    for var in compiled.variables.values():
        for s in var.shape:
            if isinstance(s, str) and s not in compiled._sizes:
                raise CompileError(f"size {s!r} of {var.name!r} is not fixed: pass sizes={{{s!r}: ...}}")
    return _write(compiled.roots, compiled.backend, dict(compiled._sizes), name, plan_options)[1]


# ---------------------------------------------------------------------------------------------
# tnet.evaluate: compile for numpy, then run
# ---------------------------------------------------------------------------------------------
@dataclass
class _Runs:
    """The numpy code generated for one list of roots, by sizes. The roots are not held (the
    entry is kept under a weak reference to the first root): the others are weak references,
    checked on each hit."""

    others: tuple[weakref.ref[Expr], ...]
    by_sizes: OrderedDict[tuple[Any, ...], Specialization]  # by planner, time budget and sizes
    #: the last call that bound arrays by name: ((planner, time budget, one root or a list),
    #: its fast entry), the entry running that call's code for a call that binds the same
    #: names, shapes and dtypes (`_fast_entry`, as `Compiled` calls do)
    last: tuple[tuple[Any, Any, bool], Any] | None = None
    #: the fast entries made so far, by the arguments' kinds (the last few: `_cached_entry`)
    entries: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)


#: first root -> the code of the last list of roots evaluated with it (weak keys: an entry goes
#: when its expression does; at most SPECIALIZATIONS sets of sizes each); cleared by
#: `tnet.clear_caches()`
_RUNS: weakref.WeakKeyDictionary[Expr, _Runs] = weakref.WeakKeyDictionary()


def clear_cache() -> None:
    """Forget the code generated by `evaluate` (it is generated again on demand)."""
    _RUNS.clear()


@overload
def evaluate(
    e_or_list: Expr,
    bindings: Mapping[Any, Any] | None = None,
    *,
    sizes: Mapping[str, int] | None = None,
    allow_unknown: bool = False,
    planner: str = "auto",
    time_budget: float | None = None,
) -> np.ndarray: ...
@overload
def evaluate(
    e_or_list: Sequence[Expr],
    bindings: Mapping[Any, Any] | None = None,
    *,
    sizes: Mapping[str, int] | None = None,
    allow_unknown: bool = False,
    planner: str = "auto",
    time_budget: float | None = None,
) -> list[np.ndarray]: ...
def evaluate(
    e_or_list: Expr | Sequence[Expr],
    bindings: Mapping[Any, Any] | None = None,
    *,
    sizes: Mapping[str, int] | None = None,
    allow_unknown: bool = False,
    planner: str = "auto",
    time_budget: float | None = None,
) -> np.ndarray | list[np.ndarray]:
    """The value of an expression (or of a list of expressions, computed together so that each
    shared sub-expression is evaluated once) for the given bindings {Variable or name: array}:
    the expressions are compiled for numpy (`compile`) and the code is run; the code is cached
    per list of expressions, sizes and planner.

    The bindings are checked as the interpreter checks them (`evaluate.Bindings`): a key is a
    Variable or a name, a name shared by two variables is refused, a binding of a variable the
    expression was derived from fixes sizes; `allow_unknown=True` ignores other names instead,
    for one environment of arrays shared by many expressions. `sizes` fixes size names that no
    bound array fixes, e.g. `sizes={"n": 3}`. `planner` and `time_budget` choose who orders each
    contraction (`contract.plan_contraction`); they never change a value."""
    check_planner(planner, time_budget)
    roots = [e_or_list] if isinstance(e_or_list, Expr) else list(e_or_list)
    for k, r in enumerate(roots):
        if not isinstance(r, Expr):
            raise TypeError(f"evaluate: item {k} is not a tnet expression: {r!r}")
    if not roots:
        return []
    runs = _RUNS.get(roots[0])
    if runs is None or len(runs.others) != len(roots) - 1 or any(w() is not r for w, r in zip(runs.others, roots[1:])):
        runs = _Runs(tuple(weakref.ref(r) for r in roots[1:]), OrderedDict())
        _RUNS[roots[0]] = runs
    single = isinstance(e_or_list, Expr)
    last = runs.last
    if last is not None and type(bindings) is dict and sizes is None and not allow_unknown:
        if last[0] == (planner, time_budget, single):
            out = last[1](bindings)  # the last call's names, shapes and dtypes: no other check
            if out is not _MISS:
                return out
    walked = interpreter_program(roots)  # the variables and constants, from the interpreter's cached walk
    derived = sorted({v for r in roots for v in r.derived_from}, key=lambda v: v.name)
    bind = Bindings(walked.variables, bindings or {}, sizes, derived, allow_unknown, walked.constants)
    # bool and integer arrays (bound or constant) need sums that promote (the dtype policy)
    integral = any(a.dtype.kind not in "fc" for a in [*bind.arrays.values(), *walked.constants])
    key = (planner, time_budget, bind.dtype, integral, *sorted(bind.sizes.items()))
    spec = runs.by_sizes.get(key)
    if spec is None:
        for e in walk(roots):  # every size name fixed, or the interpreter's BindingError
            for s in e.shape:
                bind.size(s, e.label)
        options = {} if planner == "auto" and time_budget is None else {"planner": planner, "time_budget": time_budget}
        spec = generate(roots, BACKENDS["numpy"], dict(bind.sizes), "evaluated", options, bind.dtype, integral=integral)
        runs.by_sizes[key] = spec
        while len(runs.by_sizes) > SPECIALIZATIONS:
            runs.by_sizes.popitem(last=False)
    args = [bind.arrays[v] for v in spec.inputs]
    values = _run_numpy(spec, args)  # the caller's own: the program copies where one could alias
    runs.last = None
    if (
        sizes is None
        and not allow_unknown
        and type(bindings) is dict
        and all(type(k) is str and type(v) is np.ndarray for k, v in bindings.items())
        and not any(v.structure for v in walked.variables)  # their values are checked on each call
    ):
        kinds = [(k, np.ndarray, v.shape) for k, v in bindings.items()]
        dtypes = {k: v.dtype for k, v in bindings.items()}
        runs.last = ((planner, time_budget, single), _cached_entry(runs.entries, kinds, spec, single, True, dtypes))
    return values[0] if single else values


def compile(  # noqa: A001 - the name the issue asks for; Python's builtin is builtins.compile
    exprs: Expr | Sequence[Expr],
    backend: str = "numpy",
    *,
    sizes: Mapping[str, int] | None = None,
    name: str = "compiled",
    **plan_options: Any,
) -> Compiled:
    """Compile expressions to a function of arrays for one backend: "numpy", "torch", "jax" or
    "dask".

    The result takes arrays by variable name and returns one array per expression; `.source`
    is the generated Python module, `.plan` the contraction plans. Sub-expressions shared by
    several results are computed once, whatever way each result was simplified. `sizes` fixes
    size names ahead of the first call (so that `.source` is available at once); other keywords
    (e.g. a planner's) are passed to `contract.plan_contraction`."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise CompileError(f"unknown backend {backend!r}; the backends are: {', '.join(BACKENDS)}")
    if not name.isidentifier():
        raise CompileError(f"name= must be a Python identifier, got {name!r}")
    single = isinstance(exprs, Expr)
    roots = [exprs] if isinstance(exprs, Expr) else list(exprs)
    for k, r in enumerate(roots):
        if not isinstance(r, Expr):
            raise TypeError(f"compile: item {k} is not a tnet expression: {r!r}")
    for size_name, size in (sizes or {}).items():
        if not isinstance(size_name, str) or not isinstance(size, (int, np.integer)) or size < 0:
            raise BindingError(f"sizes= maps size names to sizes >= 0, got {size_name!r}: {size!r}")
    return Compiled(
        roots, BACKENDS[backend], single=single, name=name, sizes=dict(sizes or {}), plan_options=plan_options
    )


#: what a fast entry returns when the arguments are not the last call's kind
_MISS = object()


def _cached_entry(
    entries: OrderedDict[tuple[Any, ...], Any],
    kinds: list[tuple[str, Any, Any]],
    spec: Specialization,
    single: bool,
    numpy: bool,
    dtypes: Mapping[str, Any] | None,
) -> Any:
    """`_fast_entry(kinds, spec, single, numpy, dtypes)`, kept in `entries` (the last
    SPECIALIZATIONS made): arguments that alternate between a few kinds reuse their entries."""
    key = (tuple(kinds), tuple((dtypes or {}).items()), id(spec.function), single)
    entry = entries.get(key)
    if entry is None:
        entry = entries[key] = _fast_entry(kinds, spec, single, numpy, dtypes)
        while len(entries) > SPECIALIZATIONS:
            entries.popitem(last=False)
    return entry


def _fast_entry(
    kinds: list[tuple[str, Any, Any]],
    spec: Specialization,
    single: bool,
    numpy: bool,
    dtypes: Mapping[str, Any] | None,
) -> Any:
    """A function of the argument mapping that runs `spec`'s code when the arguments have the
    names, types and shapes in `kinds` ((name, type, shape or None) each: what the full check
    accepted), and returns `_MISS` otherwise. It is generated as straight-line Python, so that
    a repeated call costs a few dict look-ups and comparisons more than the generated function.
    numpy: arguments that are not arrays are converted, and functions' warnings silenced.
    `dtypes`: {name: dtype} of the arguments whose dtypes are checked too (a backend that
    casts mixed dtypes: each parameter's; `evaluate`: every argument's, which choose its
    dtype policy)."""
    env: dict[str, Any] = {
        "MISS": _MISS,
        "function": spec.function,
        "convert": np.asarray,
        "errstate": np.errstate,
    }
    # as many names as the last call's, each found: the same names (a name not given reads
    # MISS, a bare object, whose type is no argument's kind)
    lines = ["def entry(given):", f"    if len(given) != {len(kinds)}:", "        return MISS"]
    position = {}
    for k, (name, kind, shape) in enumerate(kinds):
        env[f"kind{k}"], env[f"shape{k}"] = kind, shape
        position[name] = k
        test = f"type(a{k}) is not kind{k}" + (f" or a{k}.shape != shape{k}" if shape is not None else "")
        lines += [f"    a{k} = given.get({name!r}, MISS)", f"    if {test}:", "        return MISS"]
    for j, (name, dtype) in enumerate((dtypes or {}).items()):
        env[f"dtype{j}"] = dtype
        lines += [f"    if a{position[name]}.dtype != dtype{j}:", "        return MISS"]
    args = []
    for name in spec.params:
        k = position[name]
        args.append(f"convert(a{k})" if numpy and kinds[k][1] is not np.ndarray else f"a{k}")
    call = f"function({', '.join(args)})"
    if numpy and spec.applies:  # a function's overflow or log(0) gives inf or nan, as in evaluate
        lines += ["    with errstate(divide='ignore', invalid='ignore', over='ignore'):", f"        values = {call}"]
    else:
        lines.append(f"    values = {call}")
    lines.append("    return values[0]" if single else "    return values")  # copied where they could alias
    exec(builtins.compile("\n".join(lines), "<tnet.compile entry>", "exec"), env)
    return env["entry"]


def _run_numpy(spec: Specialization, args: list[np.ndarray]) -> list[np.ndarray]:
    """Run numpy code: a function's overflow or log(0) gives inf or nan without a warning, as in
    `evaluate`."""
    if spec.applies:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return spec.function(*args)
    return spec.function(*args)


def _named(bindings: Mapping[Any, Any] | None, arrays: Mapping[str, Any]) -> dict[str, Any]:
    """{variable name: value} from a mapping keyed by names or Variables, and keywords."""
    given: dict[str, Any] = {}
    for key, value in [*(bindings or {}).items(), *arrays.items()]:
        name = key.name if isinstance(key, Variable) else key
        if not isinstance(name, str):
            raise BindingError(f"an argument must be named by a variable or its name, got {key!r}")
        if name in given:
            raise BindingError(f"variable {name!r} is given twice")
        given[name] = value
    return given


def _variables(roots: Sequence[Expr]) -> dict[str, Variable]:
    found: dict[str, Variable] = {}
    for e in walk(roots):
        if isinstance(e, Variable):
            other = found.get(e.name)
            if other is not None and other is not e:
                raise BindingError(f"two different variables are named {e.name!r} (shapes {other.shape} and {e.shape})")
            found[e.name] = e
    return found


def _check_shape(var: Variable, shape: tuple[int, ...], sizes: dict[str, int]) -> None:
    """Check an argument's shape against its variable's, fixing the size names it binds."""
    name = var.name
    if len(shape) != var.ndim:
        raise BindingError(
            f"the array given for {name!r} has shape {shape} ({len(shape)} axes) but the variable has shape "
            f"{_fmt(var.shape)} ({var.ndim} axes)"
        )
    for axis, (want, got) in enumerate(zip(var.shape, shape)):
        got = int(got)
        if isinstance(want, int):
            if want != got:
                raise BindingError(
                    f"the array given for {name!r} has shape {shape}, but axis {axis} of the variable has size "
                    f"{want} (got {got})"
                )
        elif sizes.setdefault(want, got) != got:
            raise BindingError(f"size {want!r} is {sizes[want]} elsewhere but {got} on axis {axis} of {name!r}")


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
