# The doors: make run, make test, make lint, make bench (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Installed versions are pinned in constraints.txt so every machine gets the same set.
# pip shows each package as it installs (a fresh install takes a couple of minutes).
PIP_INSTALL := $(BIN)/pip install --disable-pip-version-check --progress-bar off -c constraints.txt
# One line per step with the seconds it took: make run is never silent for long.
STEP = @printf '==> %s\n' $(1); start=$$(date +%s); $(2) && printf '==> %s: done in %ss\n' $(1) $$(( $$(date +%s) - start ))

.PHONY: install run worker migrate seed test lint format bench data clean druid druid-stop druid-status

$(BIN)/activate:
	$(call STEP,"creating the virtualenv in $(VENV)",$(PYTHON) -m venv $(VENV))

$(VENV)/.installed: $(BIN)/activate pyproject.toml constraints.txt
	$(call STEP,"installing Python packages (pinned in constraints.txt)",$(PIP_INSTALL) -e '.[dev]')
	$(call STEP,"fetching GraphiQL's and the API docs' files from the npm registry",$(BIN)/python -m backend assets)
	touch $@

install: $(VENV)/.installed

migrate: install
	$(call STEP,"applying database migrations",$(BIN)/python -m backend migrate)

seed: migrate
	$(call STEP,"queueing data.csv for datasource sales (when it has no data)",$(BIN)/python -m backend seed data.csv --datasource sales)

run: seed
	$(call STEP,"making sure an admin API token exists (var/admin-token)",$(BIN)/python -m backend tokens ensure-admin --file var/admin-token)
	@echo "==> serving on http://$(HOST):$(PORT) (Ctrl-C stops)"
	$(BIN)/uvicorn backend.main:app --host $(HOST) --port $(PORT)

worker: migrate
	$(BIN)/python -m backend worker

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check backend tests bench alembic
	$(BIN)/ruff format --check backend tests bench alembic
	$(BIN)/mypy

format: install
	$(BIN)/ruff format backend tests bench alembic
	$(BIN)/ruff check --fix backend tests bench alembic

bench: install
	$(BIN)/python bench/upload_throughput.py

data:
	$(PYTHON) bench/generate_sales.py --rows 1000 --out data.csv

# A local Apache Druid (druid/local/druid.py: standard library only, so the system python3 runs
# it before `make install`); its data lives in var/druid and survives druid-stop.
druid:
	python3 druid/local/druid.py start

druid-stop:
	python3 druid/local/druid.py stop

druid-status:
	python3 druid/local/druid.py status

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
