# The catalog's everyday commands. `make run` and `make test` do all the set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
PG_URL ?= postgres://postgres@127.0.0.1:5432/ldn_catalog
PORT ?= 8000
# `make run` keeps the cache in files here, so that `warm_catalog` computes the catalog's
# counts for the server ahead of the first page (docs/deployment.md).
CACHE_DIR ?= .cache/django
export SECRET_KEY ?= insecure-key-for-local-runs-and-tests-only

.PHONY: install run test test-postgres test-e2e lint format migrations-check catalog catalog-check reload clean

$(BIN)/.installed: requirements-dev.lock requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

install: $(BIN)/.installed

## Start the site on SQLite with the curated catalog loaded: http://127.0.0.1:8000/
## (The catalog is loaded when the database holds no study yet, e.g. a new db.sqlite3 or the
## empty file another command left; `make reload` starts again from the catalog.)
run: install
	unset DATABASE_URL; DEBUG=1 $(MANAGE) migrate --noinput
	@unset DATABASE_URL; if DEBUG=1 $(MANAGE) shell -c \
	  "from studies.models import Study; raise SystemExit(Study.objects.exists())"; then \
	  echo "Loading the curated catalog"; DEBUG=1 $(MANAGE) loaddata catalog; fi
	unset DATABASE_URL; DEBUG=1 CACHE_DIR=$(CACHE_DIR) $(MANAGE) warm_catalog
	unset DATABASE_URL; DEBUG=1 CACHE_DIR=$(CACHE_DIR) $(MANAGE) runserver 127.0.0.1:$(PORT)

## Run the whole test suite (SQLite unless DATABASE_URL says otherwise).
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

## The same suite against PostgreSQL.
test-postgres: install
	DATABASE_URL=$(PG_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	$(MANAGE) makemigrations --check --dry-run

## Rebuild fixtures/catalog.json from the curated YAML in fixtures/curation/.
catalog: install
	$(MANAGE) build_catalog

## Fail if fixtures/catalog.json is not what the curated YAML builds.
catalog-check: install
	$(MANAGE) build_catalog --check

## Replace the local database with a fresh copy holding only the curated catalog.
reload: install
	unset DATABASE_URL; rm -f db.sqlite3 && $(MANAGE) migrate --noinput && $(MANAGE) loaddata catalog

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .cache
