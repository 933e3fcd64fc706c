"""Two streams at once on one Prefect server. On the Snowflake path (fakesnow's server: every statement over the
wire, one control schema) two process workers, each with its own DCF_HOME as on two hosts, run one each side by
side; on the local DuckDB file (two runs in one DCF_HOME) the second queues for the file and says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.objects import FlowRun, StateType

from dcf.demo.synthetic_landing import generate_landing_file
from dcf.paths import PROJECT_ROOT
from tests.prefect_server import stop_process_group
from tests.snowflake_streams import SHOP, control_store, fakesnow_warehouse, two_streams
from tests.streams import BCFINSG, BCFINSG_GOOD_DAY

pytestmark = pytest.mark.e2e
DAY = date(2024, 3, 1)


def _start(stream: str, home: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flows.stream_load", "--stream", stream, "--process-date",
                             DAY.isoformat()], cwd=PROJECT_ROOT, env={**env, "DCF_HOME": str(home)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _both(first: subprocess.Popen, second: subprocess.Popen) -> tuple[str, str]:
    outputs = tuple(process.communicate(timeout=600)[0] for process in (first, second))
    for process, output in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, output[-4000:]
    return outputs


def _final(client: SyncPrefectClient, run_id: Any, logs: list[Path], timeout: float = 420.0) -> FlowRun:
    deadline = time.monotonic() + timeout
    while not (run := client.read_flow_run(run_id)).state or not run.state.is_final():
        if time.monotonic() > deadline:
            tails = "\n".join(log.read_text()[-3000:] for log in logs)
            pytest.fail(f"flow run {run_id} did not end; worker logs:\n{tails}")
        time.sleep(1)
    return run


def test_two_streams_on_two_workers_run_side_by_side_on_the_snowflake_path(prefect_api, fakesnow_server,
                                                                         tmp_path):
    """Two deployments on one process pool, two workers (each its own DCF_HOME, one run at a time): each worker
    runs one stream, at the same time, against one control schema."""
    database = fakesnow_warehouse(fakesnow_server, "concurrent-warehouse")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PREFECT_API_URL": prefect_api,
           "PREFECT_WORKER_QUERY_SECONDS": "1",
           "DCF_STREAMS_DIR": str(two_streams(tmp_path, warehouse_block="concurrent-warehouse"))}
    pool = f"two-workers-{uuid.uuid4().hex[:6]}"
    with SyncPrefectClient(prefect_api) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        flow_id = client.create_flow_from_name("stream-load")
        runs = [client.create_flow_run_from_deployment(client.create_deployment(
            flow_id=flow_id, name=f"{stream.lower()}-{pool}", entrypoint="flows/stream_load.py:stream_load",
            work_pool_name=pool, parameters={"stream": stream}, pull_steps=[
                {"prefect.deployments.steps.set_working_directory": {"directory": str(PROJECT_ROOT)}}]),
            parameters={"process_date": DAY.isoformat()}) for stream in (BCFINSG, SHOP)]
        logs = []
        with contextlib.ExitStack() as workers:
            for name in ("worker-a", "worker-b"):
                home = tmp_path / name
                generate_landing_file(DAY, home / "landing" / "bcfinsg", rows=300)  # for whichever runs BCFINSG
                logs.append(tmp_path / f"{name}.log")
                worker = subprocess.Popen(
                    [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--name", name,
                     "--limit", "1"], cwd=tmp_path, stdout=workers.enter_context(logs[-1].open("w")),
                    stderr=subprocess.STDOUT,
                    env={**env, "DCF_HOME": str(home), "PREFECT_HOME": str(home / "prefect")},
                    start_new_session=True)
                workers.callback(stop_process_group, worker)
            ended = [_final(client, run.id, logs) for run in runs]
    assert [run.state.type for run in ended] == [StateType.COMPLETED] * 2, [run.state.message for run in ended]
    # Which worker ran which stream: the dbt project each one built under its own DCF_HOME (a worker's log also
    # names a run it saw but left to the other, at its limit).
    built = {home: {p.name for p in (tmp_path / home / "dbt").glob("*") if p.name != "profiles"}
             for home in ("worker-a", "worker-b")}
    assert [len(projects) for projects in built.values()] == [1, 1], built
    assert built["worker-a"] != built["worker-b"], "one stream on each worker"

    conn = control_store(database, **fakesnow_server)
    instances = {r["STRM_NAME"]: r for r in conn.fetch_dicts("SELECT * FROM DCF.DCF_T_PRCS_INST")}
    statuses = {name: row["PRCS_STATUS"] for name, row in instances.items()}
    assert statuses == {BCFINSG: BCFINSG_GOOD_DAY, SHOP: "SUCCEEDED"}
    starts = [row["PRCS_START_TS"] for row in instances.values()]
    ends = [row["PRCS_END_TS"] for row in instances.values()]
    assert max(starts) < min(ends), "side by side: each began before the other ended"
    assert conn.scalar("SELECT COUNT(*) FROM DCF.DCF_T_STRM WHERE CLAIM_OWNER IS NOT NULL") == 0
    jobs = conn.fetch_dicts("SELECT PROCESS_STEP_ID, EXECUTION_STATUS_NAME, PROCESS_CONFIG_OBJ "
                            "FROM DCF.PROCESS_EXECUTION_LOG WHERE RECORD_TYPE = 'JOB'")
    per_stream = {}
    for job in jobs:
        stream = json.loads(job["PROCESS_CONFIG_OBJ"])["stream_name"]
        per_stream.setdefault(stream, []).append(job["EXECUTION_STATUS_NAME"])
    assert per_stream == {BCFINSG: ["SUCCESS", "SUCCESS"], SHOP: ["SUCCESS"]}, per_stream
    assert conn.scalar("SELECT COUNT(*) FROM DCF.PROCESS_EXECUTION_LOG WHERE EXECUTION_STATUS_NAME = 'RUNNING'") == 0
    # every stage completed, but BCFINSG's build, which finishes with warnings (its tests warn on bad records)
    stages = conn.fetch_dicts("SELECT PRCS_INST_ID, PRCS_NAME, PRCS_STATUS FROM DCF.DCF_T_PRCS_EXEC_LOG "
                              "WHERE PRCS_STATUS <> 'COMPLETED'")
    assert [(r["PRCS_INST_ID"], r["PRCS_NAME"], r["PRCS_STATUS"]) for r in stages] == [
        (instances[BCFINSG]["PRCS_INST_ID"], "dbt_build", "COMPLETED_WITH_WARNINGS")]
    [lineage] = conn.fetch_dicts("SELECT RECORD_COUNT, LIFECYCLE_STAGE FROM DCF.DCF_T_DATA_LINEAGE")
    assert (lineage["RECORD_COUNT"], lineage["LIFECYCLE_STAGE"]) == (300, "ARCHIVED")


def test_two_streams_at_once_on_the_local_file_queue_for_it_and_say_so(prefect_api, tmp_path):
    home = tmp_path / "dcf-home"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PREFECT_API_URL": prefect_api,
           "DCF_STREAMS_DIR": str(two_streams(tmp_path, warehouse_block=None))}
    generate_landing_file(DAY, home / "landing" / "bcfinsg", rows=300)
    outputs = _both(_start(BCFINSG, home, env), _start(SHOP, home, env))
    waited = [output for output in outputs if "waiting for the local DuckDB warehouse (held by another run)" in output]
    assert len(waited) == 1, "the second run queued for the file, and said so once"

    from dcf.store.connection import open_duckdb
    from dcf.store.dialect import Namespace

    with open_duckdb(home / "warehouse.duckdb", Namespace("DCF"), read_only=True) as conn:
        statuses = dict(conn.fetchall("SELECT STRM_NAME, PRCS_STATUS FROM DCF.DCF_T_PRCS_INST"))
    assert statuses == {BCFINSG: BCFINSG_GOOD_DAY, SHOP: "SUCCEEDED"}
