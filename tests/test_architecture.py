"""The structure the code promises (docs/design.md, "Layers"): acyclic layers that import only
downward, no imports inside functions, one dispatch per pass that covers every node kind,
errors in one module, and no hidden state that changes a result."""

from __future__ import annotations

import ast
import gc
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import tnet
from tnet.functions import PowerFunction

# tnet.simplify and tnet.evaluate are the functions; the modules are reached by name
contract, diff, evaluate, expr, functions, simplify = (
    importlib.import_module(f"tnet.{m}") for m in ("contract", "diff", "evaluate", "expr", "functions", "simplify")
)

#: the layers, bottom-up: a module may import modules of its own layer's predecessors only
LAYERS = [
    ["tnet.errors"],
    ["tnet.expr"],
    ["tnet.network"],
    ["tnet.functions"],
    ["tnet.ops"],
    ["tnet.library"],
    ["tnet.elementwise"],
    ["tnet.indexing"],
    ["tnet.reductions"],
    ["tnet.losses"],
    ["tnet.simplify"],
    ["tnet.diff"],
    ["tnet.planners"],
    ["tnet.orders"],
    ["tnet.contract"],
    ["tnet.evaluate"],
    ["tnet.compiler"],  # the package and every module in it
    ["tnet.notation"],  # the package and every module in it
    ["tnet.render"],  # the folder render/, mapped into the package
    ["tnet.workbench"],  # one derivation asked for in text: the engine of the front doors
    ["tnet.web"],  # the local web page (Flask)
    ["tnet.cli"],  # the command line
    ["tnet.__main__"],  # python -m tnet
]


def _layer_of(module: str) -> int:
    for k, names in enumerate(LAYERS):
        if any(module == n or module.startswith(n + ".") for n in names):
            return k
    raise AssertionError(f"module {module} is in no layer; add it to LAYERS and docs/design.md")


def _package_files() -> dict[str, Path]:
    """module name -> source file, for tnet and tnet.render as installed."""
    found: dict[str, Path] = {}
    roots = {"tnet": Path(tnet.__file__).parent}
    spec = importlib.util.find_spec("tnet.render")
    assert spec is not None and spec.submodule_search_locations
    roots["tnet.render"] = Path(next(iter(spec.submodule_search_locations)))
    for package, root in roots.items():
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
            if package == "tnet" and name.startswith("tnet.render"):
                continue
            found[name] = path
    return found


def _imports(module: str, path: Path) -> tuple[set[str], list[str]]:
    """(the tnet modules that `module` imports, the imports that sit inside function bodies)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    here = module.split(".") if is_package else module.split(".")[:-1]
    targets: set[str] = set()
    nested: list[str] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test) == "TYPE_CHECKING":
                continue  # imports for annotations only: not run

            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                names: list[str] = []
                if isinstance(child, ast.Import):
                    names = [a.name for a in child.names]
                else:
                    base = here[: len(here) - child.level + 1] if child.level else []
                    stem = ".".join(base + ([child.module] if child.module else []))
                    names = [stem] + [f"{stem}.{a.name}" for a in child.names]
                tnet_names = [n for n in names if n == "tnet" or n.startswith("tnet.")]
                if in_function and not (isinstance(child, ast.ImportFrom) and child.module == "__future__"):
                    nested.append(f"{path.name}:{child.lineno}")
                targets.update(tnet_names)
            visit(child, inside)

    visit(tree, False)
    return targets, nested


def _graph() -> tuple[nx.DiGraph, dict[str, list[str]]]:
    files = _package_files()
    graph = nx.DiGraph()
    nested: dict[str, list[str]] = {}
    for module, path in files.items():
        graph.add_node(module)
        targets, inside = _imports(module, path)
        nested[module] = inside
        for t in targets:
            # `from .x import name` names either a module x.name or an attribute of x
            while t not in files and "." in t:
                t = t.rsplit(".", 1)[0]
            if t in files and t != module:
                graph.add_edge(module, t)
    return graph, nested


def test_import_tnet_in_a_fresh_interpreter():
    subprocess.run([sys.executable, "-c", "import tnet, tnet.render"], check=True, cwd="/")


def test_no_import_cycle_and_no_import_inside_a_function():
    graph, nested = _graph()
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"import cycles: {cycles}"
    inside = {m: where for m, where in nested.items() if where}
    assert not inside, f"imports inside function bodies: {inside}"


def test_each_module_imports_only_the_layers_below():
    graph, _ = _graph()
    wrong = []
    for a, b in graph.edges:
        if a == "tnet":  # the package front door re-exports every layer
            continue
        la, lb = _layer_of(a), _layer_of(b)
        same_package = a.startswith("tnet.notation") and b.startswith("tnet.notation")
        same_package |= a.startswith("tnet.compiler") and b.startswith("tnet.compiler")
        same_package |= a.startswith("tnet.render") and b.startswith("tnet.render")
        if lb > la or (lb == la and not same_package):
            wrong.append(f"{a} (layer {la}) imports {b} (layer {lb})")
    assert not wrong, "\n".join(wrong)


def _node_kinds() -> list[type]:
    kinds, stack = [], [tnet.Expr]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("tnet.") and sub is not expr.Leaf:
                kinds.append(sub)
    return kinds


@pytest.mark.parametrize(
    "dispatch",
    [
        diff._differential_of,
        diff._pull_back,
        simplify._simplified,
        evaluate._value_of,
        importlib.import_module("tnet.compiler.program")._lower,
    ],
    ids=["differential", "backprop", "simplify", "evaluate", "compile"],
)
def test_every_pass_has_a_rule_for_every_node_kind(dispatch):
    kinds = _node_kinds()
    assert {tnet.Variable, tnet.Network, tnet.Sum, tnet.Apply, tnet.Delta, tnet.Ones, tnet.Zero} <= set(kinds)
    fallback = dispatch.registry[object]
    missing = [k.__name__ for k in kinds if dispatch.dispatch(k) is fallback]
    assert not missing, f"{dispatch.__name__} has no rule for {missing}"


def test_expressions_hash_by_identity_without_python_level_methods():
    for kind in [tnet.Expr, *_node_kinds()]:
        assert "__hash__" not in vars(kind) and "__eq__" not in vars(kind), kind


def test_every_error_class_lives_in_errors():
    for module, path in _package_files().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and (node.name.endswith("Error") or node.name.endswith("Exception")):
                assert module == "tnet.errors", f"{node.name} is defined in {module}"


def test_powers_are_typed():
    x = tnet.Variable("x", 3)
    p = x**3
    assert isinstance(p, tnet.Apply) and isinstance(p.fn, PowerFunction) and p.fn.exponent == 3.0
    assert (x**3).fn is p.fn


def test_registering_an_existing_name_raises_unless_replace():
    original = functions.get_function("exp")
    with pytest.raises(ValueError, match="already registered"):
        tnet.Function("exp", np.exp)
    assert functions.get_function("exp") is original
    try:
        replacement = tnet.Function("exp", np.exp, derivative=lambda x: tnet.exp(x), replace=True)
        assert functions.get_function("exp") is replacement
    finally:
        tnet.Function("exp", original.value, differential=original._differential, replace=True)
        functions._REGISTRY["exp"] = original
    assert functions.get_function("exp") is original


def test_a_binding_is_accepted_or_not_whatever_else_is_alive():
    x = tnet.Variable("x", 2)
    e = x @ x
    keep = tnet.Variable("unrelated", 2)  # alive, named, not part of e
    with pytest.raises(tnet.BindingError, match="unknown variable 'unrelated'"):
        tnet.evaluate(e, {"x": np.ones(2), "unrelated": np.ones(2)})
    del keep
    gc.collect()
    with pytest.raises(tnet.BindingError, match="unknown variable 'unrelated'"):
        tnet.evaluate(e, {"x": np.ones(2), "unrelated": np.ones(2)})
    assert tnet.evaluate(e, {"x": np.ones(2), "unrelated": np.ones(2)}, allow_unknown=True) == 2.0


def test_a_derived_expression_accepts_the_bindings_of_its_function():
    x = tnet.Variable("x", "n")
    h = tnet.hessian(x @ x, x)  # 2 I: x is gone, its size n is not
    np.testing.assert_allclose(tnet.evaluate(h, {"x": np.ones(3)}), 2 * np.eye(3))
    np.testing.assert_allclose(tnet.evaluate(h, {x: np.ones(3)}), 2 * np.eye(3))
    np.testing.assert_allclose(tnet.evaluate(h, sizes={"n": 2}), 2 * np.eye(2))
    with pytest.raises(tnet.BindingError, match="unknown variable 'y'.*derived from.*x"):
        tnet.evaluate(h, {"x": np.ones(3), "y": np.ones(3)})
    # the same object built directly (not derived) knows no x
    assert tnet.evaluate(2 * tnet.identity(4)).shape == (4, 4)


def test_caches_are_weak_and_clearable():
    gc.collect()
    before = expr.interned_count()
    x = tnet.Variable("x_cache_test", 4)
    for k in range(300):  # throwaway expressions, evaluated once each
        tnet.evaluate(tnet.sum(tnet.exp(x * float(k + 1))), {"x_cache_test": np.ones(4)})
    del x
    gc.collect()
    assert expr.interned_count() <= before + 2  # at most a stray leaf; not 600 networks
    a = tnet.Variable("a_cache_test", 3)
    e = a @ a
    value = tnet.evaluate(e, {"a_cache_test": np.arange(3.0)})
    compiler = importlib.import_module("tnet.compiler")
    assert compiler.evaluate(e, {"a_cache_test": np.arange(3.0)}) == value  # compile-and-run
    assert e in compiler._RUNS and e in evaluate._PROGRAMS and e in evaluate._PREPARED
    tnet.clear_caches()
    assert len(compiler._RUNS) == 0 and len(evaluate._PROGRAMS) == 0 and len(evaluate._PREPARED) == 0
    assert contract._cached_plan.cache_info().currsize == 0
    assert tnet.evaluate(e, {"a_cache_test": np.arange(3.0)}) == value
