# The doors: make run, make test, make lint, make bench (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# No `server: uvicorn` header; X-Forwarded-For is believed by the app only from TRUSTED_PROXIES
# (uvicorn's own default believes it from loopback). Dockerfile and docker-compose.yml agree.
UVICORN_FLAGS := --no-server-header --no-proxy-headers --ws-max-size 1048576 --http h11 --h11-max-incomplete-event-size 65536
# Installed versions are pinned in constraints.txt so every machine gets the same set.
# pip shows each package as it installs (a fresh install takes a couple of minutes).
PIP_INSTALL := $(BIN)/pip install --disable-pip-version-check --progress-bar off -c constraints.txt
# One line per step with the seconds it took: make run is never silent for long.
STEP = @printf '==> %s\n' $(1); start=$$(date +%s); $(2) && printf '==> %s: done in %ss\n' $(1) $$(( $$(date +%s) - start ))

.PHONY: install frontend dev-frontend run worker migrate seed test lint format bench data clean druid druid-stop druid-status

$(BIN)/activate:
	$(call STEP,"creating the virtualenv in $(VENV)",$(PYTHON) -m venv $(VENV))

$(VENV)/.installed: $(BIN)/activate pyproject.toml constraints.txt
	$(call STEP,"installing Python packages (pinned in constraints.txt)",$(PIP_INSTALL) -e '.[dev]')
	$(call STEP,"fetching GraphiQL's and the API docs' files from the npm registry",$(BIN)/python -m backend assets)
	touch $@

install: $(VENV)/.installed frontend

# The React app (frontend/): npm ci from the committed lockfile, then Vite builds frontend/dist,
# which the service serves at /. Without npm the API still works and / says what to install.
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f -not -path 'frontend/src/gql/*' 2>/dev/null)

frontend:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) -s --no-print-directory frontend/dist/index.html; \
	else echo "==> skipping the frontend: npm is not installed (apt-get install npm); / will say so"; fi

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	$(call STEP,"installing the frontend's packages (npm ci)",cd frontend && npm ci --no-audit --no-fund --loglevel=error)
	touch $@

frontend/dist/index.html: frontend/node_modules/.installed frontend/schema.graphql frontend/openapi.json frontend/index.html frontend/vite.config.ts frontend/codegen.ts $(FRONTEND_SOURCES)
	$(call STEP,"building the frontend (frontend/dist)",cd frontend && npm run --silent build)

# Vite's dev server on http://127.0.0.1:5173, proxying /graphql and /api to the service on :8000.
dev-frontend: frontend/node_modules/.installed
	cd frontend && npm run dev

migrate: install
	$(call STEP,"applying database migrations",$(BIN)/python -m backend migrate)

seed: migrate
	$(call STEP,"queueing data.csv for datasource sales (when it has no data)",$(BIN)/python -m backend seed data.csv --datasource sales)

run: seed
	$(call STEP,"making sure an admin API token exists (var/admin-token)",$(BIN)/python -m backend tokens ensure-admin --file var/admin-token)
	@$(BIN)/python -m backend users ensure-admin-link --base-url http://$(HOST):$(PORT)
	@echo "==> serving on http://$(HOST):$(PORT) (Ctrl-C stops)"
	$(BIN)/uvicorn backend.main:app --host $(HOST) --port $(PORT) $(UVICORN_FLAGS)

worker: migrate
	$(BIN)/python -m backend worker

# Two test processes (pytest-xdist): ~700 tests each start a server, worker or CLI process and wait on
# it, so the second core works while the first waits. They share one Druid (tests/druid_local.py).
# worksteal: an idle worker takes tests queued on the other, so a long test does not end the run alone.
# Tests marked `solo` (a liveness bound under load, the browser suite) then run alone, one process:
# beside the other worker they measured its load, not ours. Both steps run; either failing fails,
# but a step whose selection is empty (pytest's status 5: PYTEST_ADDOPTS or -k chose none of its
# tests) is no failure, unless both are.
TEST_WORKERS ?= 2
test: install
	@workers=0; solo=0; \
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal -m "not solo" || workers=$$?; \
	$(BIN)/pytest -m solo || solo=$$?; \
	if [ $$workers = 5 ] && [ $$solo = 5 ]; then exit 5; fi; \
	for status in $$workers $$solo; do \
		if [ $$status != 0 ] && [ $$status != 5 ]; then exit $$status; fi; \
	done

lint: install
	$(BIN)/ruff check backend tests bench alembic
	$(BIN)/ruff format --check backend tests bench alembic
	$(BIN)/mypy
	$(BIN)/lint-imports
	@if command -v npm >/dev/null 2>&1; then cd frontend && npm run --silent lint; else echo "==> skipping the frontend's lint: npm is not installed"; fi

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
