# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
DEMO_DB ?= $(CURDIR)/callhistory.db
DEMO_KEY ?= $(DEMO_DB).demo-key
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run demo-reset test lint format typecheck install clean bench bench-api soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP) $@

install: $(STAMP)

# A demo tenant with realistic calls in SQLite, its key, then the API on $(HOST):$(PORT).
# A demo database that already has calls is kept (`make demo-reset` rebuilds it), with
# the key saved beside it; a taken port stops it before any data is touched.
run: $(STAMP)
	@export CALLHISTORY_DATABASE_URL=$${CALLHISTORY_DATABASE_URL:-sqlite:///$(DEMO_DB)}; \
		$(BIN)/callhistory demo --base-url http://$(HOST):$(PORT) --key-file "$(DEMO_KEY)" \
			--check-port $(HOST):$(PORT) >/dev/null && \
		exec $(BIN)/callhistory serve --host $(HOST) --port $(PORT)

# Rebuild the demo tenant from scratch (new calls, new key); `make run` then serves it.
demo-reset: $(STAMP)
	@export CALLHISTORY_DATABASE_URL=$${CALLHISTORY_DATABASE_URL:-sqlite:///$(DEMO_DB)}; \
		$(BIN)/callhistory demo --reset --base-url http://$(HOST):$(PORT) \
			--key-file "$(DEMO_KEY)" >/dev/null

test: $(DEV_STAMP)
	@# the dashboard's browser suite drives Debian's Chromium (browsers are not downloaded)
	@command -v chromium >/dev/null || apt-get install -y chromium || \
		(apt-get update && apt-get install -y chromium)
	$(BIN)/ruff check src tests bench migrations scripts
	$(BIN)/ruff format --check src tests bench migrations scripts
	$(BIN)/mypy src
	$(BIN)/pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench migrations scripts
	$(BIN)/ruff format --check src tests bench migrations scripts

format: $(DEV_STAMP)
	$(BIN)/ruff format src tests bench migrations scripts
	$(BIN)/ruff check --fix src tests bench migrations scripts

typecheck: $(DEV_STAMP)
	$(BIN)/mypy src

# Ingest throughput into PostgreSQL against its targets (minutes; not part of `make test`).
bench: $(DEV_STAMP)
	@# single posts come from wrk, a C load generator (docs/ingest-throughput.md)
	@command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(BIN)/python -m bench.ingest

# Read-path benchmark: loads BENCH_CALLS calls into a fresh PostgreSQL database (dropped
# after), serves them with 2 workers, 16 clients per query (docs/performance.md).
BENCH_CALLS ?= 10000000
bench-api: $(DEV_STAMP)
	$(BIN)/python -m bench.api --calls $(BENCH_CALLS)

# Soak: a fresh PostgreSQL database with a tenant of SOAK_CALLS calls, 2 workers, the
# mixed load at 70% of the peak measured over 60 s (long enough to include the webhook
# deliveries the load causes) for SOAK_SECONDS; latency, errors, server RSS, nothing lost
# (docs/reliability.md).
SOAK_SECONDS ?= 600
SOAK_CALLS ?= 200000
soak: $(DEV_STAMP)
	$(BIN)/python -m bench.soak --find-peak --seed-calls $(SOAK_CALLS) --duration $(SOAK_SECONDS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache callhistory.db callhistory.db-* \
		callhistory.db.demo-key
