# Two commands for a fresh machine (Python 3.11+, PostgreSQL 15 server binaries, Java 17):
#   make run    install what running needs, then a short tour on the embedded SQLite database
#   make test   install the test tools and Spark too, then the whole suite (starts its own
#               PostgreSQL and Spark)
# Each install is remembered by a stamp file in .venv and redone when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-stamp
TEST_STAMP := $(VENV)/.test-stamp
PMM := $(BIN)/pmm

.PHONY: install install-run run tour test lint bench clean chromium

$(BIN)/python:
	@echo "==> Creating the virtual environment $(VENV) ($(PYTHON))"
	$(PYTHON) -m venv $(VENV)
	@echo "==> Installing uv, the package installer"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.5"

# What running needs: the package and its dependencies, without the test tools and Spark
# (0.7 GB installed instead of 1.2 GB with them). uv prints its progress.
$(RUN_STAMP): pyproject.toml Makefile | $(BIN)/python
	@echo "==> Installing customs-pmm and what it needs to run"
	$(BIN)/uv pip install --python $(BIN)/python -e ".[web]"
	touch $@

# The test tools (pytest, Hypothesis, ruff) and the Spark extra, on top.
$(TEST_STAMP): pyproject.toml $(RUN_STAMP)
	@echo "==> Installing the test tools and Apache Spark (about 0.5 GB more, once)"
	$(BIN)/uv pip install --python $(BIN)/python -e ".[dev]"
	touch $@

install-run: $(RUN_STAMP)

# Everything a developer needs (the test install).
install: $(TEST_STAMP)

# The main job: the web platform on the embedded database (pmm.db), with the demo data seeded
# once. `make tour` is the same data on the command line.
run: install-run
	@if [ -f pmm.db ]; then echo "==> Demo data: already in pmm.db"; \
	 else echo "==> Seeding the demo data into pmm.db (pmm demo, a few minutes once)"; $(PMM) demo; fi
	@echo "==> Demo sign-ins (password pmm-demo-2024 for all): secretariat, admin, reviewer1..3,"
	@echo "    wb-pmmpt, and ncp-<iso3> / viewer-<iso3> of participating members (e.g. ncp-alb)"
	@echo "==> Serving the platform at http://127.0.0.1:8000/ (Ctrl-C stops it)"
	$(PMM) serve --host 127.0.0.1 --port 8000

tour:
	@echo ""
	@echo "==> The mechanism as data (pmm framework list; details: pmm framework show)"
	@$(PMM) framework list
	@if [ -f pmm.db ]; then echo "==> Demo data: already in pmm.db"; \
	 else echo "==> Seeding the demo data into pmm.db (pmm demo, a few minutes once)"; $(PMM) demo; fi
	@echo ""
	@echo "==> The cycles, as the Secretariat sees them (pmm cycle list --as secretariat)"
	@$(PMM) cycle list --as secretariat
	@echo ""
	@echo "==> What a WCO working body sees of TF.1.1, electronic declarations, by WCO region"
	@$(PMM) benchmark --cycle 2024 --kpi TF.1.1 --by region --as wb-pmmpt --format table
	@echo ""
	@echo "==> Albania's capacity-building plan, by type of support"
	@$(PMM) gaps --cycle 2024 --member ALB --summary --format table --as ncp-alb
	@echo ""
	@echo "Next: source $(BIN)/activate, then try the commands of the README's tour"
	@echo "(pmm --help; pmm framework show; pmm submission template --cycle 2024 --member ARE -o are.xlsx --as ncp-are)."

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used):
# installed here when it is missing and we may (root).
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi

test: lint chromium
	$(BIN)/pytest

bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/composite_uncertainty.py
	$(BIN)/python benchmarks/measure_items.py
	$(BIN)/python benchmarks/global_report.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis test-artifacts
