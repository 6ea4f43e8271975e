# One place for the commands the README and CI use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0

.PHONY: install install-test install-examples test-system-deps serve demo test test-unit test-integration lint lint-openapi openapi-tools typecheck bench load-test check client

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first and pinned: an open requirement with no torch installed pulls a multi-GB CUDA
# build; users with a CUDA build already installed keep it (pyproject's range is open).
install: $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q torch==$(TORCH_VERSION)
	$(BIN)/pip install -q -e .

install-test: install test-system-deps
	$(BIN)/pip install -q -e ".[test]"
	$(MAKE) openapi-tools

# The npm tools that check the OpenAPI document (Redocly's linter, openapi-typescript,
# openapi-fetch, typescript), exactly as tools/openapi/package-lock.json pins them.
OPENAPI_TOOLS := tools/openapi
$(OPENAPI_TOOLS)/node_modules/.package-lock.json: $(OPENAPI_TOOLS)/package-lock.json
	cd $(OPENAPI_TOOLS) && npm ci --no-audit --no-fund
openapi-tools: $(OPENAPI_TOOLS)/node_modules/.package-lock.json

# Debian packages some tests use: Chromium (the HTML report's browser test; playwright drives
# it and downloads no browser), docker-compose (validates docker-compose.yml without an
# engine), npm with node (the OpenAPI linter and TypeScript check of tools/openapi) and
# kubectl (renders deploy/kubernetes with its built-in kustomize; Debian's kubernetes-client
# where no other kubectl is installed). Installed with apt-get when missing and this runs as
# root; otherwise says what to install (those tests then fail and say so too).
SYSTEM_DEPS := /usr/bin/chromium:chromium /usr/bin/docker-compose:docker-compose /usr/bin/npm:npm \
	/usr/bin/kubectl:kubernetes-client
test-system-deps:
	@missing=""; for dep in $(SYSTEM_DEPS); do \
		[ -x "$${dep%%:*}" ] || missing="$$missing $${dep##*:}"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian packages:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "please install these Debian packages for the tests:$$missing"; fi; \
	fi

# The README's examples: scikit-image (bundled photographs) and openapi-python-client.
install-examples: install
	$(BIN)/pip install -q -e ".[examples]"

serve: install
	$(BIN)/restoration-audit serve

# The README's demo data: 4 photographs, their 4x bicubic observations, 2 restorers, in demo/.
demo: install-examples
	$(BIN)/python examples/make_demo_pairs.py demo

test: install-test
	$(BIN)/pytest

test-unit: install-test
	$(BIN)/pytest -m "not integration"

test-integration: install-test
	$(BIN)/pytest -m integration

lint: lint-openapi
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

# The OpenAPI document, linted by Redocly's recommended rules (tools/openapi/redocly.yaml).
lint-openapi: openapi-tools
	$(BIN)/restoration-audit openapi > $(OPENAPI_TOOLS)/openapi.json
	$(OPENAPI_TOOLS)/node_modules/.bin/redocly lint --config $(OPENAPI_TOOLS)/redocly.yaml \
		$(OPENAPI_TOOLS)/openapi.json

typecheck:
	$(BIN)/mypy api_schemas jobstore observability reporting service workers runtime cli

bench: install-test
	$(BIN)/python benchmarks/bench_audit.py

# 32 submitters for 60 s on loopback; writes benchmarks/load_results.md (the README quotes it).
load-test: install-test
	$(BIN)/python benchmarks/load_test.py

check: lint typecheck test

# The Python client of examples/ (committed), generated from the live OpenAPI document; a test
# regenerates it and fails when it differs, so run this after changing the HTTP API.
CLIENT_DIR := examples/client
client: install-test
	$(BIN)/restoration-audit openapi > $(CLIENT_DIR)/openapi.json.tmp
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/openapi-python-client generate \
		--path $(CLIENT_DIR)/openapi.json.tmp --meta none --overwrite \
		--config $(CLIENT_DIR)/openapi-python-client.yaml \
		--output-path $(CLIENT_DIR)/restoration_audit_client
	rm -rf $(CLIENT_DIR)/openapi.json.tmp $(CLIENT_DIR)/restoration_audit_client/.ruff_cache
