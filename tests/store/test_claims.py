"""One stream, twenty processes claiming it at the same moment: exactly one claim, nineteen clear refusals.

Each claimant is its own OS process with its own connection (a DuckDB file; or the real snowflake-connector
against fakesnow's server, statements over the wire), released together by one event. The claim is the
compare-and-set UPDATE on DCF_T_STRM (dcf.store.instances), not the per-process locks of a local run.
"""

from __future__ import annotations

import multiprocessing
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dcf.store.clock import utcnow
from dcf.store.dialect import Dialect, Namespace
from dcf.store.schema import DCF_T_STRM

CLAIMANTS = 20
DAY = date(2024, 3, 1)


def _connect(target: dict[str, Any]):
    from dcf.store.connection import Connection, open_duckdb

    if target["kind"] == "duckdb":
        return open_duckdb(target["path"], Namespace("DCF"), wait_seconds=120)
    import snowflake.connector

    raw = snowflake.connector.connect(**target["connect"], database=target["database"], schema=target["schema"])
    return Connection(raw, Dialect.SNOWFLAKE, Namespace(target["schema"], target["database"]))


def _claimant(target: dict[str, Any], index: int, go: Any, results: Any) -> None:
    """A child process: wait for the start signal, ask for the stream, report what happened."""
    from dcf.errors import RefusedError
    from dcf.store.instances import InstanceClaim, allocate_instance
    from dcf.store.owner import process_identity

    conn = _connect(target) if target["kind"] != "duckdb" else None
    go.wait()
    try:
        conn = conn or _connect(target)  # DuckDB: one process at a time holds the file, so open after the signal
        allocation = allocate_instance(conn, InstanceClaim(
            strm_id=7, strm_name="S7", process_date=DAY, batch_id="7_20240301", flow_run_id=f"run-{index}",
            owner=process_identity()))
        results.put(("claimed", allocation.prcs_inst_id))
    except RefusedError as error:
        results.put(("refused", str(error)))
    except Exception as error:  # reported, so the test says what went wrong instead of hanging
        results.put(("error", f"{type(error).__name__}: {error}"))
    finally:
        if conn is not None:
            conn.close()


def _race(target: dict[str, Any]) -> list[tuple[str, Any]]:
    # A fork server imports the connector and the store once; each claimant is then a fork of it: twenty real
    # processes without twenty imports of snowflake-connector (a fork server has no threads to fork from).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["snowflake.connector", "dcf.store.instances", "dcf.store.connection"])
    go, results = context.Event(), context.Queue()
    processes = [context.Process(target=_claimant, args=(target, i, go, results)) for i in range(CLAIMANTS)]
    for process in processes:
        process.start()
    go.set()
    outcomes = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    return outcomes


def _prepare(conn) -> None:
    from dcf.store.migrate import ensure_schema

    ensure_schema(conn)
    now = utcnow()
    conn.merge(DCF_T_STRM, [{"STRM_ID": 7, "STRM_NAME": "S7", "STRM_DESC": None, "STRM_STATUS": "ACTIVE",
                             "DATASTAGE_SEQUENCE": None, "CONFIG_PATH": "-", "CONFIG_HASH": "-",
                             "CREATED_TS": now, "UPDATED_TS": now}])


def _assert_one_winner(outcomes: list[tuple[str, Any]], conn) -> None:
    claimed = [value for kind, value in outcomes if kind == "claimed"]
    refused = [value for kind, value in outcomes if kind == "refused"]
    assert len(claimed) == 1 and len(refused) == CLAIMANTS - 1, outcomes
    assert all("already has process instance" in message and "one instance per stream" in message
               for message in refused), refused
    running = conn.fetch_dicts("SELECT PRCS_INST_ID FROM " + conn.qualify("DCF_T_PRCS_INST") +
                               " WHERE PRCS_STATUS = 'RUNNING'")
    assert [int(r["PRCS_INST_ID"]) for r in running] == claimed
    [stream] = conn.fetch_dicts("SELECT CLAIM_OWNER, CLAIM_PRCS_INST_ID FROM " + conn.qualify("DCF_T_STRM"))
    assert int(stream["CLAIM_PRCS_INST_ID"]) == claimed[0] and stream["CLAIM_OWNER"].startswith("run-")


def test_twenty_processes_claim_a_stream_on_duckdb_and_one_wins(tmp_path: Path):
    from dcf.store.connection import open_duckdb

    path = tmp_path / "warehouse.duckdb"
    with open_duckdb(path, Namespace("DCF")) as conn:
        _prepare(conn)
    outcomes = _race({"kind": "duckdb", "path": str(path)})
    with open_duckdb(path, Namespace("DCF"), read_only=True) as conn:
        _assert_one_winner(outcomes, conn)


def test_twenty_processes_claim_a_stream_over_the_wire_and_one_wins(fakesnow_server_conn, fakesnow_server):
    conn = fakesnow_server_conn
    _prepare(conn)
    outcomes = _race({"kind": "snowflake", "connect": fakesnow_server, "database": conn.namespace.database,
                      "schema": conn.namespace.schema})
    _assert_one_winner(outcomes, conn)


#: Twenty processes each: not a unit test (make test-fast leaves them out).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]
