# Kaketsuke — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
export FLASK_APP := wsgi

.PHONY: run test install install-dev translations lint test-sqlite test-postgres diagram clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed translations

install-dev: $(VENV)/.installed-dev translations

translations: | $(BIN)/python
	$(BIN)/python scripts/compile_translations.py

## run: migrate, load the demo data, serve on 127.0.0.1:$(PORT) with the notification worker
##      and the syslog receiver (127.0.0.1:5514 tcp/udp)
run: install
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@echo "Kaketsuke: http://127.0.0.1:$(PORT)/  (API docs: http://127.0.0.1:$(PORT)/api/swagger)"
	@echo "Worker: sends messages and fires escalation timers. Syslog receiver: 127.0.0.1:5514 tcp/udp."
	@echo "Ctrl-C stops web, worker and receiver."
	$(BIN)/python scripts/run_dev.py --host 127.0.0.1 --port $(PORT)

## test: lint, the suite on SQLite, then again on PostgreSQL when it is reachable
test: install-dev lint test-sqlite test-postgres

## lint: ruff, and the layering contracts of pyproject.toml (import-linter)
lint:
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test-sqlite:
	$(BIN)/pytest

test-postgres:
	@if $(BIN)/python -m scripts.db_reachable "$(PG_TEST_URL)"; then \
		echo "== PostgreSQL pass ($(PG_TEST_URL)) =="; \
		TEST_DATABASE_URL="$(PG_TEST_URL)" $(BIN)/pytest -m "not browser"; \
	elif [ "$$CI" = "true" ]; then \
		echo "FAILED: PostgreSQL is not reachable at $(PG_TEST_URL); CI must run the suite on it." >&2; \
		exit 1; \
	else \
		echo "SKIPPED the PostgreSQL pass: nothing answers at $(PG_TEST_URL) (set PG_TEST_URL to run it)."; \
	fi

diagram: install
	$(BIN)/flask workflow diagram

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
