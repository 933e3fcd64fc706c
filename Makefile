# Two commands matter: `make run` (the main job on the embedded default) and `make test`.
# Both bootstrap uv if it is missing and sync the locked environment (uv.lock) first, compiled to bytecode once:
# where PYTHONDONTWRITEBYTECODE is set (as on this kind of machine) every process would otherwise recompile
# dbt, Great Expectations and Prefect from source (a warm `make run` took 40 s instead of 20).
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
export PYTHONPATH := $(CURDIR)

.PHONY: setup run sql status test test-fast lint deploy-local blocks automations bench clean \
        deployments server work-pool snowflake-blocks worker test-deploy import-datastage

setup:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
	  $(PYTHON) -m pip install --quiet uv 2>/dev/null || \
	  $(PYTHON) -m pip install --quiet --user uv 2>/dev/null || \
	  $(PYTHON) -m pip install --quiet --user --break-system-packages uv
	@$(UV) sync --frozen --quiet --compile-bytecode

## make run [STREAM=NAME] [DATE=YYYY-MM-DD] [MODE=NORMAL|RESET|VALIDATE] [BAD_DAY=1]: run a stream locally
## (default: BCFINSG, for which the day's synthetic landing file is generated first). BAD_DAY=1 generates a day
## whose average quality is below 70: the quality gate skips the load. MODE=VALIDATE checks and prints the plan;
## with PARAMS="LEVEL=5 ..." and/or ASSUME='{JA_DIM: 3, XC_LIST: {reply: 0, output: "a|b"}}' it prints what would
## run, in order, and the final status, for those values and outcomes (nothing runs; no server).
export ASSUME  # read by the recipe from the environment: any quotes in it reach the command as they are
run: setup
	@$(UV) run --frozen python -m flows.run_local $(if $(STREAM),--stream $(STREAM),) \
	  $(if $(DATE),--process-date $(DATE),) $(if $(MODE),--mode $(MODE),) $(if $(BAD_DAY),--bad-day,) \
	  $(foreach p,$(PARAMS),--param $(p)) $${ASSUME:+--assume "$$ASSUME"}

## make sql [SQL="..."] [DB=file]: an SQL shell on the local warehouse (schema DCF is the default schema).
sql: setup
	@$(UV) run --frozen python -m dcf.demo.sql_shell $(if $(DB),--database $(DB),) $(if $(SQL),-c "$(SQL)",)

## make import-datastage EXPORT="a.isx b.dsx" OUT=dir [JOB_MAP=file] [STREAM_ID_START=N]: DataStage sequence exports
## (ISX, XML, DSX) as stream YAMLs in OUT, with OUT/migration_report.md.
import-datastage: setup
	@$(UV) run --frozen python -m flows.import_datastage $(EXPORT) --out $(OUT) $(if $(JOB_MAP),--job-map $(JOB_MAP),) \
	  $(if $(STREAM_ID_START),--stream-id-start $(STREAM_ID_START),)

## make status: the stream status board (latest instance, failed stage and reason, next run of every stream).
status: setup
	@$(UV) run --frozen python -m flows.status

## make test: ruff, then the whole pytest suite (unit + end-to-end on the embedded default) on TEST_WORKERS worker
## processes (default 2), a test module at a time (module-wide fixtures and the deploy stack's order stay whole):
## most end-to-end time is spent waiting on servers and subprocesses. (pytest-xdist's loadgroup does not group
## under pytest 9 here; keep modules of similar size instead.)
TEST_WORKERS ?= 2
test: setup
	$(UV) run --frozen ruff check .
	$(UV) run --frozen pytest -n $(TEST_WORKERS) --dist loadfile

## make test-fast: the unit tests only (no dbt build, no server): under a minute.
test-fast: setup
	$(UV) run --frozen pytest -m unit

test-deploy: setup
	$(UV) run --frozen pytest -m deploy

lint: setup
	$(UV) run --frozen ruff check .

## make bench: every benchmark, figures only, written to bench/RESULTS.md with the date and machine (~9 min).
bench: setup
	@$(UV) run --frozen python -m bench.all

## Deploy and operate (README "Deploy and operate"). The targets talk to $$PREFECT_API_URL when it is set
## (a remote server, or Cloud with PREFECT_API_KEY), else to the local server of `make server`.
PREFECT_HOME_LOCAL := $(CURDIR)/.dcf/prefect
## PORT: the local server's port (make server PORT=4300); the other targets then talk to it.
PORT ?= 4200
PREFECT_ENV = PREFECT_HOME=$${PREFECT_HOME:-$(PREFECT_HOME_LOCAL)} PREFECT_API_URL=$${PREFECT_API_URL:-http://127.0.0.1:$(PORT)/api}

## make deployments [POOL=kubernetes]: rewrite prefect.yaml (process pool) or prefect.kubernetes.yaml (Kubernetes
## pool) from configs/streams/*.yaml (a test fails while either is stale).
POOL ?= process
deployments: setup
	$(UV) run --frozen python -m scripts.deployments --pool $(POOL)

## make server [PORT=4200]: a local Prefect server (UI at http://127.0.0.1:$(PORT)), state under $PREFECT_HOME
## (default .dcf/prefect). The UI calls the API on the same port (PREFECT_UI_API_URL).
server: setup
	PREFECT_HOME=$${PREFECT_HOME:-$(PREFECT_HOME_LOCAL)} PREFECT_UI_API_URL=http://127.0.0.1:$(PORT)/api \
	  $(UV) run --frozen prefect server start --host 127.0.0.1 --port $(PORT)

## make work-pool [POOL=kubernetes]: create or update the dcf-process (or dcf-kubernetes) work pool.
work-pool: setup
	$(PREFECT_ENV) $(UV) run --frozen python -m scripts.work_pool --pool $(POOL)

## make blocks: register the DcfWarehouse and prefect-snowflake block types (the UI can then create them).
blocks: setup
	$(PREFECT_ENV) $(UV) run --frozen prefect block register -m blocks.warehouse
	$(PREFECT_ENV) $(UV) run --frozen prefect block register -m prefect_snowflake

## make snowflake-blocks: credentials + connector + dcf-warehouse blocks from SNOWFLAKE_* (password prompted).
snowflake-blocks: blocks
	$(PREFECT_ENV) $(UV) run --frozen python -m scripts.snowflake_blocks

## make deploy-local: work pool, block types, every deployment of prefect.yaml, the reconcile automation.
## The deployments remember this checkout (DCF_DEPLOYED_FROM): a worker on this host finds the flows here unless
## its own DCF_PROJECT_DIR names another checkout.
deploy-local: setup
	$(UV) run --frozen python -m scripts.deployments --check
	$(MAKE) --no-print-directory work-pool blocks
	$(PREFECT_ENV) DCF_DEPLOYED_FROM=$(CURDIR) $(UV) run --frozen prefect --no-prompt deploy --all
	$(MAKE) --no-print-directory automations
	@echo "Start a worker with: make worker   (or, in this checkout's environment: prefect worker start --pool dcf-process;"
	@echo "runs take the flows from $(CURDIR) unless the worker sets DCF_PROJECT_DIR to another checkout)"

## make automations: create/update the automation that runs reconcile after a crashed or cancelled stream run.
automations: setup
	$(PREFECT_ENV) $(UV) run --frozen python -m scripts.automations

## make worker: a process worker for the dcf-process pool, running flows from this checkout with DCF_HOME.
worker: setup
	$(PREFECT_ENV) DCF_PROJECT_DIR=$(CURDIR) $(UV) run --frozen prefect worker start --pool dcf-process

clean:
	rm -rf .dcf dbt/*/target dbt/*/logs
