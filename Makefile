# telebill developer entry points. `make run` and `make test` work on a fresh machine with
# Python 3.11+ and make; PostgreSQL for the test run is started from the machine's binaries.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint types arch unit test-sqlite test-postgres bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/telebill db upgrade
	$(BIN)/telebill demo
	$(BIN)/telebill serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

types: $(STAMP)
	$(BIN)/mypy

arch: $(STAMP)
	$(BIN)/lint-imports

test-sqlite: $(STAMP)
	scripts/ensure-java.sh
	$(BIN)/pytest -W error -q -p no:cacheprovider tests

test-postgres: $(STAMP)
	scripts/ensure-java.sh
	scripts/with-postgres.sh $(BIN)/pytest -W error -q -p no:cacheprovider tests/integration tests/e2e

test: lint types arch test-sqlite test-postgres

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/charging.py
	$(BIN)/python bench/bulk.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis src/*.egg-info
