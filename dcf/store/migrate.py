"""Create or upgrade the control schema, idempotently.

>>> from dcf.store.connection import open_duckdb
>>> from dcf.store.dialect import Namespace
>>> with open_duckdb(":memory:", Namespace("DCF")) as conn:
...     first, second = ensure_schema(conn), ensure_schema(conn)
>>> len(first) > 0, second
(True, [])

A missing table is created; a table missing columns gets them added (always nullable, so a populated
table can take them); nothing is ever dropped or narrowed. The returned list says what changed, so a
second run reports ``[]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcf.store.connection import Connection
from dcf.store.dialect import Dialect, render_type, sql_literal
from dcf.store.schema import PROCESS_EXECUTION_LOG, SEQUENCES, TABLES, identity_sequence
from dcf.store.statuses import RecordType
from dcf.store.table import Column, Table


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    nullable: bool
    data_type: str


def describe_table(conn: Connection, table: str) -> dict[str, ColumnInfo]:
    """Columns of a control table as the database reports them ({} when the table does not exist)."""
    catalog = f"{conn.namespace.database}.INFORMATION_SCHEMA" if conn.namespace.database else "INFORMATION_SCHEMA"
    rows = conn.fetchall(
        f"SELECT column_name, is_nullable, data_type FROM {catalog}.COLUMNS "
        "WHERE UPPER(table_schema) = :schema AND UPPER(table_name) = :table ORDER BY ordinal_position",
        {"schema": conn.namespace.schema, "table": table.upper()},
    )
    return {
        name.upper(): ColumnInfo(name.upper(), str(nullable).upper() in ("YES", "TRUE", "Y"), str(dtype))
        for name, nullable, dtype in rows
    }


def ensure_schema(conn: Connection, tables: tuple[Table, ...] = TABLES) -> list[str]:
    """Bring the control schema up to the definitions in :mod:`dcf.store.schema`; return what changed."""
    changes: list[str] = []
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_schema(conn)}")
    for sequence in SEQUENCES:
        conn.execute(_create_sequence(conn, sequence))
    for table in tables:
        existing = describe_table(conn, table.name)
        if not existing:
            if _create_table(conn, table):
                changes.append(f"created table {conn.qualify(table.name)}")
            continue
        for column in table.columns:
            if column.name not in existing:
                conn.execute(
                    f"ALTER TABLE {conn.qualify(table.name)} ADD COLUMN {_column_ddl(column, conn, added=True)}"
                )
                changes.append(f"added column {table.name}.{column.name}")
    changes += _upgrade_legacy_execution_log(conn)
    return changes


def _create_table(conn: Connection, table: Table) -> bool:
    """Create ``table``; False when another process created it at the same moment (two first runs at once:
    fakesnow, for one, refuses the second CREATE TABLE IF NOT EXISTS of a commented table). Theirs stands."""
    try:
        for statement in create_table_statements(table, conn):
            conn.execute(statement)
    except Exception:
        if not describe_table(conn, table.name):
            raise
        return False
    return True


def create_table_statements(table: Table, conn: Connection) -> list[str]:
    """CREATE TABLE (and, on DuckDB, the COMMENT statements) for ``table``."""
    columns = ",\n  ".join(_column_ddl(column, conn, table=table) for column in table.columns)
    name = conn.qualify(table.name)
    if conn.dialect is Dialect.SNOWFLAKE:
        return [f"CREATE TABLE IF NOT EXISTS {name} (\n  {columns}\n) COMMENT = {sql_literal(table.comment)}"]
    statements = [f"CREATE TABLE IF NOT EXISTS {name} (\n  {columns}\n)"]
    statements.append(f"COMMENT ON TABLE {name} IS {sql_literal(table.comment)}")
    statements += [
        f"COMMENT ON COLUMN {name}.{column.name} IS {sql_literal(column.comment)}"
        for column in table.columns
        if column.comment
    ]
    return statements


def _column_ddl(column: Column, conn: Connection, *, table: Table | None = None, added: bool = False) -> str:
    ddl = f"{column.name} {render_type(column.type, conn.dialect)}"
    if column.identity and table is not None:
        if conn.dialect is Dialect.SNOWFLAKE:
            ddl += " AUTOINCREMENT"
        else:
            ddl += f" DEFAULT nextval('{conn.qualify(identity_sequence(table))}')"
    # A column added to a populated table must accept the rows already there.
    if not column.nullable and not added:
        ddl += " NOT NULL"
    if conn.dialect is Dialect.SNOWFLAKE and column.comment:
        ddl += f" COMMENT {sql_literal(column.comment)}"
    return ddl


def _create_sequence(conn: Connection, name: str) -> str:
    if conn.dialect is Dialect.SNOWFLAKE:
        return f"CREATE SEQUENCE IF NOT EXISTS {conn.qualify(name)} START = 1 INCREMENT = 1"
    return f"CREATE SEQUENCE IF NOT EXISTS {conn.qualify(name)} START 1"


def _schema(conn: Connection) -> str:
    ns = conn.namespace
    return f"{ns.database}.{ns.schema}" if ns.database else ns.schema


def _upgrade_legacy_execution_log(conn: Connection) -> list[str]:
    """Rows from the single-record era have no RECORD_TYPE: they are JOB rows (hierarchical spec)."""
    table = conn.qualify(PROCESS_EXECUTION_LOG.name)
    legacy = conn.scalar(f"SELECT COUNT(*) FROM {table} WHERE RECORD_TYPE IS NULL")
    if not legacy:
        return []
    conn.execute(f"UPDATE {table} SET RECORD_TYPE = :job, PARENT_STEP_ID = NULL WHERE RECORD_TYPE IS NULL",
                 {"job": RecordType.JOB})
    return [f"marked {legacy} legacy {PROCESS_EXECUTION_LOG.name} rows RECORD_TYPE='JOB'"]
