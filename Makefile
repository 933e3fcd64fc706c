# Two commands matter: `make run` (the main job on the embedded default) and `make test`.
# Both bootstrap uv if it is missing and sync the locked environment (uv.lock) first.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
export PYTHONPATH := $(CURDIR)

.PHONY: setup run test test-fast lint deploy-local blocks automations bench clean

setup:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
	  $(PYTHON) -m pip install --quiet --user uv || \
	  $(PYTHON) -m pip install --quiet --user --break-system-packages uv
	@$(UV) sync --frozen --quiet

## make run [DATE=YYYY-MM-DD]: generate the day's landing file and run the BCFINSG stream locally.
run: setup
	@$(UV) run --frozen python -m flows.run_local $(if $(DATE),--process-date $(DATE),)

## make test: ruff, then the whole pytest suite (unit + end-to-end on the embedded default).
test: setup
	$(UV) run --frozen ruff check .
	$(UV) run --frozen pytest

test-fast: setup
	$(UV) run --frozen pytest -m "not e2e and not deploy"

lint: setup
	$(UV) run --frozen ruff check .

bench: setup
	$(UV) run --frozen python -m bench.dbt_logging
	$(UV) run --frozen python -m bench.profiling

clean:
	rm -rf .dcf dbt/*/target dbt/*/logs
