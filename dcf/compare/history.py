"""The shipped parallel-run queries (``sql/queries/parallel_run/*.sql``), run against the control store.

    days_in_a_row(conn)        # {stream: {"LATEST_VERDICT": "MATCH", "DAYS_IN_A_ROW": 12, ...}}
    columns_that_differ(conn)  # rows: stream, relation, column, days with mismatches, mismatches

The files name the tables bare (run them in a worksheet with the control schema current); here each name is
qualified with the store's namespace.
"""

from __future__ import annotations

import re
from typing import Any

from dcf.paths import PROJECT_ROOT
from dcf.store.connection import Connection
from dcf.store.schema import COMPARE_COLUMNS, COMPARE_RUNS

QUERY_DIR = PROJECT_ROOT / "sql" / "queries" / "parallel_run"
_TABLES = re.compile(rf"\b({COMPARE_RUNS.name}|{COMPARE_COLUMNS.name})\b")


def run_query(conn: Connection, name: str) -> list[dict[str, Any]]:
    sql = (QUERY_DIR / f"{name}.sql").read_text(encoding="utf-8").strip().rstrip(";")
    rows = conn.fetch_dicts(_TABLES.sub(lambda m: conn.qualify(m.group(1)), sql))
    return [{k.upper(): v for k, v in row.items()} for row in rows]


def days_in_a_row(conn: Connection) -> dict[str, dict[str, Any]]:
    return {row["STRM_NAME"]: row for row in run_query(conn, "days_in_a_row")}


def columns_that_differ(conn: Connection) -> list[dict[str, Any]]:
    return run_query(conn, "columns_that_differ")
