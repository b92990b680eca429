# Two commands for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8080
HOST ?= 127.0.0.1

.PHONY: setup run test lint bench-append clean

## setup: create .venv, install the project with its pinned versions, build the browser bundle
setup: $(STAMP) static/dist/.built

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

static/dist/.built: package.json package-lock.json scripts/build-static.sh $(wildcard static/src/*) $(wildcard static/js/*.js)
	scripts/build-static.sh
	touch $@

## run: set up, migrate the default SQLite database, serve on http://127.0.0.1:8080
run: setup
	$(BIN)/collab migrate
	$(BIN)/collab serve --host $(HOST) --port $(PORT)

## test: set up, start PostgreSQL and install Chromium where missing, run the whole suite
test: setup
	scripts/ensure-services.sh
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench-append: setup
	$(BIN)/python bench/append_bench.py --url sqlite+aiosqlite:///$(CURDIR)/data/bench/collab.db

clean:
	rm -rf $(VENV) static/dist node_modules
