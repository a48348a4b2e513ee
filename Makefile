# The two set-up commands: `make gallery` (render and verify every example of the paper)
# and `make test` (the test suite). Each installs what it needs on a fresh machine.
# The tests need the optional extra `hyper` (cotengra) too, so that none of them is skipped.
# `make check` runs the linters and the type checker; CI (.ci/run) runs `make check test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test gallery check lint bench dist dot-program clean

# tnet is installed in editable mode: the one package `tnet`, with the folder render/ mapped
# into it as `tnet.render` (pyproject.toml). The distribution was once called `tnet`: an
# editable install under that old name would keep render/ and gallery/ importable as
# top-level modules, so it is removed.
# torch from the package index is the CUDA build, about 5.5 GB in the venv (a disk that CI runs
# fill up). Where pip's configured find-links hold a torch wheel (a CPU build, as on the CI
# machine), it is installed first, without the index, and the extras keep it (1.5 GB for
# torch and jax together); elsewhere that step finds nothing and the index gives torch.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "error: tnet needs Python 3.10 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { echo "error: could not create a virtual environment; install python3-venv"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	@if $(PY) -m pip show --quiet tnet >/dev/null 2>&1; then $(PY) -m pip uninstall --quiet --yes tnet; fi
	@$(PY) -m pip show --quiet torch >/dev/null 2>&1 || \
		if $(PY) -m pip install --quiet --no-index --no-deps torch >/dev/null 2>&1; then \
			echo "torch: took the wheel in pip's find-links ($$($(PY) -m pip show torch | sed -n 's/^Version: //p'))"; fi
	$(PY) -m pip install --quiet -e '.[test,hyper,backends]'
	@touch $(STAMP)

# The Graphviz `dot` program: installed with apt-get when missing and we are root.
dot-program:
	@command -v dot >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing graphviz (the dot program) with apt-get"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) || \
			{ echo "error: apt-get could not install graphviz"; exit 1; }; \
		else \
			echo "error: the Graphviz 'dot' program is missing; install it (e.g. 'sudo apt-get install graphviz' or 'brew install graphviz') and run make again"; \
			exit 1; \
		fi; }

# The venv's pytest script, not `python -m pytest`, which would put the checkout on sys.path:
# the tests import the installed tnet (and pytest's --import-mode=importlib, in pyproject.toml,
# adds nothing to sys.path either).
test: $(STAMP) dot-program
	$(VENV)/bin/pytest -q

# The gallery is a tool of the repository, run from the checkout; it rewrites gallery/.
gallery: $(STAMP) dot-program
	$(PY) -m gallery --out gallery

check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/bench_contract.py
	$(PY) benchmarks/bench_diff.py
	$(PY) benchmarks/bench_scale.py
	$(PY) benchmarks/bench_backends.py

# The wheel, in dist/. setuptools copies into build/lib and would ship whatever an earlier
# build left there, so that goes first.
dist: $(STAMP)
	rm -rf build/lib build/bdist.* dist
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache build dist *.egg-info
