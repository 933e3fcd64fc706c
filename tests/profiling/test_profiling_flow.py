"""flows/profile_tables.py end to end: a real Prefect server, the local DuckDB warehouse, real GE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dcf.errors import RefusedError
from dcf.paths import PROJECT_ROOT, warehouse_path
from dcf.store.connection import open_duckdb
from dcf.store.dialect import Namespace
from dcf.store.migrate import ensure_schema
from flows.profile_tables import ProfilingFailed, main, profile_tables
from tasks.table_profiles import artifact_key

pytestmark = pytest.mark.e2e

TABLES_SQL = """
CREATE TABLE main.orders AS
SELECT i AS order_id, ['NEW', 'PAID', 'SHIPPED'][1 + (i % 3)::INTEGER] AS status, (i % 500) * 1.5 AS amount
FROM range(5000) AS r(i);
CREATE TABLE main.customers AS
SELECT i AS customer_id, CASE WHEN i % 4 = 0 THEN NULL ELSE 'region_' || (i % 6) END AS region
FROM range(3000) AS r(i);
"""


@pytest.fixture
def warehouse(dcf_home: Path) -> Path:
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        ensure_schema(conn)
        conn.execute(TABLES_SQL)
    return warehouse_path()


def runs() -> list[dict]:
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        return conn.fetch_dicts("SELECT * FROM DCF.PROFILE_RUNS ORDER BY TARGET_TABLE")


def artifact_rows(flow_run_id) -> list[dict]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    data = artifact.data
    return artifact.key, json.loads(data) if isinstance(data, str) else data


def test_tables_are_profiled_in_parallel_one_run_each(prefect_api, warehouse):
    state = profile_tables(tables=["main.orders", "customers"], sample_rate=0.5, seed=1, max_concurrency=2,
                           note="e2e", return_state=True)

    outcomes = state.result()
    assert [o["status"] for o in outcomes] == ["SUCCEEDED", "SUCCEEDED"]
    rows = runs()
    assert [r["TARGET_TABLE"] for r in rows] == ["customers", "orders"]
    flow_run_id = str(state.state_details.flow_run_id)
    for row in rows:
        assert row["STATUS"] == "SUCCEEDED" and row["FINISHED_AT"] is not None
        assert (row["SAMPLE_RATE"], row["SAMPLE_SEED"], row["NOTE"]) == (0.5, 1, "e2e")
        assert (row["JOB_NAME"], row["REQUEST_ID"]) == ("profile-tables", flow_run_id)
        assert row["TRIGGERED_BY"].startswith("user:")
    key, table = artifact_rows(state.state_details.flow_run_id)
    assert key == "profile-tables"
    assert {(line["table"].split(".")[-1], line["column"]) for line in table} == {
        ("orders", "order_id"), ("orders", "status"), ("orders", "amount"),
        ("customers", "customer_id"), ("customers", "region"),
    }
    status = next(line for line in table if line["column"] == "status")
    assert status["distinct"] == 3 and status["top_value"] in ("NEW", "PAID", "SHIPPED")


def test_a_stream_profiling_section_names_the_tables(prefect_api, warehouse, tmp_path, monkeypatch):
    stream = yaml.safe_load((PROJECT_ROOT / "configs/streams/bcfinsg_plan_baln_segm_load.yaml").read_text())
    stream["profiling"] = {"tables": ["orders"], "approximate": True, "max_concurrency": 1}
    (tmp_path / "streams").mkdir()
    (tmp_path / "streams" / "s.yaml").write_text(yaml.safe_dump(stream))
    monkeypatch.setenv("DCF_STREAMS_DIR", str(tmp_path / "streams"))

    state = profile_tables(stream="BCFINSG_PLAN_BALN_SEGM_LOAD", return_state=True)

    (outcome,) = state.result()
    assert outcome["table"].endswith(".main.orders") and outcome["row_count"] == 5000
    assert "distinct" in outcome["columns"][0]
    assert artifact_rows(state.state_details.flow_run_id)[0] == artifact_key("BCFINSG_PLAN_BALN_SEGM_LOAD")
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:  # approximate, from the stream's section
        assert conn.scalar("SELECT COUNT(*) FROM DCF.PROFILE_RESULTS WHERE METRIC_NAME = 'approx_distinct_count'")


def test_an_unknown_table_refuses_the_whole_run_before_any_row(prefect_api, warehouse):
    with pytest.raises(RefusedError, match=r"unknown table 'main\.nope'"):
        profile_tables(tables=["main.orders", "main.nope"])
    assert runs() == []


def test_a_failing_table_is_recorded_and_the_others_still_run(prefect_api, warehouse):
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        conn.execute("CREATE VIEW main.broken AS SELECT CAST('x' AS INTEGER) AS value")

    with pytest.raises(ProfilingFailed, match=r"profiling failed for 1 of 2 table\(s\): .*broken: .*'x'"):
        profile_tables(tables=["main.orders", "main.broken"])

    assert {(r["TARGET_TABLE"], r["STATUS"]) for r in runs()} == {("orders", "SUCCEEDED"), ("broken", "FAILED")}
    assert all(r["FINISHED_AT"] is not None for r in runs())


def test_cli_profiles_one_column_without_writing(warehouse, capsys):
    assert main(["--table", "main.orders", "--column", "STATUS"]) == 0

    printed = json.loads(capsys.readouterr().out)
    assert printed["name"] == "status" and printed["metrics"]["distinct_count"] == 3
    assert runs() == []


def test_cli_refuses_a_bad_sample_rate(prefect_api, warehouse, capsys):
    assert main(["--table", "main.orders", "--sample-rate", "1.5"]) == 2
    assert "sample_rate must be > 0 and <= 1 (got 1.5)" in capsys.readouterr().err
    assert runs() == []
