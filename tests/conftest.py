"""Shared test configuration: hypothesis profiles, and the gallery loaded from the checkout.

Profiles (pick one with the HYPOTHESIS_PROFILE environment variable; default "dev"):

- "dev": about 50 examples per property, for everyday runs;
- "ci": about 30 examples, no deadline, derandomized so that CI runs are reproducible, and no
  shrinking, so that a failing property fails in seconds (the printed blob reproduces the
  example; run it under "dev" to shrink it);
- "thorough": 500 examples, for a long hunt for counterexamples.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings

# The tests import the installed tnet (`make` installs it with `pip install -e .`), never the
# folders of the checkout: the Makefile runs the venv's `pytest` script and pyproject.toml sets
# --import-mode=importlib, so neither the checkout nor tests/ is on sys.path, and `render` is
# importable only as `tnet.render`, as in any installed environment.
#
# The gallery is a tool of the repository and is not installed. The tests that use it
# (test_gallery.py, test_browser.py, test_render.py) call into it in-process (they monkeypatch
# it and look at its reports), so it is loaded here by path, under its own name `gallery` and
# nothing else; its submodules then import as usual through the package's __path__. Its
# __init__.py imports nothing, so this costs nothing until a test imports a submodule. The
# command line (`python -m gallery --out DIR`) is tested as a subprocess run from the checkout.
_GALLERY = Path(__file__).resolve().parent.parent / "gallery"


def _load_gallery() -> None:
    if "gallery" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(
        "gallery", _GALLERY / "__init__.py", submodule_search_locations=[str(_GALLERY)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gallery"] = module
    spec.loader.exec_module(module)


_load_gallery()

_COMMON = {
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

settings.register_profile("dev", max_examples=50, deadline=None, **_COMMON)
settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    **_COMMON,
)
settings.register_profile("thorough", max_examples=500, deadline=None, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def run_without_tnet(tmp_path: Path) -> Callable[[str, str, Mapping[str, np.ndarray], Sequence[str]], list[np.ndarray]]:
    """run(source, function, arrays, params): the exported `source` saved as a module and its
    `function` called on `arrays[p] for p in params`, in a fresh interpreter that sees numpy and
    nothing else (-I: no PYTHONPATH or user site; -S: no site-packages, where tnet is
    installed; numpy through a folder of links to it alone). The results, in order."""

    def run(source: str, function: str, arrays: Mapping[str, np.ndarray], params: Sequence[str]) -> list[np.ndarray]:
        (tmp_path / "exported.py").write_text(source)
        np.savez(tmp_path / "env.npz", **arrays)
        site = Path(np.__file__).parent.parent
        script = (
            f"import os, sys, tempfile\nsys.path[:0] = [{str(tmp_path)!r}]\n"
            "only = tempfile.mkdtemp()\n"
            f"for name in os.listdir({str(site)!r}):\n"
            "    if name.startswith('numpy'):\n"
            f"        os.symlink(os.path.join({str(site)!r}, name), os.path.join(only, name))\n"
            "sys.path.append(only)\n"
            "import numpy as np\n"
            "assert 'tnet' not in sys.modules\n"
            f"from exported import {function}\n"
            "env = np.load('env.npz')\n"
            f"out = {function}(*[env[k] for k in {list(params)!r}])\n"
            "np.savez('out.npz', *out)\n"
            "import importlib.util; assert importlib.util.find_spec('tnet') is None\n"
        )
        subprocess.run([sys.executable, "-I", "-S", "-c", script], cwd=tmp_path, check=True, timeout=120)
        got = np.load(tmp_path / "out.npz")
        return [got[f"arr_{k}"] for k in range(len(got.files))]

    return run
