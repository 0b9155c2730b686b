# Everything a fresh clone needs: Python 3.11+ and the package registries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench conformance clean

# The install's chatter (build-backend warnings) goes to a log, shown only when it fails.
$(STAMP): pyproject.toml
	@echo "setting up $(VENV) (log: $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@$(BIN)/pip install --quiet -e '.[dev]' >> $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check runner tests bench scripts conformance
	$(BIN)/ruff format --check runner tests bench scripts conformance
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

# Prism (pinned in conformance/package-lock.json) goes into conformance/node_modules, never global.
conformance/node_modules/.package-lock.json: conformance/package.json conformance/package-lock.json
	npm ci --prefix conformance --no-audit --no-fund --loglevel=error

conformance: $(STAMP) conformance/node_modules/.package-lock.json
	$(BIN)/python conformance/check.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
