# Energy ingestion engine. `make run` starts everything; `make test` checks everything.
# Both set up what they need: the virtualenv, Kafka (jars from Maven Central, cached in
# ~/.cache/energy-ingest) and PostgreSQL (the machine's server binaries).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSUMERS ?= 1
PYTEST_ARGS ?=

.PHONY: run test lint typecheck unit install clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --config-settings editable_mode=compat -e ".[dev]"
	touch $@

install: $(BIN)/.installed  ## create .venv and install the project with its dev tools

run: install  ## set up and run Kafka, PostgreSQL, gateway, consumers (CONSUMERS=N) and analytics
	$(BIN)/energy-ingest dev --consumers $(CONSUMERS)

test: lint typecheck  ## lint, type-check, then the whole suite against a real Kafka and PostgreSQL
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: install  ## only the tests that need no services
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

lint: install  ## ruff
	$(BIN)/ruff check .

typecheck: install  ## mypy --strict
	$(BIN)/mypy

clean:  ## remove the virtualenv and local data (not the cached Kafka jars)
	rm -rf $(VENV) .devstack .pytest_cache .mypy_cache .ruff_cache
