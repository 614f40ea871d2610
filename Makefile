# Two entry points: `make demo` (the main job) and `make test` (the whole suite). Everything else is set-up
# they share; each step is cached so a second run only does the work.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/.tools/bin:$(PATH)

.PHONY: demo test setup tools lint bench clean bundles deptry

# Every imported package is declared (deptry, configured in pyproject.toml): engine/ against the runtime
# dependencies, then tests/ and benchmarks/ against all of them. For the second run DEP002 is off (the
# runtime dependencies are used by engine/, not there) and DEP004 too (tests may import the dev extra);
# tests/fixtures/sampleproject is a separate sample project with its own dependencies.
DEPTRY := $(BIN)/deptry engine && $(BIN)/deptry tests benchmarks --exclude 'tests/fixtures/sampleproject/' --ignore DEP002,DEP004

demo: setup
	scripts/demo

test: setup
	scripts/install-cosign
	scripts/install-sigstore-stack
	scripts/install-postgres
	scripts/install-chromium
	scripts/install-jq
	scripts/install-semgrep
	scripts/install-go-tool actionlint github.com/rhysd/actionlint/cmd/actionlint v1.7.12
	scripts/install-go-tool regal github.com/open-policy-agent/regal v0.42.0
	$(BIN)/ruff check engine tests benchmarks
	scripts/regal-lint
	$(DEPTRY)
	$(BIN)/lint-imports
	$(BIN)/mypy
	rm -rf .readypolicy/self && mkdir -p .readypolicy/self
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile \
		--junit-xml=.readypolicy/self/junit.xml --cov --cov-report=json:.readypolicy/self/coverage.json
	scripts/self-gate

# Byte-compile the package and its dependencies on every setup: with PYTHONDONTWRITEBYTECODE=1 (common on
# CI runners) Python still reads up-to-date .pyc files but never writes them, so without this step every
# `readypolicy` process would recompile each module it imports. Only stale files are recompiled.
setup: $(STAMP) tools
	$(BIN)/python -m compileall -q -j 0 engine/readypolicy "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

tools:
	scripts/install-opa

lint: setup
	scripts/install-go-tool regal github.com/open-policy-agent/regal v0.42.0
	$(BIN)/ruff check engine tests benchmarks
	scripts/regal-lint
	$(DEPTRY)
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/readypolicy policy fmt --check
	for pack in $(PACKS) .ci/pack; do $(BIN)/readypolicy policy check --pack $$pack || exit 1; done

# Rebuild and re-approve the committed bundles of every pack (bundles/*.tar.gz + bundles/lock.json)
# after a policy change, then drop bundle files the lock no longer names. Builds are reproducible:
# unchanged sources give the same bytes and file names. Commit bundles/ with the policy change.
PACKS := readiness priority enterprise
bundles: setup
	for pack in $(PACKS); do $(BIN)/readypolicy policy build --pack $$pack || exit 1; done
	for pack in $(PACKS); do $(BIN)/readypolicy policy approve --pack $$pack || exit 1; done
	cd bundles && for file in *.tar.gz; do grep -q "\"$$file\"" lock.json || rm -v "$$file"; done
	$(BIN)/readypolicy policy lock verify

deptry:
	$(DEPTRY)

bench: setup
	scripts/install-conftest
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf .readypolicy build *.egg-info
