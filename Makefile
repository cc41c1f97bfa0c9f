# The two commands of the README. Both work on a fresh machine with Python 3.11+, make and git.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Phalanx needs Python 3.11 or newer: set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

## make demo: a hub on SQLite in ./.phalanx with a demo community, serving on 127.0.0.1:8800
demo: $(VENV)/.installed
	$(BIN)/phalanx init --demo
	$(BIN)/phalanx serve

## make test: lint, type-check and run the whole suite
test: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

## make bench: the side-by-side benchmarks (see benchmarks/README.md)
bench: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/bench_parse.py
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_query.py
	$(BIN)/python benchmarks/bench_taxii.py
	$(BIN)/python benchmarks/bench_federation.py
	$(BIN)/python benchmarks/bench_match.py
	$(BIN)/python benchmarks/bench_match_log.py
	$(BIN)/python benchmarks/bench_match_live.py
	$(BIN)/python benchmarks/bench_dashboard.py

clean:
	rm -rf $(VENV) .phalanx .mypy_cache .ruff_cache .pytest_cache
