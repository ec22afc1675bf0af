# Storeflow — two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/storeflow demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/deptry .

test: lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/storeflow bench edge --baseline bench/baseline_edge.json --tolerance 0.30
	$(BIN)/storeflow bench ingest
	$(BIN)/storeflow bench dashboard
	$(BIN)/storeflow bench pages
	$(BIN)/storeflow bench chain
	$(BIN)/storeflow bench backfill --days 14

clean:
	rm -rf $(VENV) .storeflow .pytest_cache .mypy_cache .ruff_cache
