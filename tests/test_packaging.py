"""Packaging: one installed package, `tnet`, with the drawing code of the folder render/ mapped
into it as `tnet.render` (pyproject.toml); the gallery, the tests and the benchmarks stay in the
repository. The wheel is built offline (setuptools and wheel are test extras) and installed
into a fresh virtual environment, which must import tnet and tnet.render from itself, not from
the checkout, and must know no top-level `render` or `gallery`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import graphviz
import networkx
import numpy
import pytest

import tnet

ROOT = Path(__file__).resolve().parent.parent
DIST = "tnet_calculus"  # the distribution `tnet-calculus`, normalized as in wheel file names
IGNORED = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis")

#: run by a python whose environment has tnet installed, from a folder outside the checkout
PROBE = """
import json, sys
import tnet
core_alone = "tnet.render" not in sys.modules
import tnet.render
from tnet.errors import UnsupportedFormatError

top_level = {}
for name in ("render", "gallery"):
    try:
        __import__(name)
        top_level[name] = True
    except ModuleNotFoundError:
        top_level[name] = False
print(json.dumps({
    "prefix": sys.prefix,
    "tnet": tnet.__file__,
    "render": tnet.render.__file__,
    "core_alone": core_alone,
    "top_level": top_level,
    "finders": [getattr(f, "__module__", "") or "" for f in sys.meta_path],
    "same_error": tnet.render.UnsupportedFormatError is UnsupportedFormatError,
    "draws": tnet.render.to_dot(tnet.Variable("X", 2, 3)).source.startswith("digraph"),
}))
"""


def probe(python: str | Path, cwd: Path, env: dict[str, str] | None = None) -> dict:
    done = subprocess.run([str(python), "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built with the test environment's setuptools (no download).

    It is built from a copy of the checkout without its ignored outputs: setuptools builds in
    ./build/lib and ships whatever an earlier build left there (an old top-level render/, say),
    and the copy also leaves the checkout free of build/ and *.egg-info."""
    src = tmp_path_factory.mktemp("checkout") / "tnet"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*IGNORED))
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out), "."],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (found,) = out.glob(f"{DIST}-*.whl")
    return found


def test_the_wheel_holds_only_the_package_tnet(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = [n for n in names if n.split("/")[0].endswith(".dist-info")]
    assert {n.split("/")[0] for n in dist_info} == {f"{DIST}-{wheel.name.split('-')[1]}.dist-info"}
    package = sorted(set(names) - set(dist_info))
    assert package and all(n.startswith("tnet/") for n in package), package
    assert "tnet/py.typed" in package
    assert {n for n in package if n.startswith("tnet/render/")} == {
        f"tnet/render/{p.name}" for p in (ROOT / "render").glob("*.py")
    }
    core = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tnet").rglob("*.py") if "__pycache__" not in p.parts}
    assert core <= set(package), core - set(package)
    assert not any(n.endswith(".pyc") for n in names)

    metadata = zipfile.ZipFile(wheel).read(next(n for n in dist_info if n.endswith("/METADATA"))).decode()
    assert "\nName: tnet-calculus\n" in metadata
    top_level = [n for n in dist_info if n.endswith("/top_level.txt")]
    if top_level:  # written by setuptools, not required by the wheel format
        assert zipfile.ZipFile(wheel).read(top_level[0]).decode().split() == ["tnet"]


def test_a_fresh_environment_imports_tnet_and_tnet_render_from_the_wheel(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    # numpy, networkx and graphviz come from the test environment, offline, through PYTHONPATH.
    # PYTHONPATH entries are not site directories: their .pth files are not run, so the editable
    # install of this checkout that lives there (a .pth that adds an import finder) stays off.
    deps = {str(Path(m.__file__).parent.parent) for m in (numpy, networkx, graphviz)}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH")}
    env["PYTHONPATH"] = os.pathsep.join(sorted(deps))
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    seen = probe(python, cwd, env)

    assert Path(seen["prefix"]).resolve() == venv.resolve()
    assert not any("__editable__" in f for f in seen["finders"]), seen["finders"]
    here = venv.resolve()
    message = "imported from outside the fresh environment (a non-editable tnet in the test environment?)"
    assert Path(seen["tnet"]).resolve().is_relative_to(here), (seen["tnet"], message)
    assert Path(seen["render"]).resolve().is_relative_to(here), (seen["render"], message)
    assert Path(seen["render"]).resolve().parent == Path(seen["tnet"]).resolve().parent / "render"
    assert seen["top_level"] == {"render": False, "gallery": False}
    assert seen["core_alone"], "import tnet must not load tnet.render"
    assert seen["same_error"] and seen["draws"]


def test_the_editable_install_maps_render_into_tnet(tmp_path):
    """`pip install -e .` (what make does) serves tnet from tnet/ and tnet.render from render/,
    to any python of the environment, wherever it runs, and adds no top-level names."""
    if Path(tnet.__file__).resolve().parent != ROOT / "tnet":
        pytest.skip("tnet is not an editable install of this checkout")
    seen = probe(sys.executable, tmp_path)
    assert Path(seen["tnet"]).resolve() == ROOT / "tnet" / "__init__.py"
    assert Path(seen["render"]).resolve() == ROOT / "render" / "__init__.py"
    assert seen["top_level"] == {"render": False, "gallery": False}
    assert seen["core_alone"] and seen["same_error"] and seen["draws"]


def test_the_tests_do_not_have_the_checkout_on_sys_path():
    """The tests see tnet as it is installed: run them with the venv's `pytest` (make test), not
    `python -m pytest`, which puts the current folder on sys.path."""
    entries = {Path(p or os.getcwd()).resolve() for p in sys.path}
    assert ROOT not in entries and ROOT / "tests" not in entries, (
        "the checkout is on sys.path: run the tests with the venv's pytest script (make test), not python -m pytest"
    )
