# The README's two commands: `make run` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: run test bench lint format clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -e ".[dev]"
	touch $@ $(VENV)/.installed

## run: install, migrate, create the demo user, start web + worker + Salesforce emulator.
## Ctrl-C stops every process it started. RUN_ARGS go to rundev (e.g. --addr 127.0.0.1:8001).
run: $(VENV)/.installed
	$(PY) scripts/make_env.py
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_demo
	$(PY) manage.py rundev $(RUN_ARGS)

## test: install the development tools, lint, and run the whole suite.
test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest

## bench: the sync benchmarks of docs/PERFORMANCE.md, e.g. make bench ARGS="--quick --only B5".
bench: $(VENV)/.installed
	$(PY) -m benchmarks $(ARGS)

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var db.sqlite3 db.sqlite3-wal db.sqlite3-shm
