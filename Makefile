# Playlist Manager — the two commands: `make up` brings the whole system up, `make test` passes the tests.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.9
export UV_LINK_MODE := copy
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
PY := .venv/bin/python
PYTEST := $(UV) run --frozen pytest
STACK := $(PY) -m pm_devstack

.PHONY: help uv install up infra down status migrate logs lint format typecheck contracts \
        test test-unit test-integration test-e2e test-api test-containers images infra-images explain-checks bench demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

uv: ## install uv (the workspace's package manager) if missing
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
	  python3 -m pip install --quiet "uv==$(UV_VERSION)"

install: uv ## create .venv with every package, exactly as locked
	@$(UV) sync --frozen --all-packages --quiet

up: install ## install and start PostgreSQL, Redis, Kafka, SeaweedFS, the emulator and the six services
	@$(STACK) up

infra: install ## start only the infrastructure (no services)
	@$(STACK) up --infra-only

down: ## stop everything `make up` started
	@test -x $(PY) && $(STACK) down || true

status: ## show each component
	@$(STACK) status

migrate: install ## apply every service's migrations
	@$(STACK) migrate

lint: install ## ruff (lint and format check)
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .

format: install ## apply ruff's fixes and formatting
	@$(UV) run --frozen ruff check --fix .
	@$(UV) run --frozen ruff format .

typecheck: install ## mypy (strict on libs/)
	@$(UV) run --frozen mypy libs/platform/src libs/contracts/src libs/devstack/src libs/providers/src libs/matching/src libs/formats/src libs/admin/src services/*/src

contracts: install ## regenerate proto/ from libs/contracts
	@$(PY) -m pm_contracts.generate --root proto

test-unit: install ## unit tests (no network)
	@$(PYTEST) -q -m "not integration and not e2e" libs services

test-integration: install ## integration tests against the real servers (starts the stack when needed)
	@$(STACK) up
	@$(PYTEST) -q -m "integration and not containers" libs services

test-e2e: install ## end-to-end tests through the gateway (starts the stack when needed)
	@$(STACK) up
	@$(PYTEST) -q -m "not containers" tests-e2e

images: install ## build every service's image with Podman (or Docker); the base is the official Python image, or a stand-in from Debian's packages where that cannot be pulled
	@$(PY) -m pm_devstack.images build

infra-images: install ## build the infrastructure images of PM_INFRA=containers (PostgreSQL, Redis, Kafka, SeaweedFS from Debian's packages)
	@$(PY) -m pm_devstack.images infra

test-containers: install ## the chart's Deployments as pods (podman kube play) on the native infrastructure, a journey through them; and the infrastructure itself in containers (PM_INFRA=containers) on other ports; builds the images when needed
	@$(STACK) up
	@$(PYTEST) -q -m containers tests-e2e libs/devstack/tests/integration/test_containers_infra.py

test-api: install ## schemathesis: generated requests against proto/openapi.yaml on the running gateway
	@$(STACK) up
	@# The hooks sign the requests in, prepare real data and record every answer; every operation must
	@# have been answered with a success at least once (not only 401/403/404).
	@rm -f .state/api-coverage.jsonl
	@SCHEMATHESIS_HOOKS=tests-e2e.schemathesis_hooks PM_API_RECORD=.state/api-coverage.jsonl \
	  $(UV) run --frozen schemathesis run proto/openapi.yaml \
	  --url http://127.0.0.1:3101 --checks not_a_server_error,response_schema_conformance \
	  --max-examples 20 --seed 20261129 --no-color
	@$(PY) tests-e2e/api_coverage.py .state/api-coverage.jsonl proto/openapi.yaml

explain-checks: install ## query plans of the hot queries over a generated library of a million entries; fails on a sequential scan of a big table
	@$(STACK) up --infra-only
	@$(STACK) scratch playlist -- explain-checks --generate

test: install ## everything CI runs: lint, types, unit, integration, e2e, API tests, the query checks and the images run as the chart deploys them
	@# PM_INFRA=containers: the infrastructure images first (cached after the first time), before the
	@# service images take the build lock.
	@if [ "$${PM_INFRA:-native}" = containers ]; then $(PY) -m pm_devstack.images infra; fi
	@# The images build in the background meanwhile (the container test waits for that build).
	@$(PY) -m pm_devstack.images build --background
	@$(MAKE) --no-print-directory lint typecheck
	@$(STACK) up
	@$(MAKE) --no-print-directory explain-checks
	@# The API fuzzing and the container test first, so the run closes on pytest's summary of every test.
	@$(MAKE) --no-print-directory test-api
	@$(MAKE) --no-print-directory test-containers
	@$(PYTEST) -q -m "not containers" libs services tests-e2e

demo: install ## a newcomer's tour after `make up`: link, import, transfer to Deezer with a dry run, through the public API
	@$(STACK) demo

bench: install ## benchmarks: the gateway against a bare aiohttp server, the outbox relay against a bare Kafka producer (needs `make up`); see bench/README.md
	@$(STACK) up
	@$(PY) -m bench

clean: down ## stop everything and delete local state (.state/)
	rm -rf .state
