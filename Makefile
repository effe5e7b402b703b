# Two commands for a fresh machine (Python 3.11+, PostgreSQL 15 server binaries, Java 17):
#   make run    set everything up and run the platform on the embedded SQLite database
#   make test   set everything up and run the whole test suite (starts its own PostgreSQL and Spark)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.5"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/pmm framework show wco-pmm-v1

lint: install
	$(BIN)/ruff check src tests benchmarks

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
