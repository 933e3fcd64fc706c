"""Crash recovery: dcf.execlog.sweep's rules on DuckDB and fakesnow, and the SIGKILL end-to-end test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bench.synthetic_dbt import write_project
from dcf.execlog.facts import JobConfig, NodeEvent, NodeFacts, ProjectFacts, RunContext
from dcf.execlog.sweep import sweep
from dcf.execlog.writer import ExecutionLogWriter
from dcf.paths import PROJECT_ROOT
from dcf.store.clock import utcnow
from dcf.store.connection import Connection, open_duckdb
from dcf.store.dialect import Namespace
from dcf.store.migrate import ensure_schema
from dcf.store.owner import process_alive, process_identity
from dcf.store.schema import DCF_T_PRCS_INST

T = datetime(2025, 12, 11, 10, 0, 0)
STATES = {"fr-crashed": "CRASHED", "fr-live": "RUNNING", "fr-killed": "RUNNING", "fr-cancelled": "CANCELLED",
          **{f"fr-away-{n}": "RUNNING" for n in (1, 2, 3)}}


def lookup(ids):
    """Prefect's answer, as flows/reconcile.py gives it: ids it does not know are left out."""
    return {i: STATES[i] for i in ids if i in STATES}


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _running_job(conn: Connection, invocation: str, *, stream: str, flow_run_id: str | None, pid: int,
                 prcs_inst_id: int | None = None) -> None:
    """A job as a writer leaves it mid-build: JOB RUNNING, model a SUCCESS (42 rows), model b RUNNING."""
    def model(name: str) -> NodeFacts:
        return NodeFacts(f"model.p.{name}", name, "model", "p", "view", None, "db", "s", name, f"models/{name}.sql")

    host, own_pid, own_start = process_identity()
    facts = ProjectFacts("p", "duckdb", "1.11.0", {"model.p.a": model("a"), "model.p.b": model("b")})
    config = JobConfig(target_name="local", run=RunContext(stream_name=stream, prcs_inst_id=prcs_inst_id,
                                                           flow_run_id=flow_run_id),
                       host=host, pid=pid, pid_start=own_start if pid == own_pid else None)
    writer = ExecutionLogWriter(conn, facts, config, interval=3600)
    for event in (NodeEvent("start", "model.p.a", T), NodeEvent("finish", "model.p.a", T, status="success"),
                  NodeEvent("start", "model.p.b", T)):
        writer.submit(invocation, event, T)
    writer.flush()
    writer.job.set_rows("model.p.a", 42)
    writer.flush()


def _instance(conn: Connection, prcs_inst_id: int, stream: str, flow_run_id: str | None) -> None:
    conn.merge(DCF_T_PRCS_INST, [{
        "PRCS_INST_ID": prcs_inst_id, "STRM_ID": 1, "STRM_NAME": stream, "PRCS_DATE": T.date(), "ODS_BATCH_ID": "B",
        "PRCS_STATUS": "RUNNING", "ORCHESTRATION_STATUS": None, "LAST_GOOD_STAGE": None, "PRCS_START_TS": T,
        "PRCS_END_TS": None, "FLOW_RUN_ID": flow_run_id, "DEPLOYMENT_ID": None, "ERROR_MESSAGE": None,
        "EXEC_USER_ID": "test", "UPDATED_TS": T,
    }])


def _statuses(conn: Connection) -> dict[str, str]:
    table = conn.qualify("PROCESS_EXECUTION_LOG")
    return dict(conn.fetchall(f"SELECT PROCESS_STEP_ID, EXECUTION_STATUS_NAME FROM {table}"))


def _instances(conn: Connection) -> dict[int, str]:
    rows = conn.fetchall(f"SELECT PRCS_INST_ID, PRCS_STATUS FROM {conn.qualify('DCF_T_PRCS_INST')}")
    return {int(k): v for k, v in rows}


def test_process_liveness() -> None:
    host, pid, start = process_identity()
    assert process_alive(host, pid, start) is True
    assert process_alive(host, pid, "not-its-start") is False  # a reused pid is not our process
    assert process_alive(host, _dead_pid(), None) is False
    assert process_alive("another-host", pid, start) is None


def test_sweep_closes_rows_of_ended_and_killed_runs(duckdb_conn: Connection) -> None:
    conn = duckdb_conn
    ensure_schema(conn)
    me, dead = os.getpid(), _dead_pid()
    _running_job(conn, "crashed", stream="S", flow_run_id="fr-crashed", pid=me, prcs_inst_id=1)
    _running_job(conn, "live", stream="S", flow_run_id="fr-live", pid=me, prcs_inst_id=2)
    _running_job(conn, "killed", stream="S", flow_run_id="fr-killed", pid=dead, prcs_inst_id=3)
    _running_job(conn, "other", stream="OTHER", flow_run_id="fr-gone", pid=me)
    for prcs_inst_id, run in ((1, "fr-crashed"), (2, "fr-live"), (3, "fr-killed"), (4, "fr-cancelled"), (5, None)):
        _instance(conn, prcs_inst_id, "S", run)

    report = sweep(conn, lookup, stream="S")

    statuses = _statuses(conn)
    assert {k: v for k, v in statuses.items() if "crashed" in k or "killed" in k} == {
        "JOB_crashed": "FAILED", "JOB_crashed_MODEL_a": "SUCCESS", "JOB_crashed_MODEL_b": "FAILED",
        "JOB_killed": "FAILED", "JOB_killed_MODEL_a": "SUCCESS", "JOB_killed_MODEL_b": "FAILED"}
    assert statuses["JOB_live"] == statuses["JOB_live_MODEL_b"] == "RUNNING"
    assert statuses["JOB_other"] == "RUNNING"  # another stream: not this sweep's business
    assert _instances(conn) == {1: "CRASHED", 2: "RUNNING", 3: "CRASHED", 4: "CANCELLED", 5: "RUNNING"}
    assert report.dead_flow_runs.keys() == {"fr-killed"}  # Prefect still says RUNNING: the flow sets it Crashed
    assert sorted(report.closed_instances) == [1, 3, 4]

    log = conn.qualify("PROCESS_EXECUTION_LOG")
    job = conn.fetch_dicts(f"SELECT * FROM {log} WHERE PROCESS_STEP_ID = 'JOB_killed'")[0]
    error = json.loads(job["ERROR_MESSAGE_OBJ"])
    assert (error["error_type"], error["reason_code"], error["flow_run_id"]) == ("ORPHANED_RUN", "KILLED", "fr-killed")
    assert f"pid {dead}" in error["message"]
    assert json.loads(job["DESTINATION_DATA_CNT_OBJ"]) == {
        "total_models": 2, "successful_models": 1, "failed_models": 1, "skipped_models": 0, "total_rows": 42,
        "incomplete": True}
    assert job["EXECUTION_COMPLETED_IND"] == "Y" and job["EXECUTION_END_TWSTP"] is not None
    model_b = conn.fetch_dicts(f"SELECT * FROM {log} WHERE PROCESS_STEP_ID = 'JOB_crashed_MODEL_b'")[0]
    steps = json.loads(model_b["STEP_EXECUTION_OBJ"])
    assert steps["current_step"] == "MODEL_FAILED"
    assert steps["execution_timeline"][-1]["title"] == "Closed by reconcile: CRASHED"
    inst = conn.fetch_dicts(f"SELECT * FROM {conn.qualify('DCF_T_PRCS_INST')} WHERE PRCS_INST_ID = 1")[0]
    assert inst["ERROR_MESSAGE"].startswith("closed by reconcile: its flow run fr-crashed is CRASHED")
    assert inst["PRCS_END_TS"] is not None

    everything = sweep(conn, lookup)  # all streams: fr-gone no longer exists in Prefect
    assert sorted(everything.closed_log_rows) == ["JOB_other", "JOB_other_MODEL_b"]
    again = sweep(conn, lookup)
    assert (again.closed_log_rows, again.closed_instances) == ([], [])


def test_the_callers_own_instance_stays_open(duckdb_conn: Connection) -> None:
    # A retry of a killed run keeps its flow run id and its process instance: only the dead rows are closed.
    ensure_schema(duckdb_conn)
    _running_job(duckdb_conn, "killed", stream="S", flow_run_id="fr-killed", pid=_dead_pid(), prcs_inst_id=3)
    _instance(duckdb_conn, 3, "S", "fr-killed")
    report = sweep(duckdb_conn, lookup, stream="S", keep_flow_run_ids={"fr-killed"})
    assert sorted(report.closed_log_rows) == ["JOB_killed", "JOB_killed_MODEL_b"]
    assert _instances(duckdb_conn) == {3: "RUNNING"}


def test_an_instance_on_another_host_is_dead_only_once_its_heartbeat_is_older_than_stale_after(
        duckdb_conn: Connection) -> None:
    conn = duckdb_conn
    ensure_schema(conn)
    # Prefect still shows every run Running; the owners are on another host, so no pid can be checked.
    for prcs_inst_id, last_beat, stale_after in ((1, 30, 120), (2, 600, 120), (3, 6000, None)):
        _instance(conn, prcs_inst_id, "S", f"fr-away-{prcs_inst_id}")
        conn.execute(f"UPDATE {conn.qualify('DCF_T_PRCS_INST')} SET OWNER_HOST = 'another-host', OWNER_PID = 7, "
                     "HEARTBEAT_TS = :beat, STALE_AFTER_S = :limit WHERE PRCS_INST_ID = :id",
                     {"beat": T - timedelta(seconds=last_beat), "limit": stale_after, "id": prcs_inst_id})
    # its dbt log row: judged by its instance's silence (its writer's own pid says nothing about the owner)
    _running_job(conn, "quiet", stream="S", flow_run_id="fr-away-2", pid=os.getpid(), prcs_inst_id=2)

    report = sweep(conn, lookup, stream="S", now=T)

    assert _instances(conn) == {1: "RUNNING", 2: "CRASHED", 3: "RUNNING"}, "fresh beat and no rule stay open"
    inst = conn.fetch_dicts(f"SELECT * FROM {conn.qualify('DCF_T_PRCS_INST')} WHERE PRCS_INST_ID = 2")[0]
    assert inst["ERROR_MESSAGE"] == ("closed by reconcile: no heartbeat from its process (pid 7 on another-host) "
                                     "for 600s, more than its stream's stale_after of 120s")
    assert report.dead_flow_runs.keys() == {"fr-away-2"}, "Prefect's Running run is to be marked Crashed"
    assert _statuses(conn)["JOB_quiet"] == "FAILED"


def test_sweep_on_fakesnow_server(fakesnow_server_conn: Connection) -> None:
    conn = fakesnow_server_conn
    ensure_schema(conn)
    _running_job(conn, "crashed", stream="S", flow_run_id="fr-crashed", pid=os.getpid(), prcs_inst_id=1)
    _instance(conn, 1, "S", "fr-crashed")
    report = sweep(conn, lookup, stream="S")
    assert sorted(report.closed_log_rows) == ["JOB_crashed", "JOB_crashed_MODEL_b"]
    assert _statuses(conn) == {"JOB_crashed": "FAILED", "JOB_crashed_MODEL_a": "SUCCESS",
                               "JOB_crashed_MODEL_b": "FAILED"}
    assert _instances(conn) == {1: "CRASHED"}
    still_open = conn.scalar(f"SELECT COUNT(*) FROM {conn.qualify('PROCESS_EXECUTION_LOG')} "
                             "WHERE EXECUTION_END_TWSTP IS NULL OR EXECUTION_STATUS_NAME = 'RUNNING'")
    assert still_open == 0


@pytest.mark.e2e
def test_sigkill_mid_build_then_reconcile(prefect_api: str, tmp_path: Path, dcf_home: Path) -> None:
    """Kill test: the flow process dies by SIGKILL while a model runs; reconcile closes everything it left."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.reconcile import reconcile as reconcile_flow

    stream = "KILL_TEST_STREAM"
    project = write_project(tmp_path / "project", 4, gated={"m0002": tmp_path / "gate"}, tests_every=0)
    dcf_home.mkdir(parents=True, exist_ok=True)
    warehouse = dcf_home / "warehouse.duckdb"
    with open_duckdb(warehouse, Namespace("DCF")) as conn:
        ensure_schema(conn)  # then closed: the flow process must be able to take the file
    marker = tmp_path / "running"
    with (tmp_path / "flow.log").open("w") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.exec_log_kill_flow", str(project.root), str(warehouse), str(marker), stream,
             "4242"],
            cwd=PROJECT_ROOT, env={**os.environ, "PREFECT_API_URL": prefect_api}, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 180
            while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert marker.exists(), f"the flow never reached the gated model; see {tmp_path / 'flow.log'}"
        finally:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    flow_run_id = marker.read_text()

    with open_duckdb(warehouse, Namespace("DCF")) as conn:
        before = _statuses(conn)
    assert set(before.values()) == {"RUNNING", "SUCCESS"} and before[next(k for k in before if "MODEL" not in k)] \
        == "RUNNING"

    result = reconcile_flow(stream=stream)

    with open_duckdb(warehouse, Namespace("DCF")) as conn:
        after = _statuses(conn)
        instance = conn.fetch_dicts(f"SELECT * FROM {conn.qualify('DCF_T_PRCS_INST')} WHERE PRCS_INST_ID = 4242")[0]
        job = conn.fetch_dicts(f"SELECT ERROR_MESSAGE_OBJ FROM {conn.qualify('PROCESS_EXECUTION_LOG')} "
                               "WHERE RECORD_TYPE = 'JOB'")[0]
    assert "RUNNING" not in after.values()
    assert {k for k, v in before.items() if v == "RUNNING"} == set(result["closed_log_rows"])
    assert {k: v for k, v in after.items() if before[k] == "SUCCESS"} == {k: "SUCCESS" for k, v in before.items()
                                                                          if v == "SUCCESS"}
    assert (instance["PRCS_STATUS"], instance["FLOW_RUN_ID"]) == ("CRASHED", flow_run_id)
    assert "is gone" in instance["ERROR_MESSAGE"] and instance["PRCS_END_TS"] is not None
    assert json.loads(job["ERROR_MESSAGE_OBJ"])["reason_code"] == "KILLED"
    assert result["dead_flow_runs"].keys() == {flow_run_id}
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(flow_run_id).state.type.value == "CRASHED"
        boards = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[
            "dcf-stream-status-board"])))
    board = str(max(boards, key=lambda a: a.created).data)  # reconcile refreshed it
    assert f"| {stream} |" in board and "| 4242 | CRASHED |" in board, board
    assert utcnow() >= instance["PRCS_END_TS"]
