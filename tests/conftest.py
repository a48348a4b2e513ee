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
import sys
from pathlib import Path

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
