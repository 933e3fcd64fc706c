"""Connections for tasks: one per task call, closed when the call ends.

DuckDB connections opened in the flow process share the database instance (dbt-duckdb's included), so
opening one per task is cheap; Snowflake connections are not shared between threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from blocks.default_warehouse import load_warehouse
from dcf.store.connection import Connection


@contextmanager
def connect(warehouse_block: str | None) -> Iterator[Connection]:
    conn = load_warehouse(warehouse_block).connect()
    try:
        yield conn
    finally:
        conn.close()
