"""The command line (tnet/cli.py), run as a subprocess: `python -m tnet` and the console script
`tnet`; outputs, the --check figures, exit codes and the messages for bad input."""

from __future__ import annotations

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
