# Energy ingestion engine. `make run` starts everything; `make test` checks everything.
# Both set up what they need: the virtualenv, Kafka (jars from Maven Central, cached in
# ~/.cache/energy-ingest) and PostgreSQL (the machine's server binaries).
#
# Python packages come only from the lock, requirements/*.txt: every version pinned and
# every file checked by its sha256. pip installs uv from requirements/bootstrap.txt, then uv
# installs requirements/dev.txt. `make lock` refreshes the lock, `make lock-check` (part of
# `make lint`) fails when it no longer matches pyproject.toml.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSUMERS ?= 1
PG_REPLICA ?= 0
KAFKA_BROKERS ?= 1
PYTEST_ARGS ?=
# uv works on the virtualenv's own Python and never downloads one.
UV := UV_PYTHON_DOWNLOADS=never $(BIN)/uv
UV_INSTALL := $(UV) pip install --quiet --python $(BIN)/python
UV_COMPILE := $(UV) pip compile --quiet --python $(BIN)/python --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock"
LOCK_FILES := bootstrap build dev service tools
LOCK_CHECK := $(VENV)/lock-check

.PHONY: run test lint typecheck unit install lock lock-check clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/uv: requirements/bootstrap.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements/bootstrap.txt
	touch $@

# The project itself is installed editable in setuptools' compat mode (a path entry for the
# checkout): a new top-level package is importable without a reinstall.
$(BIN)/.installed: pyproject.toml requirements/dev.txt requirements/build.txt $(BIN)/uv
	$(UV_INSTALL) --require-hashes -r requirements/dev.txt
	$(UV_INSTALL) --no-deps --build-constraints requirements/build.txt -C editable_mode=compat -e .
	touch $@

install: $(BIN)/.installed  ## create .venv and install the locked versions with the dev tools

# $(1): the folder to write the lock into; $(2): more uv flags (--upgrade). A file already
# there is the starting point: without --upgrade its versions are kept where still allowed.
# dev.txt is the whole resolution; service.txt (what the service image runs) and tools.txt
# (the set-up image: + the app extra) are cut from it, so one version is locked for each.
define write-lock
	$(Q)$(UV_COMPILE) $(2) --extra dev -o $(1)/dev.txt pyproject.toml
	$(Q)$(UV_COMPILE) -c $(1)/dev.txt -o $(1)/service.txt pyproject.toml
	$(Q)$(UV_COMPILE) -c $(1)/dev.txt --extra app -o $(1)/tools.txt pyproject.toml
	$(Q)$(UV_COMPILE) $(2) -o $(1)/bootstrap.txt requirements/bootstrap.in
	$(Q)$(UV_COMPILE) $(2) -o $(1)/build.txt requirements/build.in
endef

lock: $(BIN)/uv  ## refresh the lock (requirements/*.txt) to the newest versions pyproject.toml allows
	$(call write-lock,requirements,--upgrade)

lock-check: Q := @
lock-check: $(BIN)/uv  ## fail when the lock is out of date with pyproject.toml (or requirements/*.in)
	@rm -rf $(LOCK_CHECK) && mkdir -p $(LOCK_CHECK) && cp requirements/*.txt $(LOCK_CHECK)/
	$(call write-lock,$(LOCK_CHECK),)
	@for f in $(LOCK_FILES); do \
		grep -E '^[^ #]' requirements/$$f.txt > $(LOCK_CHECK)/$$f.locked; \
		grep -E '^[^ #]' $(LOCK_CHECK)/$$f.txt > $(LOCK_CHECK)/$$f.fresh; \
		diff -u $(LOCK_CHECK)/$$f.locked $(LOCK_CHECK)/$$f.fresh >&2 \
			|| { echo "requirements/$$f.txt is out of date with pyproject.toml: run \`make lock\`" >&2; exit 1; }; \
	done
	@rm -rf $(LOCK_CHECK)

run: install  ## set up and run the stack: CONSUMERS=N replicas, PG_REPLICA=1 for a read standby, KAFKA_BROKERS=3 for a Kafka cluster
	$(BIN)/energy-ingest dev --consumers $(CONSUMERS) --kafka-brokers $(KAFKA_BROKERS) $(if $(filter 1,$(PG_REPLICA)),--pg-replica)

test: lint typecheck  ## lint, type-check, then the whole suite against a real Kafka and PostgreSQL
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: install  ## only the tests that need no services
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

lint: install lock-check  ## ruff (lint and format), and the lock up to date
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install  ## mypy --strict
	$(BIN)/mypy

clean:  ## remove the virtualenv and local data (not the cached Kafka jars)
	rm -rf $(VENV) .devstack .pytest_cache .mypy_cache .ruff_cache
