"""A SIGKILL of the real flow process anywhere: the next plain run of the date resumes and ends SUCCEEDED.

The killed run is ``python -m flows.stream_load`` itself (through tests/kill_point.py, which only picks the
moment and then SIGKILLs its own process); nothing is closed by hand between the two runs. The kill in the
profile stage is tests/flows/test_stream_resume.py's, the kill during dbt is tests/execlog/test_reconcile.py's
and the deploy test's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from dcf.paths import PROJECT_ROOT, warehouse_path
from dcf.store.clock import utcnow
from dcf.store.connection import open_duckdb
from dcf.store.dialect import Namespace
from tests.streams import BCFINSG, BCFINSG_GOOD_DAY, fact_table, land, private_bcfinsg, query, scalar

pytestmark = pytest.mark.e2e
DAY = date(2024, 3, 1)


def _killed_run(point: str, api_url: str, log: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PREFECT_API_URL": api_url}
    with log.open("w") as output:
        child = subprocess.run([sys.executable, "-m", "tests.kill_point", point, "--stream", BCFINSG,
                                "--process-date", DAY.isoformat()], cwd=PROJECT_ROOT, env=env, stdout=output,
                               stderr=subprocess.STDOUT, timeout=300, check=False)
    assert child.returncode == -signal.SIGKILL, log.read_text()[-3000:]


@pytest.mark.parametrize("point", ["validate:registered", "process_id:allocated", "ingest:loaded", "lifecycle:moved",
                                   "stage:report"])  # stage:metadata: the stale-after test below
def test_a_kill_anywhere_is_resumed_by_the_next_plain_run(point, prefect_api, tmp_path, monkeypatch):
    from flows.stream_load import stream_load

    # Without the profile stage (its kill is test_stream_resume's): no GE import in the killed process.
    private_bcfinsg(tmp_path, monkeypatch, edit=lambda data: data.pop("profiling", None))
    landing_file = land(DAY)
    _killed_run(point, prefect_api, tmp_path / "killed.log")
    killed = query("SELECT PRCS_STATUS FROM DCF.DCF_T_PRCS_INST")
    if point == "validate:registered":
        assert killed == [], "killed before its instance was allocated"
    else:
        assert [k["PRCS_STATUS"] for k in killed] == ["RUNNING"], "the kill left its instance RUNNING, as a crash does"
    if point == "lifecycle:moved":
        assert not landing_file.exists(), "killed after the move, before its record"

    resumed = stream_load(stream=BCFINSG, process_date=DAY, return_state=True)

    _assert_resumed_once(resumed)


def _assert_resumed_once(resumed) -> None:
    """The one instance SUCCEEDED; raw, fact, lineage, stage and log rows once each; the archived file there."""
    assert resumed.is_completed(), resumed.message
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert (instance["PRCS_INST_ID"], instance["PRCS_STATUS"]) == (1, BCFINSG_GOOD_DAY)
    assert not query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_STATUS = 'RUNNING'")
    assert scalar("SELECT COUNT(*) FROM RAW.BCFINSG_PLAN_BALN_SEGM") == 1500, "no row loaded twice"
    fact = query(f"SELECT COUNT(*) AS N, COUNT(DISTINCT plan_baln_segm_sk) AS K FROM {fact_table()}")[0]
    assert fact["N"] == fact["K"] > 0
    [lineage] = query("SELECT * FROM DCF.DCF_T_DATA_LINEAGE")
    assert (lineage["ARCHIVE_STATUS"], lineage["LIFECYCLE_STAGE"]) == ("COMPLETED", "ARCHIVED")
    assert Path(lineage["ARCHIVE_PATH"]).is_file() and lineage["RETENTION_EXPIRY_DATE"] is not None
    assert scalar("SELECT COUNT(*) FROM DCF.PROCESS_EXECUTION_LOG WHERE EXECUTION_STATUS_NAME = 'RUNNING'") == 0
    reports = query("SELECT * FROM DCF.DCF_T_NOTIFICATIONS")
    assert len(reports) == len({r["NOTIFICATION_TYPE"] for r in reports}), "one report per kind, not one per try"


def test_an_owner_on_another_host_that_stopped_beating_is_taken_over_after_stale_after(  # and a kill in metadata
        prefect_api, tmp_path, monkeypatch):
    from prefect import get_client

    from flows.stream_load import stream_load

    def edit(data: dict) -> None:
        data.pop("profiling", None)
        data["stream"]["stale_after"] = 4  # seconds: the run beats every second

    private_bcfinsg(tmp_path, monkeypatch, edit=edit)
    land(DAY)
    _killed_run("stage:metadata", prefect_api, tmp_path / "killed.log")
    [killed] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert killed["STALE_AFTER_S"] == 4 and killed["HEARTBEAT_TS"] > killed["PRCS_START_TS"], "it beat while running"
    # The killed process as seen from another machine: its pid cannot be checked here, only its heartbeat.
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        conn.execute("UPDATE DCF.DCF_T_PRCS_INST SET OWNER_HOST = 'another-host', HEARTBEAT_TS = :now",
                     {"now": utcnow()})

    too_early = stream_load(stream=BCFINSG, process_date=DAY, return_state=True)

    assert too_early.is_failed() and "already has process instance 1 RUNNING" in too_early.message
    time.sleep(5)
    resumed = stream_load(stream=BCFINSG, process_date=DAY, return_state=True)

    _assert_resumed_once(resumed)
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(killed["FLOW_RUN_ID"]).state.type.value == "CRASHED", \
            "the taken-over run is marked Crashed in Prefect"
