# The two set-up commands: `make gallery` (render and verify every example of the paper)
# and `make test` (the test suite). Each installs what it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test gallery lint bench dot-program clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "error: tnet needs Python 3.10 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { echo "error: could not create a virtual environment; install python3-venv"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
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

test: $(STAMP) dot-program
	$(PY) -m pytest -q

gallery: $(STAMP) dot-program
	$(PY) -m gallery

lint: $(STAMP)
	$(PY) -m ruff check tnet render gallery tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/bench_contract.py
	$(PY) benchmarks/bench_diff.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
