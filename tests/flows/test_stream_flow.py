"""The stream flow end to end on the embedded default: real DuckDB file, real dbt, real Prefect server."""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from dcf.paths import PROJECT_ROOT, warehouse_path
from tests.streams import BCFINSG, STAGES, fact_table, land, private_bcfinsg, query, scalar

pytestmark = pytest.mark.e2e
DAY1, DAY2 = date(2024, 3, 1), date(2024, 3, 2)


def _run(**params):
    from flows.stream_load import stream_load

    return stream_load(stream=params.pop("stream", BCFINSG), return_state=True, **params)


def test_make_run_twice_loads_two_days(prefect_api, dcf_home, tmp_path):
    """What `make run` does, as a user runs it: two days, each fully recorded in DCF. The first runs without a
    Prefect server: Prefect starts an ephemeral one for the run, which must stop with the run."""
    for expected_day in (DAY1, DAY2):
        if expected_day == DAY1:
            output = _make_run_without_a_server(dcf_home, tmp_path)
        else:
            env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PREFECT_API_URL": prefect_api}
            result = subprocess.run([sys.executable, "-m", "flows.run_local", "--rows", "1500"], cwd=PROJECT_ROOT,
                                    env=env, capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, result.stdout + result.stderr
            output = result.stdout + result.stderr
        assert f"running stream {BCFINSG} for {expected_day}" in output
        assert "SUCCEEDED" in output and "quality split: high" in output
        _assert_quiet(output)

    instances = query("SELECT PRCS_INST_ID, PRCS_DATE, PRCS_STATUS, ORCHESTRATION_STATUS FROM DCF.DCF_T_PRCS_INST "
                      "ORDER BY PRCS_DATE")
    assert [(r["PRCS_DATE"], r["PRCS_STATUS"], r["ORCHESTRATION_STATUS"]) for r in instances] == [
        (DAY1, "SUCCEEDED", "READY_FOR_LOADING"), (DAY2, "SUCCEEDED", "READY_FOR_LOADING")]
    first = instances[0]["PRCS_INST_ID"]
    stages = query("SELECT PRCS_NAME, PRCS_STATUS, PRCS_END_TS IS NOT NULL AS ENDED FROM DCF.DCF_T_PRCS_EXEC_LOG "
                   "WHERE PRCS_INST_ID = :id", {"id": first})
    assert sorted(r["PRCS_NAME"] for r in stages) == sorted(STAGES)
    assert all(r["PRCS_STATUS"] == "COMPLETED" and r["ENDED"] for r in stages)
    [validated] = query("SELECT PRCS_START_TS, PRCS_STATISTICS FROM DCF.DCF_T_PRCS_EXEC_LOG "
                        "WHERE PRCS_INST_ID = :id AND PRCS_NAME = 'validate'", {"id": first})
    # validate's row is written after the instance exists, but it starts when validation really started
    assert validated["PRCS_START_TS"] == datetime.fromisoformat(json.loads(validated["PRCS_STATISTICS"])["started_at"])

    lineage = query("SELECT * FROM DCF.DCF_T_DATA_LINEAGE WHERE PRCS_INST_ID = :id", {"id": first})
    assert len(lineage) == 1 and lineage[0]["LIFECYCLE_STAGE"] == "ARCHIVED"
    assert lineage[0]["ARCHIVE_STATUS"] == "COMPLETED" and lineage[0]["RECORD_COUNT"] == 1500
    assert lineage[0]["RETENTION_EXPIRY_DATE"] == DAY1 + timedelta(days=2555)
    assert os.path.exists(lineage[0]["ARCHIVE_PATH"]) and not os.path.exists(lineage[0]["SOURCE_FILE_PATH"])

    notes = query("SELECT NOTIFICATION_TYPE, NOTIFICATION_STATUS, NOTIFICATION_CONTENT FROM DCF.DCF_T_NOTIFICATIONS "
                  "WHERE PRCS_INST_ID = :id", {"id": first})
    assert [(n["NOTIFICATION_TYPE"], n["NOTIFICATION_STATUS"]) for n in notes] == [("LOAD_COMPLETION_REPORT", "SENT")]
    report = json.loads(notes[0]["NOTIFICATION_CONTENT"])
    assert set(report) >= {"load_summary", "quality_metrics", "performance_metrics"}
    quality = report["quality_metrics"]
    assert sum(quality.values()) == report["load_summary"]["total_records_processed"] == 1500
    assert report["performance_metrics"]["throughput_records_per_minute"] > 0

    # Two dbt invocations per run (upstream of the target, then the target once the quality gate passed).
    gate = json.loads(scalar("SELECT PRCS_STATISTICS FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_INST_ID = :id "
                             "AND PRCS_NAME = 'dbt_build'", {"id": first}))
    assert (gate["quality_gate"]["orchestration_status"], gate["quality_gate"]["load"]) == (
        "READY_FOR_LOADING", "EXECUTED")
    jobs = {j["PROCESS_STEP_ID"]: j["EXECUTION_STATUS_NAME"] for j in query(
        "SELECT PROCESS_STEP_ID, EXECUTION_STATUS_NAME FROM DCF.PROCESS_EXECUTION_LOG WHERE RECORD_TYPE = 'JOB'")}
    assert len(jobs) == 4 and set(jobs.values()) == {"SUCCESS"}
    assert {f"JOB_{i}" for i in gate["invocation_ids"]} <= set(jobs) and len(gate["invocation_ids"]) == 2

    profiles = query("SELECT TARGET_TABLE, STATUS, ROW_COUNT FROM DCF.PROFILE_RUNS ORDER BY STARTED_AT")
    assert [(p["TARGET_TABLE"].lower(), p["STATUS"]) for p in profiles] == [
        ("fct_plan_baln_segm_mstr", "SUCCEEDED")] * 2

    per_day = {r["PROCESS_DATE"]: r["N"] for r in query(
        f"SELECT process_date AS PROCESS_DATE, COUNT(*) AS N FROM {fact_table()} GROUP BY 1")}
    assert set(per_day) == {DAY1, DAY2} and all(n > 1000 for n in per_day.values())
    assert per_day[DAY1] == report["load_summary"]["records_loaded_successfully"]


def _make_run_without_a_server(dcf_home: Path, tmp_path: Path) -> str:
    """``make run`` without PREFECT_API_URL, in its own process group: nothing it started may outlive it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PYTHONPATH=str(PROJECT_ROOT), DCF_HOME=str(dcf_home))
    log = tmp_path / "run.log"
    with log.open("w") as out:
        # its own process group: whatever it starts and leaves running is found (and cleaned up) below
        process = subprocess.Popen([sys.executable, "-m", "flows.run_local", "--rows", "1500"], cwd=PROJECT_ROOT,
                                   env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            assert process.wait(timeout=600) == 0, log.read_text()
            time.sleep(2)  # a child that outlives the run would still be there now
            assert _live_processes_in_group(process.pid) == []
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    assert "process instance 1: SUCCEEDED" in log.read_text()
    return log.read_text()


def _live_processes_in_group(pgid: int) -> list[str]:
    """Command lines of the running (not zombie) processes of a process group, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append((stat.parent / "cmdline").read_text().replace("\0", " "))
    return found


def _break_fact_model(project, broken: bool) -> None:
    model = project / "models" / "marts" / "core" / "fct_plan_baln_segm_mstr.sql"
    original = project / "fct.sql.orig"
    if broken:
        sql = model.read_text()
        original.write_text(sql)
        assert "from {{ ref(" in sql, "the break needs the model's FROM clause"
        model.write_text(sql.replace("from {{ ref(", "from no_such_relation_x, {{ ref(", 1))
    else:
        model.write_text(original.read_text())


def _assert_quiet(output: str) -> None:
    """No teardown leak report, no colour codes, no third-party progress bars."""
    assert "nanobind" not in output and "leaked" not in output
    assert "\x1b[" not in output
    assert "Calculating Metrics" not in output


def test_the_stream_cli_is_quiet_and_a_failed_model_is_one_line_without_a_traceback(prefect_api, tmp_path,
                                                                                    monkeypatch):
    project = private_bcfinsg(tmp_path, monkeypatch)
    land(DAY1)
    _break_fact_model(project, broken=True)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PREFECT_API_URL": prefect_api}
    result = subprocess.run([sys.executable, "-m", "flows.stream_load", "--stream", BCFINSG,
                             "--process-date", DAY1.isoformat()], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    _assert_quiet(output)
    assert "Traceback" not in output, "DCF's own errors are one line (DCF_DEBUG=1 shows tracebacks)"
    assert "dbt build failed" in output and "fct_plan_baln_segm_mstr" in output and "full log: " in output
    assert result.stdout.strip().splitlines()[-1].startswith("Failed: ")


def test_failure_is_recorded_and_a_rerun_resumes_the_same_instance(prefect_api, tmp_path, monkeypatch):
    project = private_bcfinsg(tmp_path, monkeypatch)
    land(DAY1)
    _break_fact_model(project, broken=True)

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

    _break_fact_model(project, broken=False)
    resumed = _run(process_date=DAY1)

    assert resumed.is_completed(), resumed.message
    [again] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert (again["PRCS_INST_ID"], again["PRCS_STATUS"]) == (instance["PRCS_INST_ID"], "SUCCEEDED")
    stages = {r["PRCS_NAME"]: r for r in query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG")}
    assert sorted(stages) == sorted(STAGES) and all(r["PRCS_STATUS"] == "COMPLETED" for r in stages.values())
    assert stages["ingest"]["ATTEMPT"] == 1, "ingest was restored from its checkpoint, not re-run"
    assert stages["dbt_build"]["ATTEMPT"] == 2
    assert scalar("SELECT COUNT(*) FROM RAW.BCFINSG_PLAN_BALN_SEGM") == raw_rows
    fact = query(f"SELECT COUNT(*) AS N, COUNT(DISTINCT plan_baln_segm_sk) AS K FROM {fact_table()}")[0]
    assert fact["N"] == fact["K"] > 0
    kinds = sorted(r["NOTIFICATION_TYPE"] for r in query("SELECT * FROM DCF.DCF_T_NOTIFICATIONS"))
    assert kinds == ["LOAD_COMPLETION_REPORT", "LOAD_FAILURE_REPORT"]


def _stage_statistics(stage: str) -> dict:
    return json.loads(scalar("SELECT PRCS_STATISTICS FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = :s "
                             "ORDER BY PRCS_INST_ID DESC LIMIT 1", {"s": stage}))


def test_bad_day_skips_the_load_completes_with_warnings_and_says_so(prefect_api):
    """The stream's default (the BCFINSG sequence): below the threshold the fact is not loaded at all."""
    land(DAY1, bad_day=True)

    state = _run(process_date=DAY1)

    assert state.is_completed() and state.name == "CompletedWithWarnings"
    assert "QUALITY_ISSUES" in state.message and "fct_plan_baln_segm_mstr was not loaded" in state.message
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert (instance["PRCS_STATUS"], instance["ORCHESTRATION_STATUS"]) == ("COMPLETED_WITH_WARNINGS", "QUALITY_ISSUES")
    report = json.loads(scalar("SELECT NOTIFICATION_CONTENT FROM DCF.DCF_T_NOTIFICATIONS"))
    assert report["orchestration_status"] == "QUALITY_ISSUES"
    assert report["load_summary"]["average_data_quality_score"] < 70
    assert report["load_summary"]["load_execution_status"] == "SKIPPED"
    assert report["load_summary"]["records_loaded_successfully"] == 0
    assert report["quality_metrics"]["low_quality_records"] > report["quality_metrics"]["high_quality_records"]
    gate = _stage_statistics("dbt_build")
    assert gate["quality_gate"]["load"] == "SKIPPED" and len(gate["invocation_ids"]) == 1
    assert scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'fct_plan_baln_segm_mstr'") == 0
    assert scalar("SELECT COUNT(*) FROM main.int_bcfinsg_validated") == 1500, "upstream of the target was built"
    assert _stage_statistics("profile")["skipped"] == "the quality gate skipped the load"


def test_bad_day_loads_the_ready_records_when_the_stream_says_so(prefect_api, tmp_path, monkeypatch):
    private_bcfinsg(tmp_path, monkeypatch,
                    edit=lambda d: d["quality"].update(on_quality_issues="load_with_warning"))
    land(DAY1, bad_day=True)

    state = _run(process_date=DAY1)

    assert state.is_completed() and state.name == "CompletedWithWarnings"
    report = json.loads(scalar("SELECT NOTIFICATION_CONTENT FROM DCF.DCF_T_NOTIFICATIONS"))
    assert report["orchestration_status"] == "QUALITY_ISSUES"
    assert report["load_summary"]["load_execution_status"] == "EXECUTED"
    ready = scalar("SELECT COUNT(*) FROM main.int_bcfinsg_validated "
                   "WHERE final_processing_status = 'READY_FOR_LOADING'")
    assert report["load_summary"]["records_loaded_successfully"] == ready == scalar(
        f"SELECT COUNT(*) FROM {fact_table()}") > 0
    assert _stage_statistics("dbt_build")["quality_gate"] is None, "one build, assessed after it"


def test_bad_day_fails_the_run_when_the_stream_says_so(prefect_api, tmp_path, monkeypatch):
    private_bcfinsg(tmp_path, monkeypatch, edit=lambda d: d["quality"].update(on_quality_issues="fail"))
    land(DAY1, bad_day=True)

    state = _run(process_date=DAY1)

    assert state.is_failed()
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert instance["PRCS_STATUS"] == "FAILED" and "QUALITY_ISSUES" in instance["ERROR_MESSAGE"]
    metadata = query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = 'metadata'")[0]
    assert metadata["PRCS_STATUS"] == "FAILED"
    assert json.loads(metadata["PRCS_STATISTICS"])["orchestration_status"] == "QUALITY_ISSUES"
    report = json.loads(scalar("SELECT NOTIFICATION_CONTENT FROM DCF.DCF_T_NOTIFICATIONS"))
    assert report["status"] == "FAILED" and report["orchestration_status"] == "QUALITY_ISSUES"
    assert report["load_summary"]["load_execution_status"] == "SKIPPED"


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
    assert [i["PRCS_STATUS"] for i in instances] == ["CANCELLED", "SUCCEEDED"]
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
    assert instance["PRCS_STATUS"] == "SUCCEEDED"
    stages = {r["PRCS_NAME"]: r for r in query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG")}
    assert (stages["ingest"]["ATTEMPT"], stages["report"]["ATTEMPT"]) == (1, 2), "ingest restored, report re-run"
    assert json.loads(stages["validate"]["PRCS_STATISTICS"])["archived_files_of_resumed_instance"]

    reset = _run(process_date=DAY1, mode="RESET")  # starting over needs the files: say where they are

    assert reset.is_failed()
    assert "no landing file for 2024-03-01" in reset.message and "move them back to the landing folder" in \
        reset.message
    assert scalar("SELECT COUNT(*) FROM DCF.DCF_T_PRCS_INST") == 1


def test_a_quality_model_that_is_not_upstream_of_the_target_is_a_clear_error(prefect_api, tmp_path, monkeypatch):
    private_bcfinsg(tmp_path, monkeypatch, edit=lambda d: d["quality"].update(model="fct_plan_baln_segm_mstr"))
    land(DAY1)

    state = _run(process_date=DAY1)

    assert state.is_failed()
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert "quality.model fct_plan_baln_segm_mstr is not built before target.model" in instance["ERROR_MESSAGE"]
    stage = query("SELECT PRCS_STATUS, ERROR_MESSAGE FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = 'dbt_build'")[0]
    assert stage["PRCS_STATUS"] == "FAILED" and "load_with_warning" in stage["ERROR_MESSAGE"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"stream": "NO_SUCH_STREAM", "process_date": DAY1}, "unknown stream 'NO_SUCH_STREAM'"),
        ({"process_date": "2024-13-45"}, "process_date: Input should be a valid date"),
        ({"process_date": DAY2}, "no landing file for 2024-03-02"),
        ({"stream": str(PROJECT_ROOT / "configs" / "streams" / "bcfinsg_plan_baln_segm_load.yaml"),
          "process_date": DAY1}, "never by a path"),
    ],
    ids=["unknown-stream", "malformed-date", "missing-landing-file", "stream-as-a-path"],
)
def test_bad_input_is_refused_before_any_row(prefect_api, params, message):
    land(DAY1)
    if params.get("process_date") == DAY2:  # the control tables exist; only the day's file is missing
        _run(process_date=DAY1)
        before = scalar("SELECT COUNT(*) FROM DCF.DCF_T_PRCS_INST")
    state = _run(**params)
    assert state.is_failed()
    assert message in state.message
    if params.get("process_date") == DAY2:
        assert scalar("SELECT COUNT(*) FROM DCF.DCF_T_PRCS_INST") == before
    else:
        assert not warehouse_path().exists() or scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'DCF_T_PRCS_INST'") == 0


def test_second_concurrent_run_is_refused_and_writes_nothing(prefect_api, tmp_path, monkeypatch):
    project = private_bcfinsg(tmp_path, monkeypatch)
    # A model that holds the build for a few seconds, so the two runs really overlap.
    (project / "models" / "marts" / "slow_hold.py").write_text(
        "import time\n\ndef model(dbt, session):\n    dbt.config(materialized='table', tags=['stream_bcfinsg'])\n"
        "    time.sleep(12)\n    return session.sql('select 1 as held')\n")
    land(DAY1)
    states = {}

    def first():
        states["first"] = _run(process_date=DAY1)

    thread = threading.Thread(target=contextvars.copy_context().run, args=(first,))
    thread.start()

    deadline = time.monotonic() + 120
    while not warehouse_path().exists() or not _instances_exist():
        assert time.monotonic() < deadline, "the first run never allocated its instance"
        time.sleep(0.5)
    second = _run(process_date=DAY1)
    thread.join(timeout=600)

    assert second.is_failed() and "already running" in second.message
    assert states["first"].is_completed()
    assert scalar("SELECT COUNT(*) FROM DCF.DCF_T_PRCS_INST") == 1


def _instances_exist() -> bool:
    from dcf.errors import WarehouseBusyError

    try:
        return bool(scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'DCF_T_PRCS_INST'")) \
            and bool(scalar("SELECT COUNT(*) FROM DCF.DCF_T_PRCS_INST"))
    except WarehouseBusyError:
        return False


def test_another_stream_on_another_dbt_project_runs_through_the_same_flow(prefect_api, tmp_path, monkeypatch):
    import shutil

    from dcf.store.connection import open_duckdb
    from dcf.store.dialect import Namespace

    streams = tmp_path / "streams"
    streams.mkdir()
    shutil.copy(PROJECT_ROOT / "tests" / "fixtures" / "ledger_stream.yaml", streams / "ledger.yaml")
    monkeypatch.setenv("DCF_STREAMS_DIR", str(streams))
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        conn.execute("CREATE SCHEMA LEDGER_RAW")
        conn.execute("CREATE TABLE LEDGER_RAW.ENTRIES (ENTRY_ID INTEGER, AMOUNT VARCHAR, PRCS_DATE DATE)")
        conn.execute("INSERT INTO LEDGER_RAW.ENTRIES VALUES (1, '10.5', DATE '2024-03-01'), "
                     "(2, '-3', DATE '2024-03-01'), (3, '7', DATE '2024-03-01'), (4, '1', DATE '2024-03-02')")

    state = _run(stream="GENERAL_LEDGER_LOAD", process_date=DAY1)

    assert state.is_completed(), state.message
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert (instance["STRM_ID"], instance["PRCS_STATUS"]) == (2001, "SUCCEEDED")
    stages = sorted(r["PRCS_NAME"] for r in query("SELECT PRCS_NAME FROM DCF.DCF_T_PRCS_EXEC_LOG"))
    assert stages == sorted(set(STAGES) - {"profile"}), "no profiling tables listed: no profile stage"
    stats = json.loads(scalar("SELECT PRCS_STATISTICS FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = 'metadata'"))
    assert (stats["records_processed"], stats["records_loaded"]) == (3, 2)
    assert scalar("SELECT COUNT(*) FROM ledger.ledger_fact") == 2
    generic = [PROJECT_ROOT / "flows" / "stream_load.py", *(PROJECT_ROOT / "tasks").glob("*.py")]
    assert not [p.name for p in generic if "BCFINSG" in p.read_text().upper()], "the flow and tasks stay generic"


def test_parallel_allocations_never_collide(dcf_home):
    """20 allocations at once: 20 distinct ids; for one stream only one instance may be RUNNING."""
    from dcf.errors import RefusedError
    from dcf.store.clock import utcnow
    from dcf.store.connection import open_duckdb
    from dcf.store.dialect import Namespace
    from dcf.store.instances import InstanceClaim, allocate_instance
    from dcf.store.migrate import ensure_schema
    from dcf.store.schema import DCF_T_STRM

    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        ensure_schema(conn)
        now = utcnow()
        conn.merge(DCF_T_STRM, [
            {"STRM_ID": strm_id, "STRM_NAME": f"S{strm_id}", "STRM_DESC": None, "STRM_STATUS": "ACTIVE",
             "DATASTAGE_SEQUENCE": None, "CONFIG_PATH": "-", "CONFIG_HASH": "-", "CREATED_TS": now, "UPDATED_TS": now}
            for strm_id in [*range(100, 120), 999]
        ])
    results: list = []

    def allocate(strm_id: int) -> None:
        with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
            try:
                results.append(allocate_instance(conn, InstanceClaim(strm_id=strm_id, strm_name=f"S{strm_id}",
                                                                     process_date=DAY1, batch_id="b")).prcs_inst_id)
            except RefusedError as refused:
                results.append(refused)

    threads = [threading.Thread(target=allocate, args=(100 + i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20 and len(set(results)) == 20 and all(isinstance(r, int) for r in results)

    results.clear()
    threads = [threading.Thread(target=allocate, args=(999,)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [r for r in results if isinstance(r, int)]
    assert len(ids) == 1 and len(results) == 20, results
    assert all("already has process instance" in str(r) for r in results if not isinstance(r, int))


def test_report_is_delivered_through_notification_blocks_and_published_as_artifacts(prefect_api, tmp_path,
                                                                                      monkeypatch):
    """A real Prefect webhook block posting to a loopback server; a missing block is FAILED with the reason."""
    import http.server
    import uuid

    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    received: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    good, missing = f"ops-webhook-{uuid.uuid4().hex[:6]}", f"custom-webhook/no-such-block-{uuid.uuid4().hex[:6]}"
    CustomWebhookNotificationBlock(name="ops", url=f"http://127.0.0.1:{server.server_port}/hook",
                                   json_data={"subject": "{{subject}}", "text": "{{body}}"}).save(good)
    good = f"custom-webhook/{good}"
    try:
        private_bcfinsg(tmp_path, monkeypatch, edit=lambda d: d["report"].update(notification_blocks=[good]))
        land(DAY1)
        assert _run(process_date=DAY1).is_completed()
        [sent] = query("SELECT * FROM DCF.DCF_T_NOTIFICATIONS")
        assert (sent["NOTIFICATION_STATUS"], sent["DELIVERY_ERROR"]) == ("SENT", None)
        assert json.loads(sent["DELIVERY_CHANNELS"]) == [good]
        [body] = received
        message = json.loads(body)
        assert "SUCCEEDED" in message["subject"] and "records loaded" in message["text"]

        private_bcfinsg(tmp_path / "second", monkeypatch,
                        edit=lambda d: d["report"].update(notification_blocks=[missing, good]))
        land(DAY2)
        assert _run(process_date=DAY2).is_completed(), "a delivery failure does not fail the load"
        failed = query("SELECT * FROM DCF.DCF_T_NOTIFICATIONS WHERE PRCS_DATE = :d", {"d": DAY2})[0]
        assert failed["NOTIFICATION_STATUS"] == "FAILED" and missing in failed["DELIVERY_ERROR"]
        assert len(received) == 2, "the working channel still got the report"
    finally:
        server.shutdown()

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[
            "stream-bcfinsg-plan-baln-segm-load-load-report", "stream-bcfinsg-plan-baln-segm-load-stages"])))
    assert {a.type for a in artifacts} == {"markdown", "table"}
    assert any("records loaded" in str(a.data) for a in artifacts if a.type == "markdown")
    # the report tells the final truth, its own line included (it is written from inside the report stage)
    table = max((a for a in artifacts if a.type == "table"), key=lambda a: a.created)  # the latest run's
    stages = {row["stage"]: row["status"] for row in json.loads(table.data)}
    assert stages == dict.fromkeys(STAGES, "COMPLETED"), stages
    content = json.loads(query("SELECT NOTIFICATION_CONTENT FROM DCF.DCF_T_NOTIFICATIONS WHERE PRCS_DATE = :d",
                               {"d": DAY2})[0]["NOTIFICATION_CONTENT"])
    assert {s["stage"]: s["status"] for s in content["stages"]}["report"] == "COMPLETED"


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
    assert instance["PRCS_STATUS"] == "SUCCEEDED" and instance["PRCS_INST_ID"] == 1
    stages = {r["PRCS_NAME"]: r for r in query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG")}
    assert (stages["ingest"]["ATTEMPT"], stages["dbt_build"]["ATTEMPT"], stages["profile"]["ATTEMPT"]) == (1, 1, 2)
    assert scalar("SELECT COUNT(*) FROM RAW.BCFINSG_PLAN_BALN_SEGM") == 1500, "no row loaded twice"
    fact = query(f"SELECT COUNT(*) AS N, COUNT(DISTINCT plan_baln_segm_sk) AS K FROM {fact_table()}")[0]
    assert fact["N"] == fact["K"] > 0
    assert len(query("SELECT * FROM DCF.DCF_T_DATA_LINEAGE")) == 1
    with get_client(sync_client=True) as client:
        [killed] = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[running.flow_run_id])))
    assert killed.state.type == StateType.CRASHED, "the next run set the dead run Crashed in Prefect too"
