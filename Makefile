# Two entry points: `make demo` and `make test`. Both bootstrap everything they need
# (Debian packages, the virtual environment, the package) and are safe to run again.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The BaSyx Python server for tests and the demo runs on the 1.x SDK, so it has its own venv.
SERVER_VENV := .basyx-server-venv
SERVER_STAMP := $(SERVER_VENV)/.installed-stamp
DEMO_PORT ?= 18081
DEMO_SERVER := http://127.0.0.1:$(DEMO_PORT)/api/v3.0
# Debian packages, installed only when missing and only for the target that uses them: the demo needs
# the MQTT broker (mosquitto) of its service part; the tests also open the ERP workbooks in LibreOffice,
# keep the service's shared job store in PostgreSQL, and replay the DataSet step of Business Central's
# Import from Excel on Mono's C# compiler and System.Data.
DEMO_APT_PACKAGES ?= mosquitto
TEST_APT_PACKAGES ?= $(DEMO_APT_PACKAGES) libreoffice-calc postgresql mono-mcs libmono-system-data4.0-cil \
	libmono-system-xml4.0-cil

.PHONY: demo test lint bench sysdeps demo-sysdeps test-sysdeps venv server-venv server samples templates clean

# $(call apt_install,packages): install those of the packages (and python3-venv) that are missing
define apt_install
	@missing=""; \
	for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

sysdeps:
	$(call apt_install,)

demo-sysdeps:
	$(call apt_install,$(DEMO_APT_PACKAGES))

test-sysdeps:
	$(call apt_install,$(TEST_APT_PACKAGES))

# A regular (not editable) install: the package maps top-level data folders into itself, which
# setuptools' editable modes can only do with warnings. The install is redone whenever a file of
# the package changes, so the `aas-quantum` command always runs the checked-out code (tests import
# the checkout directly).
PACKAGE_FILES := $(shell find aas_quantum submodels erp_export -type f -not -path '*/__pycache__/*')

$(STAMP): pyproject.toml $(PACKAGE_FILES) | sysdeps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q '.[dev]'
	touch $(STAMP)

venv: sysdeps $(STAMP)

$(SERVER_STAMP): | sysdeps
	test -x $(SERVER_VENV)/bin/python || $(PYTHON) -m venv $(SERVER_VENV)
	$(SERVER_VENV)/bin/python -m pip install -q "basyx-python-sdk==1.2.1" "werkzeug>=3,<4"
	touch $(SERVER_STAMP)

server-venv: sysdeps $(SERVER_STAMP)

# A BaSyx server with every sample on 127.0.0.1:$(DEMO_PORT), in the foreground (Ctrl-C stops it).
server: server-venv
	$(SERVER_VENV)/bin/python tests/basyx/serve.py --port $(DEMO_PORT) samples/*.aasx

# Start the server with the samples, optimise the drone against it with QAOA, write the result
# back, read it back from the server, keep the local outputs (result AASX/JSON and the ERP files
# of every shipped profile); then the service path: a broker and `aas-quantum serve`, the Optimize
# operation installed on the e-bike and invoked as BaSyx delegates it; stop everything.
demo: demo-sysdeps venv server-venv
	@mkdir -p out/demo
	@$(SERVER_VENV)/bin/python tests/basyx/serve.py --port $(DEMO_PORT) samples/*.aasx > out/demo/server.log 2>&1 & \
	  pid=$$!; trap "kill $$pid 2>/dev/null" EXIT; \
	  for i in $$(seq 50); do grep -q ready out/demo/server.log && break; sleep 0.2; done; \
	  echo "BaSyx server (SDK 1.2.1) with the samples at $(DEMO_SERVER)"; \
	  $(BIN)/aas-quantum optimize --server $(DEMO_SERVER) --shell urn:aas-quantum:sample:drone:aas \
	    --solver qaoa --erp generic,sap-s4hana,odoo,dynamics365-fo,business-central --out out/demo && \
	  echo && echo "Result read back from the server:" && \
	  $(BIN)/aas-quantum result --server $(DEMO_SERVER) --shell urn:aas-quantum:sample:drone:aas && \
	  echo && echo "Local outputs:" && ls -l out/demo && \
	  echo && echo "The AAS server extension (service + MQTT broker), invoked as BaSyx delegates Optimize:" && \
	  $(BIN)/python scripts/demo_service.py $(DEMO_SERVER)

test: test-sysdeps venv server-venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -ra

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: venv
	$(BIN)/python benchmarks/mmkp.py
	$(BIN)/python benchmarks/quantum_solvers.py
	$(BIN)/python benchmarks/qaoa_kernels.py
	$(BIN)/python benchmarks/import_time.py --label after
	$(BIN)/python benchmarks/suite_time.py

samples: venv
	$(BIN)/python samples/generate.py

templates: venv
	$(BIN)/aas-quantum templates --out submodels

clean:
	rm -rf out build .pytest_cache .ruff_cache
