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

# The suite runs in TEST_WORKERS processes (pytest-xdist), each with its own PostgreSQL and
# broker: most tests wait on a server, a broker or a browser, so two share the 2 cores well.
TEST_WORKERS ?= 2

test: lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

bench: $(STAMP)
	$(BIN)/storeflow bench edge --baseline bench/baseline_edge.json --tolerance 0.30
	$(BIN)/storeflow bench ingest
	$(BIN)/storeflow bench dashboard
	$(BIN)/storeflow bench pages
	$(BIN)/storeflow bench chain
	$(BIN)/storeflow bench backfill --days 14

clean:
	rm -rf $(VENV) .storeflow .pytest_cache .mypy_cache .ruff_cache
