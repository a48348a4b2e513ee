"""Shared test configuration: hypothesis profiles and an importable checkout.

Profiles (pick one with the HYPOTHESIS_PROFILE environment variable; default "dev"):

- "dev": about 50 examples per property, for everyday runs;
- "ci": about 30 examples, no deadline, derandomized so that CI runs are reproducible, and no
  shrinking, so that a failing property fails in seconds (the printed blob reproduces the
  example; run it under "dev" to shrink it);
- "thorough": 500 examples, for a long hunt for counterexamples.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings

# `pytest` run from a plain checkout (no `pip install -e .`) still imports tnet.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

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
