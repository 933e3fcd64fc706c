"""Which table a profile reads: a name from input, checked against the warehouse's own catalog.

A name is ``table`` (a dbt model: looked up by name), ``schema.table`` or ``database.schema.table``.
It is validated as plain identifiers first, then found in INFORMATION_SCHEMA.TABLES, so the relation a
profile reads always exists and carries the names as the warehouse spells them::

    relation = resolve_relation(conn, "main.fct_plan_baln_segm_mstr")
    relation.database, relation.schema, relation.table   # ('warehouse', 'main', 'fct_plan_baln_segm_mstr')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dcf.errors import ConfigError, RefusedError
from dcf.store.connection import Connection
from dcf.store.dialect import relation_name

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,254}$")


@dataclass(frozen=True)
class Relation:
    """A table or view, with its names as the warehouse stores them."""

    database: str
    schema: str
    table: str

    def __post_init__(self) -> None:
        # Names are quoted into SQL (to keep their case), so each one must be a plain identifier.
        for part in (self.database, self.schema, self.table):
            if not _PLAIN.match(part):
                raise RefusedError(f"cannot profile {part!r}: not a plain SQL identifier (letters, digits, _ and $)")

    @property
    def sql(self) -> str:
        """``"DB"."SCHEMA"."TABLE"``: quoted so that the stored case is kept on Snowflake too."""
        return ".".join(f'"{part}"' for part in (self.database, self.schema, self.table))

    def __str__(self) -> str:
        return f"{self.database}.{self.schema}.{self.table}"


def resolve_relation(conn: Connection, name: str) -> Relation:
    """The existing relation ``name`` refers to; :class:`RefusedError` when there is none or several."""
    try:
        parts = relation_name(name, what="table").split(".")
    except ConfigError as error:
        raise RefusedError(str(error)) from None
    database = parts[0] if len(parts) == 3 else None
    schema = parts[-2] if len(parts) >= 2 else None
    table = parts[-1]
    found = _catalog_matches(conn, database, schema, table)
    if not found:
        scope = database or current_database(conn) or "the current database"
        raise RefusedError(f"unknown table {name!r}: no table or view of that name in {scope}")
    if len(found) > 1:
        listed = ", ".join(str(r) for r in found)
        raise RefusedError(f"table name {name!r} is ambiguous ({listed}); give it as schema.table")
    return found[0]


def current_database(conn: Connection) -> str | None:
    """The connection's current database (DuckDB: the file's catalog)."""
    return conn.scalar("SELECT CURRENT_DATABASE()")


def _catalog_matches(conn: Connection, database: str | None, schema: str | None, table: str) -> list[Relation]:
    # Snowflake keeps one INFORMATION_SCHEMA per database; DuckDB's covers every attached catalog, so
    # there the current catalog is the scope unless a database is named.
    if conn.dialect.catalog_spans_databases:
        catalog = "INFORMATION_SCHEMA"
        database = database or current_database(conn)
    else:
        catalog = f"{database}.INFORMATION_SCHEMA" if database else "INFORMATION_SCHEMA"
    where = ["UPPER(table_name) = :table", "UPPER(table_schema) <> 'INFORMATION_SCHEMA'"]
    params = {"table": table.upper()}
    if schema:
        where.append("UPPER(table_schema) = :schema")
        params["schema"] = schema.upper()
    if database:
        where.append("UPPER(table_catalog) = :database")
        params["database"] = database.upper()
    rows = conn.fetchall(
        f"SELECT table_catalog, table_schema, table_name FROM {catalog}.TABLES WHERE {' AND '.join(where)} "
        "ORDER BY table_catalog, table_schema, table_name",
        params,
    )
    return [Relation(str(db), str(sch), str(tbl)) for db, sch, tbl in rows]


def relation_columns(conn: Connection, relation: Relation) -> dict[str, str]:
    """Column name -> data type of ``relation``, in table order, as the warehouse reports them."""
    catalog = conn.dialect.information_schema(relation.database)
    rows = conn.fetchall(
        f"SELECT column_name, data_type FROM {catalog}.COLUMNS "
        "WHERE table_catalog = :database AND table_schema = :schema AND table_name = :table ORDER BY ordinal_position",
        {"database": relation.database, "schema": relation.schema, "table": relation.table},
    )
    return {str(name): str(data_type) for name, data_type in rows}
