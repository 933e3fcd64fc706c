"""`python -m flows.control_tables` is idempotent against one DCF_HOME."""

from __future__ import annotations

import os
import subprocess
import sys

from dcf.paths import PROJECT_ROOT
from dcf.store.connection import open_duckdb
from dcf.store.dialect import Namespace
from dcf.store.migrate import describe_table
from dcf.store.schema import TABLES


def _run(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flows.control_tables"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300, check=True,
    )


def _snapshot(path):
    with open_duckdb(path, Namespace("DCF")) as conn:
        shape = {t.name: list(describe_table(conn, t.name).values()) for t in TABLES}
        streams = conn.fetchall("SELECT STRM_ID, STRM_NAME, STRM_STATUS, CONFIG_HASH, UPDATED_TS FROM DCF.DCF_T_STRM")
    return shape, streams


def test_running_twice_reports_no_change(dcf_home):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    first = _run(env)
    assert "created table DCF.PROCESS_EXECUTION_LOG" in first.stdout
    assert "registered stream 1490 BCFINSG_PLAN_BALN_SEGM_LOAD (ACTIVE)" in first.stdout
    before = _snapshot(dcf_home / "warehouse.duckdb")

    second = _run(env)

    assert second.stdout.strip() == "no change"
    assert _snapshot(dcf_home / "warehouse.duckdb") == before
