# Everything bootstraps its own virtual environment in .venv (Python 3.11+, pip, make).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint typecheck unit fmt migrate serve worker sandbox bench chaos clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
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

# The report is rendered even when the run finds a violation; the exit code is the run's.
chaos: $(STAMP)
	PYTHONPATH=. $(BIN)/python -m bench.chaos --sales $(SALES); status=$$?; \
	PYTHONPATH=. $(BIN)/python -m bench.report; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache conexapi.db*
