# slm: the two quick-start commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SLM    := $(VENV)/bin/slm
STAMP  := $(VENV)/.installed-stamp
AT     ?= 2026-11-01T00:00:00Z

.PHONY: install run test check lint types docs bench examples-data clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,dev]'
	@touch $(STAMP)

examples/data/shop.parquet: examples/generate_data.py | $(STAMP)
	$(PY) examples/generate_data.py

examples-data: examples/data/shop.parquet

# Serve the bundled example workspace (embedded SQLite in .slm/) on http://$(HOST):$(PORT)/.
# The example data ends at $(AT), so the evaluation clock replays from there (docs/serve.md).
HOST ?= 127.0.0.1
PORT ?= 8080
run: install examples-data
	$(SLM) validate examples
	@echo "slm: serving the example workspace: status at http://$(HOST):$(PORT)/api/v1/slos, API docs at /docs, metrics at /metrics (Ctrl-C stops)"
	$(SLM) serve examples --host $(HOST) --port $(PORT) --replay-at $(AT) --no-probes

test: install examples-data
	@scripts/ensure-postgres.sh
	@scripts/ensure-prometheus.sh
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check src tests bench examples scripts
	$(VENV)/bin/ruff format --check src tests bench examples scripts

# docs/cli.md's command reference is generated from the CLI (tests fail when it drifts).
docs: install
	$(PY) scripts/gen_cli_docs.py

types: install
	$(VENV)/bin/mypy

check: lint types test

bench: install
	$(PY) bench/engine.py
	$(PY) bench/rules.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .slm
