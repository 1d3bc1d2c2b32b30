# Twin Ledger. `make test` and `make run` work on a fresh clone: they create .venv and install
# the project with its dev extras first (again only when pyproject.toml changes).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# python3.11 when installed, else python3 (checked against requires-python below).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
PYTEST_ARGS ?=

.PHONY: test run lint fmt install bench fuzz

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required (python3.11 or python3)." >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else 1)' \
		|| { echo "$(PYTHON) is not Python 3.11 or 3.12." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Lint, format check, migrations in sync with the models, then the whole suite on PostgreSQL
# (DATABASE_URL when set, otherwise an embedded server in a scratch folder).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

# PostgreSQL (embedded, data in .data/ unless DATABASE_URL is set), migrations, demo data, and the
# web server on http://127.0.0.1:8000/admin/. Ctrl-C stops everything it started.
run: $(STAMP)
	$(BIN)/python -m scripts.run

# API fuzzing from our OpenAPI schema (schemathesis), longer than the few examples per operation
# that `make test` runs: FUZZ_EXAMPLES per operation (default 200), FUZZ_RANDOM=1 for new cases
# each run (make test's are fixed). On the test database (DATABASE_URL / TEST_DATABASE_NAME).
FUZZ_EXAMPLES ?= 200

fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -p no:randomly tests/api/test_schema_fuzz.py $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Performance measurements (JSON lines on stdout, progress on stderr) on scratch databases:
# ingest through gunicorn, the COPY limit, the django-hordak peer, balances; see benchmarks/run.py.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run
