"""The control schema is defined once and comes out the same on DuckDB and on Snowflake (fakesnow)."""

from __future__ import annotations

import pytest

from dcf.store.dialect import Dialect
from dcf.store.migrate import describe_table, ensure_schema
from dcf.store.schema import PROCESS_EXECUTION_LOG, TABLES


def _shape(conn) -> dict[str, list[tuple[str, bool]]]:
    return {
        table.name: [(c.name, c.nullable) for c in describe_table(conn, table.name).values()]
        for table in TABLES
    }


def _expected() -> dict[str, list[tuple[str, bool]]]:
    return {t.name: [(c.name, c.nullable) for c in t.columns] for t in TABLES}


def test_duckdb_and_snowflake_get_the_same_tables_and_columns(duckdb_conn, fakesnow_conn):
    ensure_schema(duckdb_conn)
    ensure_schema(fakesnow_conn)
    duck, snow = _shape(duckdb_conn), _shape(fakesnow_conn)
    assert duck == snow == _expected()
    # The dialects really differ underneath: JSON on DuckDB, VARIANT on Snowflake.
    assert describe_table(duckdb_conn, "PROCESS_EXECUTION_LOG")["SOURCE_OBJ"].data_type == "JSON"
    assert describe_table(fakesnow_conn, "PROCESS_EXECUTION_LOG")["SOURCE_OBJ"].data_type == "VARIANT"


def test_schema_over_the_wire_matches(fakesnow_server_conn, duckdb_conn):
    """Server mode catches statements Snowflake rejects that the in-process patch would accept."""
    assert ensure_schema(fakesnow_server_conn)
    assert ensure_schema(fakesnow_server_conn) == []
    ensure_schema(duckdb_conn)
    assert _shape(fakesnow_server_conn) == _shape(duckdb_conn)


@pytest.mark.parametrize("conn_fixture", ["duckdb_conn", "fakesnow_conn"])
def test_second_run_changes_nothing(conn_fixture, request):
    conn = request.getfixturevalue(conn_fixture)
    first = ensure_schema(conn)
    assert len(first) == len(TABLES)
    before = _shape(conn)
    assert ensure_schema(conn) == []
    assert _shape(conn) == before


def test_duckdb_columns_carry_comments(duckdb_conn):
    ensure_schema(duckdb_conn)
    comments = dict(
        duckdb_conn.fetchall(
            "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'PROFILE_RUNS'"
        )
    )
    assert "NULL while STATUS = RUNNING" in comments["FINISHED_AT"]
    assert all(comments.values()), "every column has a comment"


_LEGACY_COLUMNS = [c for c in PROCESS_EXECUTION_LOG.columns if c.name not in ("PARENT_STEP_ID", "RECORD_TYPE")]


@pytest.mark.parametrize("conn_fixture", ["duckdb_conn", "fakesnow_conn"])
def test_legacy_execution_log_is_upgraded_without_losing_rows(conn_fixture, request):
    """The hierarchical spec's migration: add PARENT_STEP_ID / RECORD_TYPE, old rows become JOB rows."""
    from dcf.store.dialect import render_type

    conn = request.getfixturevalue(conn_fixture)
    schema = conn.namespace.qualify("X").rsplit(".", 1)[0]
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    legacy_ddl = ", ".join(f"{c.name} {render_type(c.type, conn.dialect)}" for c in _LEGACY_COLUMNS)
    table = conn.qualify("PROCESS_EXECUTION_LOG")
    conn.execute(f"CREATE TABLE {table} ({legacy_ddl})")
    for sk in (1, 2, 3):
        conn.execute(
            f"INSERT INTO {table} (PROCESS_EXECUTION_LOG_SK, PROCESS_STEP_ID, EXECUTION_STATUS_NAME, "
            "EXECUTION_COMPLETED_IND, EXECUTION_TYPE_NAME, DELETED_IND) "
            "VALUES (:sk, :step, 'SUCCESS', 'Y', 'DBT_JOB_RUN', 'N')",
            {"sk": sk, "step": f"JOB_legacy-{sk}"},
        )

    changes = ensure_schema(conn)

    assert "added column PROCESS_EXECUTION_LOG.PARENT_STEP_ID" in changes
    assert "added column PROCESS_EXECUTION_LOG.RECORD_TYPE" in changes
    assert any("3 legacy" in change for change in changes)
    rows = conn.fetchall(
        f"SELECT PROCESS_EXECUTION_LOG_SK, PROCESS_STEP_ID, RECORD_TYPE, PARENT_STEP_ID IS NULL "
        f"FROM {table} ORDER BY PROCESS_EXECUTION_LOG_SK"
    )
    assert [tuple(r) for r in rows] == [(sk, f"JOB_legacy-{sk}", "JOB", True) for sk in (1, 2, 3)]
    assert ensure_schema(conn) == []


def test_merge_is_idempotent_and_binds_values(duckdb_conn, fakesnow_conn):
    """Values (even hostile-looking ones) are bound, and re-sending rows never duplicates them."""
    from dcf.store.clock import utcnow
    from dcf.store.schema import DCF_T_STRM

    now = utcnow()
    row = {
        "STRM_ID": 7, "STRM_NAME": "S", "STRM_DESC": "it's; DROP TABLE X; --", "STRM_STATUS": "ACTIVE",
        "DATASTAGE_SEQUENCE": None, "CONFIG_PATH": "p", "CONFIG_HASH": "h", "CREATED_TS": now, "UPDATED_TS": now,
    }
    for conn in (duckdb_conn, fakesnow_conn):
        ensure_schema(conn)
        conn.merge(DCF_T_STRM, [row, row])
        conn.merge(DCF_T_STRM, [row])
        assert conn.fetchall(f"SELECT STRM_ID, STRM_DESC FROM {conn.qualify('DCF_T_STRM')}") == [
            (7, "it's; DROP TABLE X; --")
        ], conn.dialect
    assert fakesnow_conn.dialect == Dialect.SNOWFLAKE
