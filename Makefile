# Two commands matter: `make run` (the whole product on this machine) and `make test` (what CI runs).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(VENV)/.runtime: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)" % sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

.PHONY: venv
venv: $(VENV)/.runtime ## Create or update the virtualenv with the runtime packages

.PHONY: run
run: venv ## Run the whole product (embedded default: SQLite, no Redis, sandbox, demo data)
	DEBUG=$${DEBUG:-1} $(PY) manage.py serve --port $(PORT)

.PHONY: system-deps
system-deps: ## Install the Debian packages the tests need (as root), or say which are missing
	@bash scripts/system-deps.sh

.PHONY: lint
lint: $(VENV)/.dev ## Ruff lint and format check, mypy (strict) on the typed core
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(VENV)/bin/mypy

.PHONY: format
format: $(VENV)/.dev ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: migrations-check
migrations-check: $(VENV)/.dev ## Fail when models and migrations disagree
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

.PHONY: compose-check
compose-check: system-deps ## Validate docker-compose.yml
	docker-compose -f docker-compose.yml config -q
	@echo "docker-compose.yml is valid"

.PHONY: js-test
js-test: ## JavaScript unit tests of the pages' logic modules (node --test)
	@if command -v node >/dev/null 2>&1; then \
		node --test $$(find static voice_sandbox -name '*.test.mjs' -not -path '*/node_modules/*'); \
	else echo "node is not installed: JavaScript unit tests skipped"; fi

.PHONY: test
test: $(VENV)/.dev system-deps lint migrations-check compose-check js-test ## Lint, checks, JS tests and the whole suite on PostgreSQL + Redis
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: bench
bench: $(VENV)/.dev ## Run the benchmarks in bench/ (prints figures and ratios)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

.PHONY: clean
clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var .pytest_cache .ruff_cache
