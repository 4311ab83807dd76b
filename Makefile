# jeju-play: two commands for a fresh clone (`make demo`, `make test`); `make install` is what both need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: install system-packages demo test lint unit conformance molecule bench clean collection sanity ee rulebook

install: system-packages $(STAMP) node_modules/.installed .collections/ansible_collections/jeju/ops

# The system packages of bindep.txt (kubectl, Node.js and npm, Prometheus and Alertmanager, Java 17) that this
# machine lacks; the standard library only, so it runs before .venv exists.
system-packages:
	@$(PYTHON) tools/system_packages.py

$(STAMP): pyproject.toml | system-packages
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install -q -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import ansible_runner, web3, kubernetes, jsonpatch, safe_eth, jeju_play"
	$(BIN)/ansible-galaxy collection list kubernetes.core 2>/dev/null | grep -q kubernetes.core
	@touch $@

node_modules/.installed: package.json package-lock.json | system-packages
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.collections/ansible_collections/jeju/ops: $(STAMP)
	$(BIN)/python -c "from jeju_play.paths import collections_dir; collections_dir()"

demo: install
	$(BIN)/jeju-play drill network-down --fault l1-rpc-down
	@echo "The lab is still up: '$(BIN)/jeju-play lab status' to look around, '$(BIN)/jeju-play lab down' to stop it."

lint: install
	$(BIN)/ruff check jeju_play jeju_lab plugins tests bench tools
	$(BIN)/mypy
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production -q
	@for playbook in playbooks/*.yml; do [ -e "$$playbook" ] || continue; \
	  $(BIN)/ansible-playbook --syntax-check -i inventories/shared -i inventories/local "$$playbook" >/dev/null || exit 1; done
	$(BIN)/python -m jeju_play.checks

# Three workers, whole files each: lab-backed tests mostly wait on the chains (two workers kept one core busy),
# so three labs share 2 cores.
unit: install
	$(BIN)/pytest -q -n 3 --dist loadfile --durations=10 --ignore=tests/conformance

# kubernetes.core's own integration targets against the Kubernetes API double (tests/conformance): on their own,
# because their eight ansible-playbook processes at once would starve the lab tests' timing.
conformance: install
	$(BIN)/pytest -q tests/conformance

molecule: install
	$(BIN)/python tools/run_molecule.py

# After the unit stage, two at a time: kubernetes.core's targets mostly wait (their own pauses, the double's grace
# periods), so molecule, sanity and the execution environment's build context run beside them. Each stage's output
# is printed whole when it ends.
test: lint unit
	@$(MAKE) --no-print-directory -j2 --output-sync=target conformance molecule sanity ee

# The collection tarball dist/jeju-ops-<version>.tar.gz: the collection and nothing else (galaxy.yml build_ignore),
# each playbook also under its FQCN name (jeju.ops.network_down).
collection: install
	rm -f dist/jeju-ops-*.tar.gz
	$(BIN)/python tools/build_collection.py --output-path dist

# ansible-test sanity on the built collection, offline (tools/sanity.py says how).
sanity: install
	$(BIN)/python tools/sanity.py

# The EDA rulebook extensions/eda/rulebooks/alerts.yml, generated from catalog.yml (run it after changing the
# catalog; tests/eda fails while the rulebook is out of date).
rulebook: install
	$(BIN)/python tools/eda_rulebook.py

# The execution environment's build context (build/ee/Containerfile): `podman build -t jeju-ops-ee build/ee`.
ee: collection
	rm -rf build/ee
	$(BIN)/ansible-builder create -f execution-environment.yml -c build/ee --output-filename Containerfile

# Every benchmark under bench/ (bench/run_all.py; BENCH_QUICK=1 for fewer repeats), then docs/benchmarks.md's
# generated part and its chart. Not a test: nothing fails on a number. About 25 minutes on 2 cores.
bench: install
	$(BIN)/python -c "import matplotlib" 2>/dev/null || $(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) node_modules .collections .pytest_cache .mypy_cache .ruff_cache build dist
