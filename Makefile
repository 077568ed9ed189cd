# The catalog's everyday commands. `make run` and `make test` do all the set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
PG_URL ?= postgres://postgres@127.0.0.1:5432/ldn_catalog
PORT ?= 8000
# `make run` keeps the cache in files here, so that `warm_catalog` computes the catalog's
# counts for the server ahead of the first page (docs/deployment.md).
CACHE_DIR ?= $(CURDIR)/.cache/django
export SECRET_KEY ?= insecure-key-for-local-runs-and-tests-only

.PHONY: install run test test-postgres lint typecheck format migrations-check catalog catalog-check reload \
	curator superuser clean

$(BIN)/.installed: requirements-dev.lock requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

install: $(BIN)/.installed

## Start the site on SQLite with the curated catalog loaded, and a worker for background
## imports: http://127.0.0.1:8000/ (PORT=8001 make run for another port)
## (The catalog is loaded when the database holds no study yet, e.g. a new db.sqlite3 or the
## empty file another command left; `make reload` starts again from the catalog.)
run: install
	unset DATABASE_URL; DEBUG=1 $(MANAGE) migrate --noinput
	@unset DATABASE_URL; if DEBUG=1 $(MANAGE) shell -c \
	  "from studies.models import Study; raise SystemExit(Study.objects.exists())"; then \
	  echo "Loading the curated catalog"; DEBUG=1 $(MANAGE) loaddata catalog; fi
	unset DATABASE_URL; DEBUG=1 CACHE_DIR=$(CACHE_DIR) $(MANAGE) warm_catalog
	@# A background worker (imports) beside the server, stopped when the server stops. It
	@# opens the file afresh for each task, so it follows `make reload` made meanwhile.
	unset DATABASE_URL; export DEBUG=1 CACHE_DIR=$(CACHE_DIR); \
	  CONN_MAX_AGE=0 $(MANAGE) db_worker --no-reload & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	  $(MANAGE) runserver 127.0.0.1:$(PORT)

## Run the test suite on two processes (SQLite unless DATABASE_URL says otherwise). Tests
## marked slow (migrations, subprocesses, fuzzing) are left out unless MARKERS says otherwise:
## `make test MARKERS=` runs everything, as CI does (with FUZZ_EXAMPLES=60).
MARKERS ?= not slow
WORKERS ?= 2
test: install
	$(BIN)/pytest -n $(WORKERS) -m "$(MARKERS)" $(PYTEST_ARGS)

## The same suite against PostgreSQL.
test-postgres: install
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -n $(WORKERS) -m "$(MARKERS)" $(PYTEST_ARGS)

## ruff and django-upgrade, as the pre-commit hooks run them.
lint: install
	$(BIN)/pre-commit run --all-files --show-diff-on-failure

## mypy with django-stubs over the application.
typecheck: install
	$(BIN)/mypy

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

## Create a curator account (asks for the password), or a superuser.
curator: install
	unset DATABASE_URL; DEBUG=1 $(MANAGE) create_curator $(NAME)

superuser: install
	unset DATABASE_URL; DEBUG=1 $(MANAGE) createsuperuser

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .cache
