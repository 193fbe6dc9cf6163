# Two entry points: `make demo` and `make test`. Both bootstrap everything they need
# (Debian packages, the virtual environment, the package) and are safe to run again.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Debian packages the tests and the demo use (installed only when missing).
APT_PACKAGES ?=

.PHONY: demo test lint bench sysdeps venv samples templates clean

sysdeps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml | sysdeps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: sysdeps $(STAMP)

demo: venv
	$(BIN)/aas-quantum optimize samples/drone.aasx --solver qaoa --out out/demo
	@echo; echo "Outputs:"; ls -l out/demo

test: venv
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -ra

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python benchmarks/mmkp.py
	$(BIN)/python benchmarks/quantum_solvers.py
	$(BIN)/python benchmarks/qaoa_kernels.py

samples: venv
	$(BIN)/python samples/generate.py

templates: venv
	$(BIN)/aas-quantum templates --out submodels

clean:
	rm -rf out .pytest_cache .ruff_cache
