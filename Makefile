# Everything bootstraps its own virtual environment in .venv (Python 3.11+, pip, make).
# Dependencies install from the lock file (uv.lock) with uv, which pip installs first into .uv/
# (pinned with hashes in requirements/uv.txt). Refresh the lock with `make lock` after changing
# pyproject.toml, or `make lock-upgrade` to move every package to its newest allowed release.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_HOME := .uv
UV := $(UV_HOME)/bin/uv
STAMP := $(VENV)/.installed-stamp
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Never download a Python: use the one given as PY.
export UV_PYTHON_DOWNLOADS := never

.PHONY: install demo test lint typecheck unit fmt migrate serve worker sandbox bench bench-big chaos clean \
	lock lock-upgrade

$(UV): requirements/uv.txt
	@test -x $(UV_HOME)/bin/python || $(PY) -m venv $(UV_HOME)
	@$(UV_HOME)/bin/python -m pip install --quiet --require-hashes -r requirements/uv.txt
	@touch $(UV)

# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set, every process (each test
# run, each server or worker a test starts) would otherwise compile every module it imports.
$(STAMP): pyproject.toml uv.lock $(UV) Makefile
	@$(UV) sync --quiet --locked --extra dev --compile-bytecode --python $(PY) || { \
	  echo "uv sync failed; if uv.lock is out of date with pyproject.toml, run 'make lock'" >&2; \
	  exit 1; }
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/conexapi demo

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	@sh scripts/ensure-browser.sh || echo "Browser tests need Debian's chromium (see above)."
	@$(BIN)/python -m compileall -q src tests bench
	$(BIN)/pytest

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

migrate: $(STAMP)
	$(BIN)/conexapi migrate

serve: $(STAMP)
	$(BIN)/conexapi serve

worker: $(STAMP)
	$(BIN)/conexapi worker

sandbox: $(STAMP)
	$(BIN)/conexapi sandbox

SALES ?= 2000

bench: $(STAMP)
	PYTHONPATH=. $(BIN)/python -m bench.run all

# Big sellers (issue 20): 1,000,000 + 10,000 sales in their own database, loaded once and
# reused; BIG=… SMALL=… load other sizes (the loader only adds what is missing).
BIG ?= 1000000
SMALL ?= 10000

bench-big: $(STAMP)
	PYTHONPATH=. nice -n 10 $(BIN)/python -m bench.big_load --big $(BIG) --small $(SMALL)
	PYTHONPATH=. $(BIN)/python -m bench.big

# The report is rendered even when the run finds a violation; the exit code is the run's.
chaos: $(STAMP)
	PYTHONPATH=. $(BIN)/python -m bench.chaos --sales $(SALES); status=$$?; \
	PYTHONPATH=. $(BIN)/python -m bench.report; exit $$status

lock: $(UV)
	$(UV) lock --python $(PY)

lock-upgrade: $(UV)
	$(UV) lock --upgrade --python $(PY)

clean:
	rm -rf $(VENV) $(UV_HOME) .pytest_cache .mypy_cache .ruff_cache conexapi.db*
