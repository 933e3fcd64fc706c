"""The parallel run in a stream: a ``compare:`` activity on the embedded DuckDB warehouse, day after day, its
verdict as ``$UserStatus`` for a trigger, in COMPARE_RUNS / COMPARE_COLUMNS, and on the status board."""

from __future__ import annotations

import json
import sys
from datetime import date

import pytest
import yaml

from dcf.compare.history import columns_that_differ, days_in_a_row
from dcf.paths import warehouse_path
from dcf.store.clock import utcnow
from dcf.store.connection import open_duckdb
from dcf.store.dialect import Namespace
from dcf.stream.status_board import board_markdown, board_rows
from tests.streams import query

pytestmark = pytest.mark.e2e
COMPARE = {"legacy": "LEGACY.BAL", "new": "MART.FCT_BAL", "key": ["ID"], "rename": {"BAL_AMT": "AMOUNT"},
           "legacy_filter": "BUSINESS_DATE = #process_date#", "new_filter": "BUSINESS_DATE = #process_date#",
           "max_missing": 1, "max_mismatch_rate": 0.5}
STREAM = {"stream": {"name": "PAR_RUN", "id": 9501},
          "sequence": [{"name": "compare_bal", "compare": COMPARE},
                       {"name": "on_mismatch",
                        "after": {"compare_bal": {"custom": "compare_bal.$UserStatus = 'MISMATCH'"}},
                        "command": [sys.executable, "-c", "print('mismatch')"]}]}


def _day(day: date, rows: list[tuple[int, str]], new_rows: list[tuple[int, str]] | None = None) -> None:
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS LEGACY")
        conn.execute("CREATE SCHEMA IF NOT EXISTS MART")
        conn.execute("CREATE TABLE IF NOT EXISTS LEGACY.BAL (ID INTEGER, BAL_AMT DECIMAL(12, 2), BUSINESS_DATE DATE)")
        conn.execute("CREATE TABLE IF NOT EXISTS MART.FCT_BAL (AMOUNT DECIMAL(12, 2), ID INTEGER, BUSINESS_DATE DATE)")
        for table in ("LEGACY.BAL", "MART.FCT_BAL"):
            conn.execute(f"DELETE FROM {table} WHERE BUSINESS_DATE = :d", {"d": day})
        for i, amount in rows:
            conn.execute("INSERT INTO LEGACY.BAL VALUES (:i, :a, :d)", {"i": i, "a": amount, "d": day})
        for i, amount in new_rows if new_rows is not None else rows:
            conn.execute("INSERT INTO MART.FCT_BAL VALUES (:a, :i, :d)", {"i": i, "a": amount, "d": day})


def _run(day: date, **options):
    from flows.stream_load import stream_load

    return stream_load(stream="PAR_RUN", process_date=day, return_state=True, **options)


def _board() -> str:
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        line = [row for row in board_markdown(board_rows(conn), now=utcnow()).splitlines() if "| PAR_RUN |" in row]
        return line[0]


def test_a_compare_activity_records_each_business_day_and_the_board_counts_the_days_that_matched(
        prefect_api, tmp_path, monkeypatch):
    folder = tmp_path / "streams"
    folder.mkdir()
    (folder / "par_run.yaml").write_text(yaml.safe_dump(STREAM, sort_keys=False))
    monkeypatch.setenv("DCF_STREAMS_DIR", str(folder))
    days = [date(2024, 3, d) for d in (1, 2, 3, 4)]
    good = [(1, "10.00"), (2, "20.00"), (3, "30.00")]

    for day in days[:2]:
        _day(day, good)
        assert _run(day).is_completed()
    assert "| MATCH, 2 days in a row |" in _board()

    _day(days[2], good, [(1, "10.00"), (2, "21.00"), (3, "30.00")])  # one value differs: within the thresholds
    warned = _run(days[2])
    assert warned.name == "CompletedWithWarnings", warned.message
    _day(days[3], good, [(1, "10.00"), (4, "40.00")])  # two rows missing, one extra: beyond max_missing
    failed = _run(days[3])
    assert failed.is_failed()
    assert "| MISMATCH |" in _board()

    statuses = {(r["PRCS_DATE"], r["PRCS_NAME"]): r["PRCS_STATUS"]
                for r in query("SELECT i.PRCS_DATE, l.PRCS_NAME, l.PRCS_STATUS FROM DCF.DCF_T_PRCS_EXEC_LOG l "
                               "JOIN DCF.DCF_T_PRCS_INST i USING (PRCS_INST_ID)")}
    assert statuses[(days[0], "on_mismatch")] == "SKIPPED" and statuses[(days[2], "on_mismatch")] == "COMPLETED"
    assert statuses[(days[2], "compare_bal")] == "COMPLETED_WITH_WARNINGS"
    assert statuses[(days[3], "compare_bal")] == "FAILED"
    runs = {r["PROCESS_DATE"]: r for r in query("SELECT * FROM DCF.COMPARE_RUNS")}
    assert [runs[d]["VERDICT"] for d in days] == ["MATCH", "MATCH", "MISMATCH", "MISMATCH"]
    assert [runs[d]["DECIDED_BY"] for d in days] == ["fingerprint", "fingerprint", "join", "join"]
    assert (runs[days[3]]["ONLY_LEGACY"], runs[days[3]]["ONLY_NEW"]) == (2, 1)
    columns = {c["COLUMN_NAME"]: c for c in query("SELECT * FROM DCF.COMPARE_COLUMNS WHERE COMPARE_ID = :id",
                                                    {"id": runs[days[2]]["COMPARE_ID"]})}
    assert set(columns) == {"BAL_AMT", "BUSINESS_DATE"}  # every common column but the key
    column = columns["BAL_AMT"]
    assert (column["NEW_COLUMN_NAME"], column["VALUE_MISMATCHES"], columns["BUSINESS_DATE"]["VALUE_MISMATCHES"]) == (
        "AMOUNT", 1, 0)
    assert json.loads(column["SAMPLES"]) == [{"kind": "value", "key": "2", "legacy": "20.00", "new": "21.00"}]

    # the day is fixed and run again: the failed instance resumes, the comparison's row is replaced, not added
    _day(days[3], good)
    assert _run(days[3]).is_completed()
    assert len(query("SELECT * FROM DCF.COMPARE_RUNS WHERE PROCESS_DATE = :d", {"d": days[3]})) == 1
    assert "| MATCH, 1 day in a row |" in _board()
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        assert days_in_a_row(conn)["PAR_RUN"]["DAYS_COMPARED"] == 4
        [worst] = columns_that_differ(conn)
    assert (worst["COLUMN_NAME"], worst["MISMATCHES"]) == ("BAL_AMT", 1)
