"""Failed, crashed and re-delivered runs of the stream flow: resume, reset, archived copies (real parts)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest

from dcf.paths import PROJECT_ROOT, warehouse_path
from tests.streams import (
    BCFINSG,
    BCFINSG_GOOD_DAY,
    BCFINSG_GOOD_STAGES,
    break_fact_model,
    fact_table,
    land,
    private_bcfinsg,
    query,
    scalar,
)

pytestmark = pytest.mark.e2e
DAY1, DAY2 = date(2024, 3, 1), date(2024, 3, 2)


def _run(**params):
    from flows.stream_load import stream_load

    return stream_load(stream=params.pop("stream", BCFINSG), return_state=True, **params)


def test_failure_is_recorded_and_a_rerun_resumes_the_same_instance(prefect_api, tmp_path, monkeypatch):
    project = private_bcfinsg(tmp_path, monkeypatch)
    land(DAY1)
    break_fact_model(project, broken=True)

    failed = _run(process_date=DAY1)

    assert failed.is_failed()
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert instance["PRCS_STATUS"] == "FAILED" and "dbt build failed" in instance["ERROR_MESSAGE"]
    assert "fct_plan_baln_segm_mstr" in instance["ERROR_MESSAGE"]
    stages = {r["PRCS_NAME"]: r for r in query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG")}
    assert stages["ingest"]["PRCS_STATUS"] == "COMPLETED"
    assert stages["dbt_build"]["PRCS_STATUS"] == "FAILED"
    assert "fct_plan_baln_segm_mstr" in stages["dbt_build"]["ERROR_MESSAGE"]
    assert "metadata" not in stages
    [failure] = query("SELECT * FROM DCF.DCF_T_NOTIFICATIONS")
    assert failure["NOTIFICATION_TYPE"] == "LOAD_FAILURE_REPORT"
    assert json.loads(failure["NOTIFICATION_CONTENT"])["status"] == "FAILED"
    raw_rows = scalar("SELECT COUNT(*) FROM RAW.BCFINSG_PLAN_BALN_SEGM")
    failed_at = stages["dbt_build"]["PRCS_END_TS"]

    break_fact_model(project, broken=False)
    resumed = _run(process_date=DAY1)

    assert resumed.is_completed(), resumed.message
    [again] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert (again["PRCS_INST_ID"], again["PRCS_STATUS"]) == (instance["PRCS_INST_ID"], BCFINSG_GOOD_DAY)
    stages = {r["PRCS_NAME"]: r for r in query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG")}
    assert {name: r["PRCS_STATUS"] for name, r in stages.items()} == BCFINSG_GOOD_STAGES
    assert stages["ingest"]["ATTEMPT"] == 1, "ingest was restored from its checkpoint, not re-run"
    assert stages["dbt_build"]["ATTEMPT"] == 2
    # validate and process_id ran again: their rows time the resumed attempt, not the first start to now
    assert stages["validate"]["ATTEMPT"] == stages["process_id"]["ATTEMPT"] == 2
    assert stages["validate"]["PRCS_START_TS"] >= failed_at and stages["process_id"]["PRCS_START_TS"] >= failed_at
    assert scalar("SELECT COUNT(*) FROM RAW.BCFINSG_PLAN_BALN_SEGM") == raw_rows
    fact = query(f"SELECT COUNT(*) AS N, COUNT(DISTINCT plan_baln_segm_sk) AS K FROM {fact_table()}")[0]
    assert fact["N"] == fact["K"] > 0
    kinds = sorted(r["NOTIFICATION_TYPE"] for r in query("SELECT * FROM DCF.DCF_T_NOTIFICATIONS"))
    assert kinds == ["LOAD_COMPLETION_REPORT", "LOAD_FAILURE_REPORT"]


def _stage_statistics(stage: str) -> dict:
    return json.loads(scalar("SELECT PRCS_STATISTICS FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = :s "
                             "ORDER BY PRCS_INST_ID DESC LIMIT 1", {"s": stage}))


def test_a_resume_refuses_a_redelivered_landing_file_and_reset_loads_it(prefect_api, tmp_path, monkeypatch):
    private_bcfinsg(tmp_path, monkeypatch, edit=lambda d: d["quality"].update(on_quality_issues="fail"))
    land(DAY1, bad_day=True)
    assert _run(process_date=DAY1).is_failed()  # QUALITY_ISSUES fails the run; the file stays in landing

    land(DAY1)  # the source system re-delivers the day, corrected, under the same name
    resumed = _run(process_date=DAY1)

    assert resumed.is_failed()
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert "differ from those it ingested" in instance["ERROR_MESSAGE"] and "mode=RESET" in instance["ERROR_MESSAGE"]
    assert scalar("SELECT PRCS_STATUS FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = 'ingest'") == "FAILED"
    assert scalar("SELECT COUNT(*) FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = 'dbt_build' "
                  "AND PRCS_STATUS = 'RUNNING'") == 0, "nothing after ingest ran on the old rows"

    reset = _run(process_date=DAY1, mode="RESET")

    assert reset.is_completed(), reset.message
    instances = query("SELECT PRCS_INST_ID, PRCS_STATUS, ERROR_MESSAGE FROM DCF.DCF_T_PRCS_INST ORDER BY 1")
    assert [i["PRCS_STATUS"] for i in instances] == ["CANCELLED", BCFINSG_GOOD_DAY]
    assert "superseded" in instances[0]["ERROR_MESSAGE"]
    ready = scalar("SELECT COUNT(*) FROM main.int_bcfinsg_validated "
                   "WHERE final_processing_status = 'READY_FOR_LOADING'")
    assert scalar(f"SELECT COUNT(*) FROM {fact_table()}") == ready > 1000


def test_a_crash_after_the_files_were_archived_resumes_without_them(prefect_api):
    from dcf.store.connection import open_duckdb
    from dcf.store.dialect import Namespace

    land(DAY1)
    assert _run(process_date=DAY1).is_completed()
    # What a worker killed during the report leaves once reconciled: files archived, the instance CRASHED.
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        conn.execute("UPDATE DCF.DCF_T_PRCS_INST SET PRCS_STATUS = 'CRASHED'")
        conn.execute("UPDATE DCF.DCF_T_PRCS_EXEC_LOG SET PRCS_STATUS = 'FAILED' WHERE PRCS_NAME = 'report'")

    resumed = _run(process_date=DAY1)

    assert resumed.is_completed(), resumed.message
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert instance["PRCS_STATUS"] == BCFINSG_GOOD_DAY
    stages = {r["PRCS_NAME"]: r for r in query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG")}
    assert (stages["ingest"]["ATTEMPT"], stages["report"]["ATTEMPT"]) == (1, 2), "ingest restored, report re-run"
    assert json.loads(stages["validate"]["PRCS_STATISTICS"])["archived_files_of_resumed_instance"]

    reset = _run(process_date=DAY1, mode="RESET")  # starting over needs the files: say where they are

    assert reset.is_failed()
    assert "no landing file for 2024-03-01" in reset.message and "move them back to the landing folder" in \
        reset.message
    statuses = [r["PRCS_STATUS"] for r in query("SELECT PRCS_STATUS FROM DCF.DCF_T_PRCS_INST ORDER BY PRCS_INST_ID")]
    assert statuses[-1] == "FAILED", "the RESET ran and failed on the missing files: its own instance says so"


def test_every_delivery_of_a_date_keeps_its_own_archived_copy(prefect_api, tmp_path, monkeypatch):
    """RESET twice with re-deliveries of one date: three archived copies, each with its retention."""
    from flows.stream_load import stream_load

    private_bcfinsg(tmp_path, monkeypatch)
    for rows, mode in ((300, "NORMAL"), (200, "RESET"), (100, "RESET")):
        land(DAY1, rows=rows)
        state = stream_load(stream=BCFINSG, process_date=DAY1, mode=mode, return_state=True)
        assert state.is_completed(), state.message
    lineage = query("SELECT * FROM DCF.DCF_T_DATA_LINEAGE ORDER BY PRCS_INST_ID")
    assert [r["RECORD_COUNT"] for r in lineage] == [300, 200, 100]
    assert len({r["SOURCE_FILE_NAME"] for r in lineage}) == 1, "the same file name, delivered three times"
    paths = [r["ARCHIVE_PATH"] for r in lineage]
    assert len(set(paths)) == 3 and all(os.path.exists(p) for p in paths), paths
    assert {r["RETENTION_EXPIRY_DATE"] for r in lineage} == {DAY1 + timedelta(days=2555)}
    assert [r["ARCHIVE_STATUS"] for r in lineage] == ["COMPLETED"] * 3


def test_a_kill_outside_dbt_is_closed_by_the_next_run_which_resumes(prefect_api, tmp_path, monkeypatch):
    """SIGKILL of the real flow process in the profile stage (after the build): the next plain run of the date
    finds the dead owner, closes the instance CRASHED and the Prefect run Crashed, and resumes it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterName,
        TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import TaskRunSort

    private_bcfinsg(tmp_path, monkeypatch)
    land(DAY1)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PREFECT_API_URL": prefect_api}
    with (tmp_path / "killed.log").open("w") as log:
        child = subprocess.Popen([sys.executable, "-m", "flows.stream_load", "--stream", BCFINSG, "--process-date",
                                  DAY1.isoformat()], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    try:
        running = None
        deadline = time.monotonic() + 300
        with get_client(sync_client=True) as client:
            while running is None and child.poll() is None and time.monotonic() < deadline:
                runs = client.read_task_runs(
                    task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="profile-"),
                                                  state=TaskRunFilterState(type=TaskRunFilterStateType(
                                                      any_=[StateType.RUNNING]))),
                    sort=TaskRunSort.EXPECTED_START_TIME_DESC)
                running = runs[0] if runs else None
                time.sleep(0.2)
        assert running is not None, (tmp_path / "killed.log").read_text()[-3000:]
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    resumed = _run(process_date=DAY1)

    assert resumed.is_completed(), resumed.message
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert instance["PRCS_STATUS"] == BCFINSG_GOOD_DAY and instance["PRCS_INST_ID"] == 1
    stages = {r["PRCS_NAME"]: r for r in query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG")}
    assert (stages["ingest"]["ATTEMPT"], stages["dbt_build"]["ATTEMPT"], stages["profile"]["ATTEMPT"]) == (1, 1, 2)
    assert scalar("SELECT COUNT(*) FROM RAW.BCFINSG_PLAN_BALN_SEGM") == 1500, "no row loaded twice"
    fact = query(f"SELECT COUNT(*) AS N, COUNT(DISTINCT plan_baln_segm_sk) AS K FROM {fact_table()}")[0]
    assert fact["N"] == fact["K"] > 0
    assert len(query("SELECT * FROM DCF.DCF_T_DATA_LINEAGE")) == 1
    with get_client(sync_client=True) as client:
        [killed] = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[running.flow_run_id])))
    assert killed.state.type == StateType.CRASHED, "the next run set the dead run Crashed in Prefect too"
