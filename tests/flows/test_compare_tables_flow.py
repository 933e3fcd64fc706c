"""The ad-hoc compare-tables flow: from the command line, recorded without a stream, failing beyond thresholds."""

from __future__ import annotations

import pytest

from dcf.paths import warehouse_path
from dcf.store.connection import open_duckdb
from dcf.store.dialect import Namespace
from tests.streams import query

pytestmark = pytest.mark.e2e


def _tables(new_amount: str) -> None:
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS LEGACY")
        conn.execute("CREATE SCHEMA IF NOT EXISTS MART")
        conn.execute("CREATE OR REPLACE TABLE LEGACY.BAL AS SELECT range AS ID, 10.5 AS AMT FROM range(100)")
        conn.execute(f"CREATE OR REPLACE TABLE MART.BAL AS SELECT range AS ID, CASE WHEN range = 7 THEN {new_amount} "
                     "ELSE 10.5 END AS AMT FROM range(100)")


def test_compare_tables_records_an_ad_hoc_verdict_and_fails_beyond_its_thresholds(prefect_api, capsys):
    from flows.compare_tables import main

    _tables("10.5")
    assert main(["--legacy", "LEGACY.BAL", "--new", "MART.BAL", "--key", "ID"]) == 0
    assert capsys.readouterr().out.startswith("Completed: MATCH: 100 legacy / 100 new rows")
    _tables("11.5")
    assert main(["--legacy", "LEGACY.BAL", "--new", "MART.BAL", "--key", "ID"]) == 1
    assert "1 of 100 differing" in capsys.readouterr().out
    rows = query("SELECT * FROM DCF.COMPARE_RUNS ORDER BY CREATED_AT")
    _named_after_the_relations(rows[-1]["COMPARE_ID"])
    assert [(r["STRM_NAME"], r["VERDICT"], r["OUTCOME"], r["DECIDED_BY"]) for r in rows] == [
        (None, "MATCH", "COMPLETED", "fingerprint"), (None, "MISMATCH", "FAILED", "join")]
    assert main(["--legacy", "LEGACY.BAL", "--new", "MART.BAL"]) == 2
    assert capsys.readouterr().err.startswith("error: key: Field required")


def _named_after_the_relations(flow_run_id: str) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        assert client.read_flow_run(flow_run_id).name == "compare-LEGACY.BAL-MART.BAL"
