# Two entry points: `make demo` (the main job) and `make test` (the whole suite). Everything else is set-up
# they share; each step is cached so a second run only does the work.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/.tools/bin:$(PATH)

.PHONY: demo test setup tools lint bench clean

demo: setup
	scripts/demo

test: setup
	scripts/install-cosign
	scripts/install-postgres
	scripts/install-chromium
	scripts/install-semgrep
	$(BIN)/ruff check engine tests benchmarks
	rm -rf .readypolicy/self && mkdir -p .readypolicy/self
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile \
		--junit-xml=.readypolicy/self/junit.xml --cov --cov-report=json:.readypolicy/self/coverage.json
	scripts/self-gate

setup: $(STAMP) tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

tools:
	scripts/install-opa

lint: setup
	$(BIN)/ruff check engine tests benchmarks
	$(BIN)/readypolicy policy fmt --check
	$(BIN)/readypolicy policy check

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf .readypolicy build *.egg-info
