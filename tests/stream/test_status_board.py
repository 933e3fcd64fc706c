"""The stream status board from real control-table rows: a success, a failure at a stage, a crash, a run still
going and a stream that never ran, on DuckDB and on Snowflake (fakesnow)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from dcf.store.clock import utcnow
from dcf.store.instances import InstanceClaim, allocate_instance, close_instance
from dcf.store.migrate import ensure_schema
from dcf.store.stage_rows import InstanceRef, write_stage
from dcf.store.statuses import InstanceStatus, StageStatus
from dcf.store.streams import StreamRecord, register_streams
from dcf.stream.status_board import board_markdown, board_rows

DAY = date(2024, 3, 1)


def _streams(conn) -> None:
    register_streams(conn, [StreamRecord(i, f"S{i}", None, "ACTIVE", None, "-", "-") for i in (1, 2, 3, 4, 5)])


def _instance(conn, strm_id: int, day: date = DAY) -> InstanceRef:
    allocation = allocate_instance(conn, InstanceClaim(strm_id, f"S{strm_id}", day, f"{strm_id}_b"))
    return InstanceRef(allocation.prcs_inst_id, strm_id, f"S{strm_id}", day, f"{strm_id}_b")


@pytest.mark.parametrize("conn_fixture", ["duckdb_conn", "fakesnow_conn"])
def test_the_board_shows_every_stream_and_what_became_of_its_latest_run(conn_fixture, request):
    conn = request.getfixturevalue(conn_fixture)
    ensure_schema(conn)
    _streams(conn)
    ok = _instance(conn, 1)
    close_instance(conn, ok.prcs_inst_id, InstanceStatus.SUCCEEDED)
    broken = _instance(conn, 2)
    write_stage(conn, broken, "ingest", StageStatus.COMPLETED, task_run_id="t1")
    write_stage(conn, broken, "dbt_build", StageStatus.RUNNING, task_run_id="t2")
    write_stage(conn, broken, "dbt_build", StageStatus.FAILED, task_run_id="t2", error="model fct | failed")
    close_instance(conn, broken.prcs_inst_id, InstanceStatus.FAILED, "StageFailed: dbt build failed: fct")
    crashed = _instance(conn, 3)
    close_instance(conn, crashed.prcs_inst_id, InstanceStatus.CRASHED, "closed by reconcile: pid 42 is gone")
    _instance(conn, 4)  # still running

    rows = {row["STRM_NAME"]: row for row in board_rows(conn)}
    assert [(n, r["PRCS_STATUS"], r["FAILED_STAGE"]) for n, r in sorted(rows.items())] == [
        ("S1", "SUCCEEDED", None), ("S2", "FAILED", "dbt_build"), ("S3", "CRASHED", None),
        ("S4", "RUNNING", None), ("S5", None, None)]
    assert rows["S1"]["LAST_GOOD_DATE"] == DAY and rows["S2"]["LAST_GOOD_DATE"] is None

    now = utcnow()
    text = board_markdown(list(rows.values()), now=now,
                          next_runs={"S1": now + timedelta(hours=2), "S2": now - timedelta(hours=1),
                                     "S3": "schedule inactive"})
    lines = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| S")}
    assert "| SUCCEEDED |" in lines["S1"] and "(late)" not in lines["S1"]
    assert "| FAILED | dbt_build |" in lines["S2"] and "(late)" in lines["S2"]
    assert lines["S2"].endswith("| StageFailed: dbt build failed: fct |"), "the reason, last"
    assert "| CRASHED |" in lines["S3"] and "pid 42 is gone" in lines["S3"]
    assert "| schedule inactive |" in lines["S3"], "a deployed stream without a next run says why"
    assert "running for" in lines["S4"] and "| never run |" in lines["S5"]
    assert all(line.count(" | ") == 9 for line in lines.values()), "one cell per column, whatever the message"


def test_durations_read_as_people_say_them():
    row = {"STRM_NAME": "S", "STRM_STATUS": "ACTIVE", "PRCS_INST_ID": 1, "PRCS_DATE": DAY,
           "PRCS_STATUS": "SUCCEEDED", "PRCS_START_TS": datetime(2024, 3, 1, 6, 0),
           "PRCS_END_TS": datetime(2024, 3, 1, 7, 5), "ERROR_MESSAGE": None, "FAILED_STAGE": None,
           "LAST_GOOD_DATE": DAY}
    assert "| 1h05m |" in board_markdown([row], now=datetime(2024, 3, 1, 8))
