# The README's commands. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: run test install assets browser migrate seed lint schema bench chaos clean

$(STAMP): pyproject.toml
	@# WeasyPrint (invoice PDFs) renders with Pango; Debian's package brings it and its fonts.
	@ldconfig -p | grep -q libpango-1.0 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

static/vendor/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error  # its postinstall copies the assets to static/vendor/
	touch static/vendor/.installed

## install: the virtual environment, Python packages and front-end assets
install: $(STAMP) static/vendor/.installed

assets: static/vendor/.installed

## browser: Debian's Chromium for the browser tests (Playwright drives it; nothing is downloaded)
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

migrate: install
	$(PY) manage.py migrate --noinput

## run: install, migrate, seed the demo firm on first run, start web + worker + beat
run: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_demo_staffing
	$(PY) manage.py seed_demo_billing
	$(PY) manage.py seed_demo_revenue
	$(PY) manage.py seed_demo_integrations
	scripts/run.sh

## test: install and run the whole suite (SQLite and the file broker unless DATABASE_URL /
## CELERY_BROKER_URL say otherwise; CI sets PostgreSQL and Redis)
test: install browser
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

schema: install
	$(PY) manage.py spectacular --validate --fail-on-warn --file var/schema.yml

## bench: the budgets of the issues, printed as ratios to a floor measured in the same run
bench: install
	$(PY) bench/pages.py
	$(PY) bench/seed.py
	$(PY) bench/sync_delivery.py
	$(PY) bench/deal_latency.py
	$(PY) bench/dashboard.py
	$(PY) bench/load.py

## chaos: the fault suite's long version (more events, every fault at higher rates, more
## workers); it restarts the machine's Redis. `make test` runs its short version.
chaos: install
	PSA_CHAOS_SCALE=$${PSA_CHAOS_SCALE:-5} \
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0} \
	$(VENV)/bin/pytest tests/integration/test_faults.py -s -q

clean:
	rm -rf var/broker var/celerybeat-schedule* staticfiles
