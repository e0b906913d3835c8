# Binventory: one-command setup, demo, tests, synth and benchmarks.
# Every target sets up what it needs; setup is idempotent and does nothing when already current.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CDK_ENV := CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

.PHONY: setup demo test lint synth bench clean

setup: $(STAMP) node_modules/.package-lock.json

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# The README's main job: the whole pipeline on this machine, no AWS account needed.
demo: setup
	$(BIN)/binventory local demo $(ARGS)

# The README's test command (and what CI runs).
test: setup lint
	$(BIN)/pytest $(PYTEST_ARGS)

lint:
	$(BIN)/ruff check .

synth: setup
	$(CDK_ENV) npx cdk synth --no-notices -q

bench: setup
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf cdk.out .pytest_cache .ruff_cache .local
