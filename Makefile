# icpilot — every target creates what it needs from nothing.
#   make demo   a simulated day on the local emulator
#   make check  the edit loop: ruff, mypy, the tests that need no emulator (hypothesis at dev strength)
#   make test   the full gate: ruff, mypy, pytest (in parallel, shuffled; the tests that meet real-clock
#               libraries again with the real clock moved ±1 year), sam validate --lint, cfn-lint, checkov, sam build
#   make bench  benchmarks, figures in bench/results.json
#   make docs   the documentation site in out/site (mkdocs build --strict; also part of make test)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
SAMVENV := .venv-sam
CHECKOVVENV := .venv-checkov
PY := $(VENV)/bin/python
SAM := $(SAMVENV)/bin/sam
# sam build needs the Lambda runtime's interpreter (python3.13) on PATH.
PY313_DIR := $(shell d=$$(ls -d $$(pyenv root 2>/dev/null)/versions/3.13.*/bin 2>/dev/null | tail -n 1); \
	if [ -n "$$d" ]; then echo $$d; elif command -v python3.13 >/dev/null; then dirname $$(command -v python3.13); fi)
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: demo check test lint typecheck fast unit clock-guard sam-validate security sam-build docs bench clean

$(VENV)/.installed: requirements-dev.txt layers/icpilot/requirements.txt pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	$(VENV)/bin/pip install -q --no-deps -e clients/python
	touch $@

$(SAMVENV)/.installed:
	$(PYTHON) -m venv $(SAMVENV)
	$(SAMVENV)/bin/pip install -q --upgrade pip
	$(SAMVENV)/bin/pip install -q aws-sam-cli==1.170.0
	touch $@

# checkov in its own environment: its dependency pins would fight the project's.
$(CHECKOVVENV)/.installed:
	$(PYTHON) -m venv $(CHECKOVVENV)
	$(CHECKOVVENV)/bin/pip install -q --upgrade pip
	$(CHECKOVVENV)/bin/pip install -q checkov==3.3.30
	touch $@

demo: $(VENV)/.installed
	$(PY) -m demo

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=layers/icpilot $(VENV)/bin/lint-imports --no-cache

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy layers/icpilot/icpilot functions emulator demo icpilot_cli simulator bench tests clients/python/icpilot_client docs_reference.py

# Every test in parallel (pytest-xdist; worksteal evens out the few long emulator stories) and in a
# shuffled order (pytest-randomly prints the seed: `-p randomly -p "randomly_seed=N"` replays it).
PYTEST_PARALLEL := -n auto --dist worksteal
unit: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_PARALLEL)

# The tests that need no emulator (unit, property, simulator), hypothesis at the dev profile.
fast: $(VENV)/.installed
	$(PY) -m pytest -q $(PYTEST_PARALLEL) -m "not real_clock" --hypothesis-profile=dev

check: lint typecheck fast

# The tests that meet libraries reading the real clock (marked real_clock: moto, Powertools, botocore;
# see tests/conftest.py) again with the real clock a year ahead and a year back: nothing may depend on
# the date tests run on. Hypothesis at the dev profile: these passes test the clock, not the search.
clock-guard: $(VENV)/.installed
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_PARALLEL) -m real_clock --hypothesis-profile=dev --real-clock-shift=+365d
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_PARALLEL) -m real_clock --hypothesis-profile=dev --real-clock-shift=-365d

sam-validate: $(SAMVENV)/.installed $(VENV)/.installed
	$(SAM) validate --lint
	$(VENV)/bin/cfn-lint template.yaml

# Offline (--skip-download): no guideline download, no upload; suppressions are inline in template.yaml.
security: $(CHECKOVVENV)/.installed
	$(CHECKOVVENV)/bin/checkov -f template.yaml --framework cloudformation --skip-download --compact --quiet

sam-build: $(SAMVENV)/.installed
	@test -n "$(PY313_DIR)" || { echo "python3.13 not found (pyenv or PATH): sam build needs the Lambda runtime's interpreter"; exit 1; }
	PATH="$(PY313_DIR):$$PATH" $(SAM) build --parallel

# The documentation site (docs/, mkdocs.yml); --strict: a broken link, anchor or missing page fails.
docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict  # not --quiet: it hides the warnings strict counts

test: lint typecheck unit clock-guard sam-validate security sam-build docs

bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(SAMVENV) $(CHECKOVVENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
