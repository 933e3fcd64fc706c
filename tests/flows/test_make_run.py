"""`make run` and `python -m flows.stream_load` as a user runs them: subprocesses, quiet output."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from dcf.paths import PROJECT_ROOT
from tests.streams import (
    BCFINSG,
    BCFINSG_GOOD_DAY,
    STAGES,
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
        assert BCFINSG_GOOD_DAY in output and "quality split: high" in output
        assert "Prefect API: " in output and "time: setup " in output and "| total " in output, output[-2000:]
        _assert_quiet(output)

    instances = query("SELECT PRCS_INST_ID, PRCS_DATE, PRCS_STATUS, ORCHESTRATION_STATUS FROM DCF.DCF_T_PRCS_INST "
                      "ORDER BY PRCS_DATE")
    assert [(r["PRCS_DATE"], r["PRCS_STATUS"], r["ORCHESTRATION_STATUS"]) for r in instances] == [
        (DAY1, BCFINSG_GOOD_DAY, "READY_FOR_LOADING"), (DAY2, BCFINSG_GOOD_DAY, "READY_FOR_LOADING")]
    first = instances[0]["PRCS_INST_ID"]
    stages = query("SELECT PRCS_NAME, PRCS_STATUS, PRCS_END_TS IS NOT NULL AS ENDED FROM DCF.DCF_T_PRCS_EXEC_LOG "
                   "WHERE PRCS_INST_ID = :id", {"id": first})
    assert sorted(r["PRCS_NAME"] for r in stages) == sorted(STAGES)
    # the build's warn-severity tests warned on the day's bad records: that stage, and only it, says so
    assert {r["PRCS_NAME"]: r["PRCS_STATUS"] for r in stages if r["PRCS_STATUS"] != "COMPLETED"} == {
        "dbt_build": "COMPLETED_WITH_WARNINGS"}
    assert all(r["ENDED"] for r in stages)
    [validated] = query("SELECT PRCS_START_TS, PRCS_STATISTICS FROM DCF.DCF_T_PRCS_EXEC_LOG "
                        "WHERE PRCS_INST_ID = :id AND PRCS_NAME = 'validate'", {"id": first})
    # validate's row is written after the instance exists, but it starts when validation really started
    assert validated["PRCS_START_TS"] == datetime.fromisoformat(json.loads(validated["PRCS_STATISTICS"])["started_at"])

    lineage = query("SELECT * FROM DCF.DCF_T_DATA_LINEAGE WHERE PRCS_INST_ID = :id", {"id": first})
    assert len(lineage) == 1 and lineage[0]["LIFECYCLE_STAGE"] == "ARCHIVED"
    assert lineage[0]["ARCHIVE_STATUS"] == "COMPLETED" and lineage[0]["RECORD_COUNT"] == 1500
    assert lineage[0]["REJECTED_RECORD_COUNT"] == 0
    assert lineage[0]["RETENTION_EXPIRY_DATE"] == DAY1 + timedelta(days=2555)
    assert os.path.exists(lineage[0]["ARCHIVE_PATH"]) and not os.path.exists(lineage[0]["SOURCE_FILE_PATH"])

    notes = query("SELECT NOTIFICATION_TYPE, NOTIFICATION_STATUS, NOTIFICATION_CONTENT FROM DCF.DCF_T_NOTIFICATIONS "
                  "WHERE PRCS_INST_ID = :id", {"id": first})
    assert [(n["NOTIFICATION_TYPE"], n["NOTIFICATION_STATUS"]) for n in notes] == [("LOAD_COMPLETION_REPORT", "SENT")]
    report = json.loads(notes[0]["NOTIFICATION_CONTENT"])
    assert set(report) >= {"load_summary", "quality_metrics", "performance_metrics"}
    quality = report["quality_metrics"]
    split = ("high_quality_records", "medium_quality_records", "low_quality_records")
    assert sum(quality[k] for k in split) == report["load_summary"]["total_records_processed"] == 1500
    # every record the day did not load is counted once, under its reason
    assert sum(quality["rejected_records_by_reason"].values()) == \
        1500 - report["load_summary"]["records_loaded_successfully"]
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
    assert f"process instance 1: {BCFINSG_GOOD_DAY}" in log.read_text()
    # its last log line reached the temporary server before that stopped (sent before the exit handlers ran)
    with contextlib.closing(sqlite3.connect(dcf_home / "prefect" / "prefect.db")) as prefect_db:
        [(finished,)] = prefect_db.execute(
            "SELECT COUNT(*) FROM log WHERE message LIKE 'Finished in state%' "
            "AND message LIKE '%process instance 1 ' || :status || '%'", {"status": BCFINSG_GOOD_DAY}).fetchall()
    assert finished == 1
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


def _assert_quiet(output: str) -> None:
    """No teardown leak report, no colour codes, no third-party progress bars."""
    assert "nanobind" not in output and "leaked" not in output
    assert "\x1b[" not in output
    assert "Calculating Metrics" not in output


def test_the_stream_cli_is_quiet_and_a_failed_model_is_one_line_without_a_traceback(prefect_api, tmp_path,
                                                                                    monkeypatch):
    project = private_bcfinsg(tmp_path, monkeypatch)
    land(DAY1)
    break_fact_model(project, broken=True)
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


def test_make_run_loads_the_day_when_its_console_reader_goes_away(prefect_api, dcf_home, tmp_path):
    """``make run | head -1``: the reader closes the pipe after one line; the run still loads the day and ends
    0, with no BrokenPipeError traceback (the console is a view of the run, not part of it)."""
    day = date(2024, 5, 1)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PREFECT_API_URL": prefect_api}
    errors = tmp_path / "stderr.log"
    with errors.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "flows.run_local", "--rows", "500", "--process-date",
                                    day.isoformat()], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=stderr, text=True)
        try:
            assert process.stdout.readline().startswith("Prefect API: ")
            process.stdout.close()  # what head does after its line
            assert process.wait(timeout=600) == 0, errors.read_text()[-3000:]
        finally:
            process.kill()
    assert "Traceback" not in errors.read_text() and "BrokenPipeError" not in errors.read_text()
    status = scalar("SELECT PRCS_STATUS FROM DCF.DCF_T_PRCS_INST WHERE PRCS_DATE = :day", {"day": day})
    assert status == BCFINSG_GOOD_DAY
