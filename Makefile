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

# Until the web platform exists, the main job is a guided run on the embedded database (pmm.db):
# the framework, the demo data (seeded once), then what each audience gets out of it.
run: install
	$(BIN)/pmm framework show wco-pmm-v1
	test -f pmm.db || $(BIN)/pmm demo
	$(BIN)/pmm cycle show 2024
	$(BIN)/pmm benchmark --cycle 2024 --kpi TF.1.1 --by region --as wb-pmmpt --format table
	$(BIN)/pmm gaps --cycle 2024 --member ALB --summary --format table --as ncp-alb

lint: install
	$(BIN)/ruff check src tests benchmarks

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/python benchmarks/composite_uncertainty.py
	$(BIN)/python benchmarks/measure_items.py
	$(BIN)/python benchmarks/global_report.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
