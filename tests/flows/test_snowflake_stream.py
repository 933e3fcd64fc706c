"""BCFINSG end to end on the Snowflake path: a ``DcfWarehouse`` block of kind snowflake on a real Prefect server,
and under it fakesnow's in-process Snowflake (its patch of the connector reaches every connection the run opens:
the control store's, dbt-snowflake's threads, Great Expectations' SQLAlchemy engine).

Everything a stream does runs there: validate, the process-ID sequence and the claim, ingest (PUT + COPY INTO),
the dbt build (dbt-snowflake, the quality gate's two invocations), the execution log, the profile, metadata,
lifecycle and the report; the rows it leaves are checked as the DuckDB run's are.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import fakesnow
import pytest

from tests.snowflake_streams import control_store, save_warehouse_block
from tests.streams import BCFINSG, BCFINSG_GOOD_DAY, BCFINSG_GOOD_STAGES, land, private_bcfinsg

pytestmark = pytest.mark.e2e
DAY = date(2024, 3, 1)
ROWS = 400
DATABASE = "GDW1"


#: The connector's schema, where dbt builds too: the control schema (see tests.snowflake_streams).
SCHEMA = "DCF"


def test_bcfinsg_end_to_end_on_the_snowflake_path(prefect_api, tmp_path: Path, monkeypatch):
    from flows.stream_load import stream_load

    def on_snowflake(data: dict) -> None:
        data["warehouse_block"] = "fakesnow-warehouse"
        data["dbt"]["target"] = "snowflake"

    with fakesnow.patch():
        setup = control_store(DATABASE)
        for statement in (f"CREATE DATABASE IF NOT EXISTS {DATABASE}", f"USE DATABASE {DATABASE}",
                          "CREATE SCHEMA IF NOT EXISTS DCF",
                          "CREATE SCHEMA IF NOT EXISTS RAW"):
            setup.execute(statement)
        save_warehouse_block("fakesnow-warehouse", DATABASE, account="fake-account", user="DCF_SVC",
                             password="not-a-secret")
        private_bcfinsg(tmp_path, monkeypatch, edit=on_snowflake)
        landing_file = land(DAY, rows=ROWS)

        state = stream_load(stream=BCFINSG, process_date=DAY, return_state=True)
        assert state.is_completed(), state.message

        with control_store(DATABASE) as conn:
            conn.execute(f"USE DATABASE {DATABASE}")
            _assert_the_runs_rows(conn, landing_file)


def _assert_the_runs_rows(conn, landing_file: Path) -> None:
    [instance] = conn.fetch_dicts("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert (instance["PRCS_STATUS"], instance["ORCHESTRATION_STATUS"]) == (BCFINSG_GOOD_DAY, "READY_FOR_LOADING")
    first = instance["PRCS_INST_ID"]
    [stream] = conn.fetch_dicts("SELECT STRM_NAME, CLAIM_PRCS_INST_ID FROM DCF.DCF_T_STRM")
    assert (stream["STRM_NAME"], stream["CLAIM_PRCS_INST_ID"]) == (BCFINSG, None), "the claim was released"

    stages = conn.fetch_dicts("SELECT PRCS_NAME, PRCS_STATUS, PRCS_END_TS FROM DCF.DCF_T_PRCS_EXEC_LOG "
                              "WHERE PRCS_INST_ID = :id", {"id": first})
    assert {r["PRCS_NAME"]: r["PRCS_STATUS"] for r in stages} == BCFINSG_GOOD_STAGES
    assert all(r["PRCS_END_TS"] is not None for r in stages)

    [lineage] = conn.fetch_dicts("SELECT * FROM DCF.DCF_T_DATA_LINEAGE WHERE PRCS_INST_ID = :id", {"id": first})
    assert (lineage["LIFECYCLE_STAGE"], lineage["ARCHIVE_STATUS"]) == ("ARCHIVED", "COMPLETED")
    assert (lineage["RECORD_COUNT"], lineage["REJECTED_RECORD_COUNT"]) == (ROWS, 0)
    assert lineage["RETENTION_EXPIRY_DATE"] == DAY + timedelta(days=2555)
    assert Path(lineage["ARCHIVE_PATH"]).exists() and not landing_file.exists()
    raw = conn.fetch_dicts("SELECT COUNT(*) AS N, MIN(SRC_ROW_NUM) AS LO, MAX(SRC_ROW_NUM) AS HI "
                           "FROM RAW.BCFINSG_PLAN_BALN_SEGM")[0]
    assert (raw["N"], raw["LO"], raw["HI"]) == (ROWS, 1, ROWS), "COPY INTO loaded every record, numbered"

    jobs = conn.fetch_dicts("SELECT PROCESS_STEP_ID, EXECUTION_STATUS_NAME FROM DCF.PROCESS_EXECUTION_LOG "
                            "WHERE RECORD_TYPE = 'JOB'")
    assert len(jobs) == 2 and {j["EXECUTION_STATUS_NAME"] for j in jobs} == {"SUCCESS"}, jobs
    models = conn.fetch_dicts("SELECT EXECUTION_STATUS_NAME FROM DCF.PROCESS_EXECUTION_LOG WHERE RECORD_TYPE = 'MODEL'")
    assert len(models) == 7 and {m["EXECUTION_STATUS_NAME"] for m in models} == {"SUCCESS"}, "3 models, 4 seeds"
    assert conn.scalar("SELECT COUNT(*) FROM DCF.PROCESS_EXECUTION_LOG WHERE EXECUTION_STATUS_NAME = 'RUNNING'") == 0
    assert conn.scalar("SELECT COUNT(DISTINCT INVOCATION_ID) FROM DCF.DBT_MODEL_EXECUTIONS") == 2

    [note] = conn.fetch_dicts("SELECT NOTIFICATION_TYPE, NOTIFICATION_STATUS, NOTIFICATION_CONTENT "
                              "FROM DCF.DCF_T_NOTIFICATIONS WHERE PRCS_INST_ID = :id", {"id": first})
    assert (note["NOTIFICATION_TYPE"], note["NOTIFICATION_STATUS"]) == ("LOAD_COMPLETION_REPORT", "SENT")
    report = json.loads(note["NOTIFICATION_CONTENT"])
    loaded = report["load_summary"]["records_loaded_successfully"]
    assert report["load_summary"]["total_records_processed"] == ROWS and 0 < loaded <= ROWS
    assert sum(report["quality_metrics"]["rejected_records_by_reason"].values()) == ROWS - loaded
    fact = conn.fetch_dicts("SELECT COUNT(*) AS N, COUNT(DISTINCT plan_baln_segm_sk) AS K "
                            f"FROM {SCHEMA}.FCT_PLAN_BALN_SEGM_MSTR WHERE process_date = :d", {"d": DAY})[0]
    assert fact["N"] == fact["K"] == loaded, "the fact holds the day's loaded records, each key once"

    [profile] = conn.fetch_dicts("SELECT TARGET_TABLE, STATUS, ROW_COUNT FROM DCF.PROFILE_RUNS")
    assert (profile["TARGET_TABLE"].lower(), profile["STATUS"], profile["ROW_COUNT"]) == (
        "fct_plan_baln_segm_mstr", "SUCCEEDED", loaded)
