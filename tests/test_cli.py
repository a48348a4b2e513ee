"""The command line (tnet/cli.py), run as a subprocess: `python -m tnet` and the console script
`tnet`; outputs, the --check figures, exit codes and the messages for bad input."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import tnet
from tnet.notation import parse_matrix
from tnet.notation.formula_in import parse_formula
from tnet.workbench import random_values

SCRIPT = Path(sys.executable).parent / "tnet"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tnet", *args], capture_output=True, text=True, timeout=120, cwd=cwd or "/"
    )


def test_gradient_in_matrix_notation_and_its_value():
    done = run("grad", "norm2(A*x - b)^2", "--wrt", "x")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "f = norm2(A*x - b)^2"
    assert lines[1].strip().startswith("where A: matrix")
    (line,) = [ln for ln in lines if ln.startswith("∇_x f = ")]
    printed = line.removeprefix("∇_x f = ")
    f = parse_formula("norm2(A*x - b)^2")
    rng = np.random.default_rng(0)
    values = {"A": rng.normal(size=(3, 2)), "x": rng.normal(size=2), "b": rng.normal(size=3)}
    got = tnet.evaluate(parse_matrix(printed, **f.variables), values, allow_unknown=True)
    np.testing.assert_allclose(got, 2 * values["A"].T @ (values["A"] @ values["x"] - values["b"]))


def test_formats_and_several_variables():
    done = run("grad", "x'*A*x", "--wrt", "x,A", "--format", "matrix,bracket,latex,mathml")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "∇_x f = A x + A^T x" in out
    assert "∇_A f = x x^T" in out
    assert "[bracket] " in out and "[latex] " in out
    (mathml,) = [ln.split("[mathml] ", 1)[1] for ln in out.splitlines() if "[mathml]" in ln][:1]
    ET.fromstring(mathml)
    repeated = run("grad", "x'*A*x", "--wrt", "x", "--wrt", "A")
    assert repeated.stdout == run("grad", "x'*A*x", "--wrt", "x,A").stdout


@pytest.mark.parametrize(
    "args, title",
    [
        (("grad", "log(det(X))", "--hessian"), "H_X f"),
        (("grad", "softmax(W*x)", "--jacobian", "--wrt", "x"), "J_x f"),
        (("grad", "tr(X*A*X')", "-d", "A: matrix n×n"), "∇_X f"),
        (("grad", "sum(exp(X*w)) + c*norm2(w)^2", "-d", "c: scalar"), "∇_c f"),
    ],
)
def test_check_passes(args, title):
    done = run(*args, "--check")
    assert done.returncode == 0, done.stderr
    assert title in done.stdout
    m = re.search(r"check: passed, largest relative error (\S+)", done.stdout)
    assert m, done.stdout
    assert float(m.group(1)) < 1e-6


def test_parse_error_shows_a_caret_and_exits_2():
    done = run("grad", "A*x + y'")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert "a column vector (n) and a row vector" in lines[0]
    assert lines[1] == "  A*x + y'"
    assert lines[2] == "      ^"


@pytest.mark.parametrize(
    "args, message",
    [
        (("grad", "foo(x)"), "unknown function 'foo'"),
        (("grad", "x'*y", "--wrt", "z"), "the formula does not use 'z'"),
        (("grad", "x", "--hessian"), "a Hessian needs a scalar formula"),
        (("grad", "x'*y", "--format", "pdf"), "unknown format pdf"),
        (("grad", "A*x", "-d", "A: tensor n"), "unknown kind 'tensor'"),
    ],
)
def test_bad_input(args, message):
    done = run(*args)
    assert done.returncode == 2
    assert message in done.stderr


def test_usage_errors_and_help():
    assert run().returncode == 2
    assert run("grad").returncode == 2
    assert run("grad", "x", "--hessian", "--jacobian").returncode == 2
    done = run("grad", "--help")
    assert done.returncode == 0
    assert 'tnet grad "norm2(A*x - b)^2" --wrt x' in done.stdout
    assert "--check" in done.stdout and "--draw" in done.stdout


def test_console_script():
    assert SCRIPT.exists(), "the console script `tnet` is not installed (pyproject.toml [project.scripts])"
    done = subprocess.run([str(SCRIPT), "grad", "x'*y", "--wrt", "x"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "∇_x f = y" in done.stdout


def test_draw_writes_every_stage(tmp_path):
    done = run("grad", "tr(X*A*X')", "--wrt", "X", "--draw", str(tmp_path / "out.svg"))
    assert done.returncode == 0, done.stderr
    files = sorted(tmp_path.glob("out-X-*.svg"))
    assert [f.name for f in files] == [
        "out-X-1-function.svg",
        "out-X-2-differential.svg",
        "out-X-3-gradient-before-simplification.svg",
        "out-X-4-gradient-after-simplification.svg",
    ]
    for f in files:
        assert ET.parse(f).getroot().tag.endswith("svg")
        assert f"wrote {f}" in done.stdout
    bad = run("grad", "x'*y", "--draw", str(tmp_path / "missing" / "out.svg"))
    assert bad.returncode == 2 and "cannot draw" in bad.stderr


# ---------------------------------------------------------------------------------------------
# --code: the derivatives as standalone code
# ---------------------------------------------------------------------------------------------
FORMULA = "norm2(A*x - b)^2"


def _code(done: subprocess.CompletedProcess) -> tuple[str, dict[str, int], str]:
    """The code printed after the "# --- code" line: (source, its sizes, its function's name)."""
    assert done.returncode == 0, done.stderr
    before, marker, source = done.stdout.partition("\n# --- code (")
    assert marker, done.stdout
    header, _, source = source.partition("\n")
    shown = header.split("; sizes ", 1)[1].split(";", 1)[0]
    sizes = {k: int(v) for k, v in (item.split("=") for item in shown.split(", "))}
    (function,) = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    return source, sizes, function.name


def _values(sizes: dict[str, int], seed: int = 1) -> dict[str, np.ndarray]:
    f = parse_formula(FORMULA)
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=tuple(sizes.get(s, s) for s in v.shape)) for k, v in f.variables.items()}


def _expected(values: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The gradients by x and A of norm2(A*x - b)^2, by numpy."""
    A, x, b = values["A"], values["x"], values["b"]
    return [2 * A.T @ (A @ x - b), 2 * np.outer(A @ x - b, x)]


def test_numpy_code_runs_without_tnet_and_matches(run_without_tnet):
    f = parse_formula(FORMULA)
    names = {s for v in f.variables.values() for s in v.shape if isinstance(s, str)}
    assert names == {"m", "n"}
    done = run("grad", FORMULA, "--wrt", "x,A", "--check", "--code", "numpy", "--sizes", "m=5,n=3")
    assert "check: passed" in done.stdout.split("# --- code", 1)[0]  # the code comes after the rest
    source, sizes, function = _code(done)
    assert sizes == {"m": 5, "n": 3}
    assert "tnet" not in source.replace("generated by tnet.compile", "")
    params = [a.arg for a in next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)).args.args]
    assert set(params) <= set(f.variables)  # the parameters are the formula's variable names
    values = _values(sizes)
    got = run_without_tnet(source, function, values, params)
    gradients = [tnet.grad(f.expr, f.variables[name]) for name in ("x", "A")]
    for k, (want, by_numpy) in enumerate(zip(tnet.evaluate(gradients, values), _expected(values))):
        np.testing.assert_allclose(got[k], want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got[k], by_numpy, rtol=1e-12, atol=1e-12)


def test_default_sizes_are_those_of_the_check():
    f = parse_formula(FORMULA)
    done = run("grad", FORMULA, "--wrt", "x", "--code", "numpy", "--seed", "3")
    _, sizes, _ = _code(done)
    values = random_values(f, seed=3)
    assert sizes == dict(zip(f.variables["A"].shape, values["A"].shape))
    _, partly, _ = _code(run("grad", FORMULA, "--wrt", "x", "--code", "numpy", "--seed", "3", "--sizes", "n=7"))
    assert partly == {**sizes, "n": 7}


@pytest.mark.parametrize("backend", ["torch", "jax", "dask"])
def test_other_backends_compile_and_match(backend, tmp_path):
    source, sizes, function = _code(run("grad", FORMULA, "--wrt", "x,A", "--code", backend, "--sizes", "m=4,n=3"))
    assert f"import {backend}" in source or f"from {backend}" in source
    compile(source, f"<{backend} code>", "exec")
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed: the code compiles, it is not run")
    params = [a.arg for a in next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)).args.args]
    values = _values(sizes)
    (tmp_path / "exported.py").write_text(source)
    np.savez(tmp_path / "env.npz", **values)
    module, convert = {
        "torch": ("torch", "torch.from_numpy"),
        "jax": ("jax.numpy", "jax.numpy.asarray"),
        "dask": ("dask.array", "dask.array.from_array"),
    }[backend]
    # in a child process: the library is not loaded into this one (JAX's threads and a later
    # fork of the test process do not mix)
    script = (
        f"import numpy as np, {module}\n"
        f"from exported import {function}\n"
        "env = np.load('env.npz')\n"
        f"out = {function}(*[{convert}(env[k]) for k in {params!r}])\n"
        "out = [o.compute() if hasattr(o, 'compute') else o for o in out]\n"
        "np.savez('out.npz', *[np.asarray(o) for o in out])\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True, timeout=300)
    got = np.load(tmp_path / "out.npz")
    tolerance = 1e-5 if backend == "jax" else 1e-12  # jax computes in float32 unless x64 is enabled
    for k, want in enumerate(_expected(values)):
        np.testing.assert_allclose(got[f"arr_{k}"], want, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize(
    "args, message",
    [
        (("--code", "tensorflow"), "unknown backend 'tensorflow' for --code; the backends are numpy, torch, jax, dask"),
        (("--code", "numpy", "--sizes", "n=x"), "cannot read the size 'n=x'"),
        (("--code", "numpy", "--sizes", "k=3"), "the formula has no size 'k'; its sizes are: m, n"),
        (("--code", "numpy", "--sizes", "n=0"), "size 'n' must be at least 1"),
        (("--sizes", "n=3"), "--sizes sets the sizes of the --code; give --code too"),
    ],
)
def test_bad_code_options(args, message):
    done = run("grad", FORMULA, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_help_explains_code():
    done = run("grad", "--help")
    assert "--code" in done.stdout and "--sizes" in done.stdout
    assert "--code numpy --sizes m=5,n=3" in done.stdout
