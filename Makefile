# Product catalog: `make run` starts everything with a demo catalog, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
DEMO_PRODUCTS ?= 20000
PYTEST_ARGS ?=
BENCH_SCALES ?= 10k
BENCH_REPEAT ?= 3

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

.PHONY: install
install: $(STAMP) ## Create .venv and install the project with its dev tools

.PHONY: run
run: $(STAMP) ## Start the stack, migrate, load the demo catalog if empty, run API + indexer + dashboard
	$(BIN)/catalog run --demo-products $(DEMO_PRODUCTS)

.PHONY: test
test: $(STAMP) ## Run the whole test suite against real PostgreSQL, Redis, OpenSearch and Chromium
	$(BIN)/catalog stack up --browser
	$(BIN)/pytest $(PYTEST_ARGS)

.PHONY: lint
lint: $(STAMP) ## ruff, mypy and the layer contracts (lint-imports, docs/architecture.md)
	$(BIN)/ruff check .
	$(BIN)/mypy api indexer db catalog stack dashboard media search
	$(BIN)/lint-imports

.PHONY: stack-up
stack-up: $(STAMP) ## Start PostgreSQL, Redis, OpenSearch and the object store only
	$(BIN)/catalog stack up

.PHONY: stack-down
stack-down: $(STAMP) ## Stop the project-local services (data stays in .stack/)
	$(BIN)/catalog stack down

.PHONY: bench
bench: $(STAMP) ## Benchmark suite -> BENCHMARKS.md (BENCH_SCALES="10k 100k 1m" BENCH_REPEAT=3)
	$(BIN)/catalog stack up
	$(BIN)/python -m bench.run_all $(foreach scale,$(BENCH_SCALES),--scale $(scale)) --repeat $(BENCH_REPEAT)

.PHONY: relevance
relevance: $(STAMP) ## Search relevance: MRR@10, nDCG@10, zero results of /search vs plain BM25 (bench/relevance)
	$(BIN)/catalog stack up
	$(BIN)/python -m bench.relevance.run --baseline bench/relevance/baseline.json

.PHONY: clean
clean: ## Stop the stack and delete its data (.stack/, and PostgreSQL's wherever it is) and the venv
	-$(BIN)/catalog stack clean
	rm -rf .stack $(VENV)

FUZZ_EXAMPLES ?= 500
.PHONY: fuzz
fuzz: $(STAMP) ## Longer schemathesis run over every API operation (FUZZ_EXAMPLES per operation, default 500)
	$(BIN)/catalog stack up
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/api/test_fuzz_api.py $(PYTEST_ARGS)
