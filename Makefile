# Two commands for a fresh machine (Python 3.11+, PostgreSQL 15 server binaries, Java 17):
#   make run    set everything up and run the platform on the embedded SQLite database
#   make test   set everything up and run the whole test suite (starts its own PostgreSQL and Spark)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint bench clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.5"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The main job: the web platform on the embedded database (pmm.db), with the demo data seeded once.
run: install
	test -f pmm.db || $(BIN)/pmm demo
	@echo "Demo sign-ins (password pmm-demo-2024 for all): secretariat, reviewer1..3, wb-pmmpt,"
	@echo "  ncp-<iso3> and viewer-<iso3> of each participating member (e.g. ncp-alb); see pmm user list"
	$(BIN)/pmm serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check src tests benchmarks

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used):
# installed here when it is missing and we may (root).
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi

test: lint chromium
	$(BIN)/pytest

bench: install
	$(BIN)/python benchmarks/composite_uncertainty.py
	$(BIN)/python benchmarks/measure_items.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis test-artifacts
