# jeju-play: two commands for a fresh clone (`make demo`, `make test`); `make install` is what both need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: install demo test lint unit molecule bench clean

install: $(STAMP) node_modules/.installed .collections/ansible_collections/jeju/ops

$(STAMP): pyproject.toml
	@command -v kubectl >/dev/null || { echo "Installing kubectl (Debian kubernetes-client)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install -q -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import ansible_runner, web3, kubernetes, jsonpatch, safe_eth, jeju_play"
	$(BIN)/ansible-galaxy collection list kubernetes.core 2>/dev/null | grep -q kubernetes.core
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.collections/ansible_collections/jeju/ops: $(STAMP)
	$(BIN)/python -c "from jeju_play.paths import collections_dir; collections_dir()"

demo: install
	$(BIN)/jeju-play drill network-down --fault l1-rpc-down
	@echo "The lab is still up: '$(BIN)/jeju-play lab status' to look around, '$(BIN)/jeju-play lab down' to stop it."

lint: install
	$(BIN)/ruff check jeju_play plugins tests bench tools
	$(BIN)/mypy
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production -q
	@for playbook in playbooks/*.yml; do [ -e "$$playbook" ] || continue; \
	  $(BIN)/ansible-playbook --syntax-check -i inventories/local "$$playbook" >/dev/null || exit 1; done
	$(BIN)/python -m jeju_play.checks

# Two workers, whole files each: lab-backed tests mostly wait on the chains, so two labs share 2 cores well.
unit: install
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=10

molecule: install
	$(BIN)/python tools/run_molecule.py

test: lint unit molecule

bench: install
	$(BIN)/python bench/bench_cli.py

clean:
	rm -rf $(VENV) node_modules .collections .pytest_cache .mypy_cache .ruff_cache
