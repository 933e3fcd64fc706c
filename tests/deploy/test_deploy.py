"""prefect.yaml for real: server, work pool, `prefect deploy --all`, a process worker, runs started as the UI does.

Run alone with ``uv run pytest -m deploy``. One module-wide stack (server, pool, deployments, automation,
worker) with its own PREFECT_HOME and DCF_HOME; the worker and the server are stopped by their process ids
whatever happens. The worker runs the stream from a private copy of the BCFINSG YAML and dbt project
(``DCF_STREAMS_DIR``) that adds one model, ``e2e_gate``: a no-op unless the run's environment names a FIFO
in ``DCF_TEST_GATE``, in which case dbt blocks reading it. That gives the crash test a known moment, in the
middle of the dbt build, at which to SIGKILL the flow-run process.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.exceptions import PrefectHTTPStatusError

from blocks.snowflake_env import snowflake_env
from blocks.warehouse import DcfWarehouse
from dcf.demo.synthetic_landing import generate_landing_file
from dcf.paths import PROJECT_ROOT
from dcf.store.connection import open_duckdb
from dcf.store.dialect import Namespace
from scripts.automations import AUTOMATION_NAME
from scripts.work_pool import WORK_POOL
from tests.prefect_server import prefect_server, stop_process_group
from tests.streams import BCFINSG, BCFINSG_GOOD_DAY, BCFINSG_GOOD_STAGES, BCFINSG_YAML

pytestmark = pytest.mark.e2e
BCFINSG_DEPLOYMENT = "stream-load/bcfinsg-plan-baln-segm-load"
DAY1, DAY3, DAY4 = date(2024, 3, 1), date(2024, 3, 3), date(2024, 3, 4)
RUN_TIMEOUT = 240.0
GATE_MODEL = """\
{{ config(materialized='table', tags=['stream_bcfinsg']) }}
{% if env_var('DCF_TEST_GATE', '') %}
select content as gate from read_text('{{ env_var("DCF_TEST_GATE") }}')
{% else %}
select 'open' as gate
{% endif %}
"""
T = TypeVar("T")


@dataclass
class Stack:
    api_url: str
    dcf_home: Path
    worker_pid: int
    worker_log: Path

    def client(self) -> SyncPrefectClient:
        return SyncPrefectClient(self.api_url)

    def land(self, day: date) -> Path:
        return generate_landing_file(day, self.dcf_home / "landing" / "bcfinsg", rows=1500)

    def query(self, sql: str) -> list[dict[str, Any]]:
        # The flow-run processes have ended: the DuckDB file is free (open_duckdb still waits, bounded, if not).
        with open_duckdb(self.dcf_home / "warehouse.duckdb", Namespace("DCF"), read_only=True) as conn:
            return conn.fetch_dicts(sql)


def _private_bcfinsg(root: Path) -> Path:
    """The BCFINSG stream YAML and dbt project, plus the gate model; returns the streams directory."""
    project = root / "gdw1"
    shutil.copytree(PROJECT_ROOT / "dbt" / "gdw1", project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "models" / "e2e").mkdir()
    (project / "models" / "e2e" / "e2e_gate.sql").write_text(GATE_MODEL)
    data = yaml.safe_load(BCFINSG_YAML.read_text())
    data["dbt"]["project_dir"] = data["dbt"]["profiles_dir"] = str(project)
    streams = root / "streams"
    streams.mkdir()
    (streams / BCFINSG_YAML.name).write_text(yaml.safe_dump(data, sort_keys=False))
    return streams


def _run(command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("deploy")
    dcf_home = root / "dcf-home"
    with prefect_server(root / "server-home") as api_url:
        env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(root / "cli-home"),
               "DCF_HOME": str(dcf_home), "DCF_STREAMS_DIR": str(_private_bcfinsg(root)),
               "PYTHONPATH": str(PROJECT_ROOT)}
        env.pop("DCF_PROJECT_DIR", None)
        _run([sys.executable, "-m", "scripts.work_pool"], env)
        # as make deploy-local does: the deployments remember the checkout they were deployed from
        _run([sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
             {**env, "DCF_DEPLOYED_FROM": str(PROJECT_ROOT)})
        _run([sys.executable, "-m", "scripts.automations"], env)

        # The worker started as Prefect's own hint after a deploy says (`prefect worker start --pool …`): no
        # DCF_PROJECT_DIR, started elsewhere, no PYTHONPATH: the pull steps alone find and import the project.
        worker_env = {**env, "PREFECT_HOME": str(root / "worker-home"), "PREFECT_WORKER_QUERY_SECONDS": "1"}
        worker_env.pop("PYTHONPATH")
        worker_log = root / "worker.log"
        with worker_log.open("w") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "prefect", "worker", "start", "--pool", WORK_POOL, "--name", "dcf-e2e"],
                cwd=root, env=worker_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                yield Stack(api_url, dcf_home, worker.pid, worker_log)
            finally:
                stop_process_group(worker)


def _eventually(what: str, probe: Callable[[], T | None], stack: Stack, timeout: float = RUN_TIMEOUT) -> T:
    """Poll ``probe`` until it returns something; fail with the worker log's tail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            tail = "\n".join(stack.worker_log.read_text().splitlines()[-40:])
            pytest.fail(f"gave up waiting for {what}; worker log:\n{tail}")
        time.sleep(0.5)
    return found


def _final(stack: Stack, client: SyncPrefectClient, run_id: Any) -> FlowRun:
    def probe() -> FlowRun | None:
        run = client.read_flow_run(run_id)
        return run if run.state and run.state.is_final() else None

    return _eventually(f"flow run {run_id} to end", probe, stack)


def _trigger(client: SyncPrefectClient, day: date, **job_variables: Any) -> FlowRun:
    """What the UI's run form does: create a flow run of the deployment with the form's parameters."""
    deployment = client.read_deployment_by_name(BCFINSG_DEPLOYMENT)
    return client.create_flow_run_from_deployment(deployment.id, parameters={"process_date": day.isoformat()},
                                                  job_variables=job_variables or None)


def _instances(stack: Stack, day: date) -> list[dict[str, Any]]:
    return stack.query(f"SELECT * FROM DCF.DCF_T_PRCS_INST WHERE PRCS_DATE = DATE '{day.isoformat()}'")


def _log_rows(stack: Stack, flow_run_id: Any) -> list[dict[str, Any]]:
    rows = stack.query("SELECT * FROM DCF.PROCESS_EXECUTION_LOG")
    return [r for r in rows if json.loads(r["PROCESS_CONFIG_OBJ"] or "{}").get("flow_run_id") == str(flow_run_id)]


@pytest.mark.deploy
def test_a_ui_triggered_run_completes_writes_its_dcf_rows_and_a_second_trigger_at_once_is_cancelled(stack: Stack):
    with stack.client() as client:
        # every operations flow is deployed beside the streams (the DataStage import among them)
        assert client.read_deployment_by_name("import-datastage/import-datastage").entrypoint == \
            "flows/import_datastage.py:import_datastage"
        deployment = client.read_deployment_by_name(BCFINSG_DEPLOYMENT)
        # The form's checks hold server-side too: bad values are refused before a flow run exists.
        for bad in ({"stream": "NO_SUCH_STREAM"}, {"batch_id": "two words"}, {"mode": "REPLAY"}):
            with pytest.raises(PrefectHTTPStatusError) as refused:
                client.create_flow_run_from_deployment(deployment.id, parameters=bad)
            assert refused.value.response.status_code == 409, bad
        assert client.read_flow_runs(deployment_filter=DeploymentFilter(
            name=DeploymentFilterName(any_=[deployment.name]))) == []

        stack.land(DAY1)
        # Two triggers at once: one runs, the other is refused by the collision strategy.
        runs = [_final(stack, client, r.id) for r in (_trigger(client, DAY1), _trigger(client, DAY1))]
        completed = [r for r in runs if r.state.type == StateType.COMPLETED]
        assert len(completed) == 1, [(r.state.type, r.state.message) for r in runs]
        run = completed[0]
        [refused] = [r for r in runs if r is not run]
        assert refused.state.type == StateType.CANCELLED, refused.state.message
        # CANCEL_NEW: refused when it asked for the deployment's only slot, so it never started.
        assert "concurrency limit" in refused.state.message.lower() and refused.run_count == 0
        artifacts = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
        api_logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
    # quiet and plain: no colour codes in the run's logs in the API, no teardown or progress noise from the
    # flow-run process the worker started (its output goes to the worker's log)
    assert api_logs and not [log.message for log in api_logs if "\x1b[" in log.message]
    # read once the flow-run process has ended (and torn down): its pid is gone
    pid = int(str(run.infrastructure_pid).rsplit(":", 1)[-1])
    _eventually("the flow-run process's exit", lambda: not Path(f"/proc/{pid}").exists() or None, stack, timeout=60)
    worker_output = stack.worker_log.read_text()
    assert "nanobind" not in worker_output and "Calculating Metrics" not in worker_output
    assert {"stream-bcfinsg-plan-baln-segm-load-load-report", "stream-bcfinsg-plan-baln-segm-load-stages"} <= {
        a.key for a in artifacts}

    [instance] = _instances(stack, DAY1)
    assert (instance["PRCS_STATUS"], instance["FLOW_RUN_ID"]) == (BCFINSG_GOOD_DAY, str(run.id))
    stages = stack.query(f"SELECT PRCS_NAME, PRCS_STATUS FROM DCF.DCF_T_PRCS_EXEC_LOG "
                         f"WHERE PRCS_INST_ID = {instance['PRCS_INST_ID']}")
    assert {s["PRCS_NAME"]: s["PRCS_STATUS"] for s in stages} == BCFINSG_GOOD_STAGES
    log_rows = _log_rows(stack, run.id)
    # two dbt invocations behind the quality gate: upstream of the fact, then the fact
    assert [r["EXECUTION_STATUS_NAME"] for r in log_rows if r["RECORD_TYPE"] == "JOB"] == ["SUCCESS"] * 2
    assert {r["EXECUTION_STATUS_NAME"] for r in log_rows if r["RECORD_TYPE"] == "MODEL"} == {"SUCCESS"}


@pytest.mark.deploy
def test_a_killed_run_is_closed_by_the_automation_driven_reconcile(stack: Stack):
    with stack.client() as client:
        run, writer = _gated_run(stack, client, DAY3)
        try:
            # The execution-log writer flushes every second: let it write the RUNNING JOB and MODEL rows.
            time.sleep(3)
            pid = _flow_run_process(client.read_flow_run(run.id), stack.worker_pid)
            os.kill(pid, signal.SIGKILL)
        finally:
            os.close(writer)
        crashed = _final(stack, client, run.id)
        assert crashed.state.type == StateType.CRASHED, crashed.state.message

        automation = client.read_automations_by_name(AUTOMATION_NAME)[0]
        reconcile_runs = _eventually("the automation's reconcile run to end", lambda: _ended_reconcile_runs(client),
                                     stack)
    # Exactly one: the run refused by CANCEL_NEW in the first test never ran, so it did not fire.
    [reconcile] = reconcile_runs
    assert reconcile.state.type == StateType.COMPLETED, reconcile.state.message
    assert (reconcile.created_by.type, reconcile.created_by.id) == ("AUTOMATION", automation.id)
    assert reconcile.parameters == {"stream": BCFINSG, "warehouse_block": None}

    [instance] = _instances(stack, DAY3)
    assert instance["FLOW_RUN_ID"] == str(run.id)
    assert instance["PRCS_STATUS"] in ("CRASHED", "FAILED"), instance
    log_rows = _log_rows(stack, run.id)
    assert {r["RECORD_TYPE"] for r in log_rows} == {"JOB", "MODEL"}
    assert [r["PROCESS_STEP_ID"] for r in stack.query(
        "SELECT * FROM DCF.PROCESS_EXECUTION_LOG WHERE EXECUTION_STATUS_NAME = 'RUNNING'")] == []
    stages = {r["PRCS_NAME"]: r for r in stack.query(
        f"SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_INST_ID = {int(instance['PRCS_INST_ID'])}")}
    assert stages["dbt_build"]["PRCS_STATUS"] == "FAILED", "the killed stage is closed, not left RUNNING"
    assert not [name for name, row in stages.items() if row["PRCS_STATUS"] == "RUNNING"]
    closed = [r for r in log_rows if json.loads(r["ERROR_MESSAGE_OBJ"] or "{}").get("closed_by") == "reconcile"]
    assert {r["RECORD_TYPE"] for r in closed} == {"JOB", "MODEL"}, "the JOB row and the gate model's row"
    assert {r["EXECUTION_STATUS_NAME"] for r in closed} == {"FAILED"}


@pytest.mark.deploy
def test_an_operators_cancel_during_a_model_is_recorded_cancelled_and_the_next_run_resumes(stack: Stack):
    """Last in this module: the cancel fires the reconcile automation, which the kill test counts."""
    from datetime import datetime

    from prefect.states import Cancelling

    with stack.client() as client:
        run, writer = _gated_run(stack, client, DAY4)
        try:
            time.sleep(3)  # the execution-log writer's RUNNING rows are out
            cancelled_at = datetime.now(UTC)
            client.set_flow_run_state(run.id, Cancelling(message="operator: prefect flow-run cancel"))
            cancelled = _final(stack, client, run.id)
            # the model blocked in the warehouse never returns: the worker kills the process after its grace
            pid = int(str(cancelled.infrastructure_pid).rsplit(":", 1)[-1])
            _eventually("the cancelled process's exit", lambda: not Path(f"/proc/{pid}").exists() or None, stack,
                        timeout=120)
        finally:
            os.close(writer)
        assert cancelled.state.type == StateType.CANCELLED, cancelled.state.message
        _eventually("the reconcile run after the cancel", lambda: _ended_reconcile_runs(client, after=cancelled_at),
                    stack)

    [instance] = _instances(stack, DAY4)
    assert (instance["PRCS_STATUS"], instance["ERROR_MESSAGE"]) == ("CANCELLED", "cancelled by operator")
    stages = {r["PRCS_NAME"]: r for r in stack.query(
        f"SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_INST_ID = {int(instance['PRCS_INST_ID'])}")}
    assert (stages["dbt_build"]["PRCS_STATUS"], stages["dbt_build"]["ERROR_MESSAGE"]) == (
        "CANCELLED", "cancelled by operator")
    assert not [name for name, row in stages.items() if row["PRCS_STATUS"] == "RUNNING"]
    log_rows = _log_rows(stack, run.id)
    gate_rows = [r for r in log_rows if r["RECORD_TYPE"] == "JOB" or r["PROCESS_STEP_ID"].endswith("e2e_gate")]
    assert {r["EXECUTION_STATUS_NAME"] for r in gate_rows} == {"CANCELLED"}, [
        (r["PROCESS_STEP_ID"], r["EXECUTION_STATUS_NAME"]) for r in gate_rows]
    [report] = stack.query(f"SELECT * FROM DCF.DCF_T_NOTIFICATIONS WHERE PRCS_INST_ID = "
                           f"{int(instance['PRCS_INST_ID'])}")
    assert report["NOTIFICATION_TYPE"] == "LOAD_FAILURE_REPORT" and "CANCELLED" in str(report["NOTIFICATION_CONTENT"])

    with stack.client() as client:  # the next run of the date resumes the cancelled instance
        resumed = _final(stack, client, _trigger(client, DAY4).id)
    assert resumed.state.type == StateType.COMPLETED, resumed.state.message
    [instance] = _instances(stack, DAY4)
    assert instance["PRCS_STATUS"] == BCFINSG_GOOD_DAY


def _gated_run(stack: Stack, client: SyncPrefectClient, day: date) -> tuple[FlowRun, int]:
    """A run of ``day`` whose dbt build blocks in the gate model; returns it and the gate's write end."""
    stack.land(day)
    gate = stack.dcf_home / f"e2e-gate-{day:%Y%m%d}.fifo"
    os.mkfifo(gate)
    run = _trigger(client, day, env={"DCF_TEST_GATE": str(gate)})
    return run, _eventually("dbt to block on the gate model", lambda: _open_gate_writer(gate, client, run.id), stack)


def _open_gate_writer(gate: Path, client: SyncPrefectClient, run_id: Any) -> int | None:
    """A write end of the FIFO once dbt reads it (held open, so dbt stays blocked); None before that."""
    try:
        return os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as error:
        if error.errno != errno.ENXIO:  # ENXIO: nobody reads it yet
            raise
    state = client.read_flow_run(run_id).state
    if state and state.is_final():
        pytest.fail(f"the gated run ended before reaching the gate: {state.type} {state.message}")
    return None


def _flow_run_process(run: FlowRun, worker_pid: int) -> int:
    """The flow run's own process: its infrastructure pid, checked to be the engine the worker started."""
    pid = int(str(run.infrastructure_pid).rsplit(":", 1)[-1])
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert "prefect.engine" in cmdline and parent == worker_pid, (pid, cmdline, parent, worker_pid)
    return pid


def _ended_reconcile_runs(client: SyncPrefectClient, after: Any = None) -> list[FlowRun] | None:
    """The reconcile runs (created after ``after``, if given) once they all ended; None before that."""
    runs = client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["reconcile"])))
    runs = [r for r in runs if after is None or (r.created and r.created >= after)]
    return runs if runs and all(r.state and r.state.is_final() for r in runs) else None


def test_block_types_register_and_production_blocks_are_made_from_the_environment(prefect_api: str):
    """`make blocks` and `make snowflake-blocks` against a real server: secrets from the environment, kept secret."""
    snowflake = {"SNOWFLAKE_ACCOUNT": "xy12345.eu-west-1", "SNOWFLAKE_USER": "DCF_SVC", "SNOWFLAKE_PASSWORD": "s3cret",
                 "SNOWFLAKE_ROLE": "DCF_LOADER", "SNOWFLAKE_WAREHOUSE": "DCF_WH", "SNOWFLAKE_DATABASE": "GDW1",
                 "SNOWFLAKE_SCHEMA": "CORE"}
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PYTHONPATH": str(PROJECT_ROOT), **snowflake,
           "DCF_CONTROL_DATABASE": "DEV_PROVIDERPDM", "DCF_CONTROL_SCHEMA": "PROVIDERPDM_CORE_TARGET"}
    _run([sys.executable, "-m", "prefect", "block", "register", "-m", "blocks.warehouse"], env)
    with get_client(sync_client=True) as client:
        assert client.read_block_type_by_slug("dcf-warehouse").name == "DCF Warehouse"
    _run([sys.executable, "-m", "scripts.snowflake_blocks", "--credentials", "e2e-credentials", "--connector",
          "e2e-snowflake", "--warehouse", "e2e-warehouse"], env)

    warehouse = DcfWarehouse.load("e2e-warehouse")
    assert (warehouse.kind, warehouse.control_database, warehouse.control_schema) == (
        "snowflake", "DEV_PROVIDERPDM", "PROVIDERPDM_CORE_TARGET")
    assert snowflake_env(warehouse) == snowflake  # what the dbt stage hands to dbt's snowflake profile
    with get_client(sync_client=True) as client:
        stored = client.read_block_document_by_name("e2e-credentials", "snowflake-credentials", include_secrets=False)
    assert stored.data["password"] != "s3cret" and stored.data["account"] == "xy12345.eu-west-1"
