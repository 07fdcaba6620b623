# keraslab: `make run` opens keraslab on the offline digits dataset; `make test` runs every test.
# Both build .venv on first use (Python >= 3.10 needed as python3).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.keraslab-installed
DATA_SRC ?= ../shared/datasets
KERAS_DATASETS ?= $(if $(KERAS_HOME),$(KERAS_HOME),$(HOME)/.keras)/datasets
PYTEST_ARGS ?=

.PHONY: run test test-fast lint lint-imports seed-data services clean bench slurm-up slurm-down

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/keraslab

test: $(STAMP) seed-data lint-imports services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# the edit loop: everything but real training on real data
test-fast: $(STAMP) lint-imports
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP) lint-imports
	$(BIN)/ruff check core tui tests benchmarks

# the layering contracts in pyproject.toml ([tool.importlinter])
lint-imports: $(STAMP)
	$(BIN)/lint-imports

# Copy the offline MNIST / Fashion-MNIST idx files into the Keras dataset cache (if present).
seed-data:
	@if [ -d "$(DATA_SRC)/mnist" ]; then \
		mkdir -p "$(KERAS_DATASETS)/mnist" "$(KERAS_DATASETS)/fashion-mnist"; \
		cp -n "$(DATA_SRC)"/mnist/*-ubyte.gz "$(KERAS_DATASETS)/mnist/"; \
		if [ -d "$(DATA_SRC)/fashion-mnist" ]; then cp -n "$(DATA_SRC)"/fashion-mnist/*-ubyte.gz "$(KERAS_DATASETS)/fashion-mnist/"; fi; \
		echo "seeded $(KERAS_DATASETS) from $(DATA_SRC)"; \
	else \
		echo "no $(DATA_SRC): MNIST tests will be skipped unless the Keras cache holds the files"; \
	fi

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# What the end-to-end tests drive, where this machine allows it (root with apt-get, as in CI):
# tmux for the app's tmux walks, a single-node SLURM for the sweep tests. Without them those
# tests skip, saying why.
services:
	@command -v tmux >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq tmux) >/dev/null 2>&1 \
		|| echo "warning: could not install tmux; the tmux end-to-end tests will be skipped"
	@.ci/slurm-up || echo "warning: could not start SLURM; the SLURM sweep tests will be skipped"

# a single-node SLURM cluster on this machine for the sweep tests (root; installs slurm-wlm and munge)
slurm-up:
	.ci/slurm-up

slurm-down:
	.ci/slurm-down

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
