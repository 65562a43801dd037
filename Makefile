# The two commands of the README: `make run` and `make test`. Both create .venv on first use:
# `make run` installs only what running needs, `make test` adds the development tools.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.runtime
STAMP := $(VENV)/.installed
CONFIG ?=
CONFIG_ARG := $(if $(CONFIG),--config $(CONFIG))
# tests run side by side in this many processes (pytest-xdist): most of the suite waits on real
# services, servers and file-system events, so two processes keep two cores busy
TEST_WORKERS ?= 2

.PHONY: run status errors pending check-config dist test test-slow test-faults lint bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# running needs the package and its runtime dependencies, nothing else
$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(RUN_STAMP) $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/wats-converter run $(CONFIG_ARG)

# the operator commands, for the service that `make run` (or CONFIG=FILE) runs
status: $(RUN_STAMP)
	$(BIN)/wats-converter status $(CONFIG_ARG)

errors: $(RUN_STAMP)
	$(BIN)/wats-converter errors list $(CONFIG_ARG)

pending: $(RUN_STAMP)
	$(BIN)/wats-converter pending list $(CONFIG_ARG)

check-config: $(RUN_STAMP)
	$(BIN)/wats-converter check-config --config $(or $(CONFIG),converters.yaml)

# a wheel in dist/ to install on a station PC: pip install dist/wats_converter-*.whl
dist: $(RUN_STAMP)
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .

# ruff holds the code budgets (complexity, parameters), lint-imports the layers contract
# (pyproject.toml); tests/test_budgets.py the module sizes
test: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not slow" -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# the whole fault suite, long versions included (200-iteration kill loop, 8,000-file burst)
test-faults: $(STAMP)
	$(BIN)/python -m pytest tests/faults -m "slow or not slow" -s $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) wats-data dist .pytest_cache .mypy_cache .ruff_cache
