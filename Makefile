# Every target works from a clean clone: setup creates .venv and installs everything the tests need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup build demo test lint docs bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# setup.py compiles the modules in its COMPILED list with mypyc (pure Python without a C compiler or with
# HETFLOW_PURE=1); after one of them changes, `make build` compiles it again in place (make test and demo do).
COMPILED := $(shell sed -n 's/^    "\(src\/hetflow\/.*\.py\)",$$/\1/p' setup.py)

build: $(VENV)/.compiled

# (and after a change to the classes whose declared types the compiled code relies on: spec/, core/, runtime/)
$(VENV)/.compiled: setup.py $(COMPILED) $(wildcard src/hetflow/spec/*.py src/hetflow/core/*.py src/hetflow/runtime/*.py) | $(VENV)/.installed
	$(BIN)/python setup.py -q build_ext --inplace --force
	touch $@

SEED := examples/seed/arbitrary-workflow.yaml --platform examples/seed/summit-30.yaml

demo: setup build
	$(BIN)/hetflow validate $(SEED)
	$(BIN)/hetflow simulate $(SEED) --mode all --report out/seed-report
	$(BIN)/python examples/adaptive/run.py --report out/adaptive-report
	@echo "open out/seed-report/index.html and out/adaptive-report/index.html for the utilization and Gantt plots"

lint: setup
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports

# The API reference and the guides, from docs/ and the docstrings, into site/; any warning fails the build.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

test: lint docs build
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/simulate.py

clean:
	rm -rf $(VENV) build dist site src/hetflow/*/*.so .pytest_cache .mypy_cache .ruff_cache
