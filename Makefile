# The same commands locally and in CI. Everything installs into ./.venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench soak fuzz format clean install

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: serve on 127.0.0.1:8000 (PORT overrides) with SQLite and, without Sinch credentials, the simulator
run: $(STAMP)
	$(BIN)/textcast serve

## test: the whole suite on SQLite and PostgreSQL (soak and long fuzz runs excluded), one
## worker per core (pytest-xdist); each worker has its own databases, ports and browser
test: $(STAMP)
	$(BIN)/pytest -n auto --dist worksteal

## soak: the long runs `make test` skips
soak: $(STAMP)
	$(BIN)/pytest -m soak

## fuzz: every API operation against the OpenAPI document at length; prints the cases run
fuzz: $(STAMP)
	$(BIN)/pytest -m fuzz

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

## bench: the performance scripts, one result line each
bench: $(STAMP)
	$(BIN)/python -m bench.dispatch
	$(BIN)/python -m bench.dispatch --database postgresql
	$(BIN)/python -m bench.webhooks
	$(BIN)/python -m bench.import
	$(BIN)/python -m bench.forms
	$(BIN)/python -m bench.flows
	$(BIN)/python -m bench.outbound
	$(BIN)/python -m bench.outbound --database postgresql
	$(BIN)/python -m bench.ab_tests
	$(BIN)/python -m bench.ab_tests --database postgresql

clean:
	rm -rf $(VENV) build dist *.egg-info
