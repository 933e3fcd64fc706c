"""The warehouse facts a reuse decision needs, each in one statement, rendered per dialect.

    fingerprints(conn, {"source.p.raw.events": '"w"."raw"."events"'})   # {"source...": "100:8123...:STRUCT(...)"}
    existing(conn, {"model.p.m1": ("w", "main", "m1")})                # {"model.p.m1"}
    last_builds(conn, ['"w"."main"."m1"'])            # {'"w"."main"."m1"': ("<invocation id>", "success")}

* A fingerprint is the row count plus an order-independent hash of every row (DuckDB:
  ``SUM(HASH(t)::HUGEINT)`` over the row as a struct, plus the row type; Snowflake: ``HASH_AGG(*)``).
  ``None`` means the relation could not be read: the caller treats that as "changed".
* ``existing`` asks ``information_schema.tables`` (tables and views) once (per database on Snowflake).
* ``last_builds`` asks DBT_MODEL_EXECUTIONS which invocation last wrote each relation (success or error),
  whichever stream or worker ran it.

Relation names come from dbt's manifest and are validated (quoted or plain identifiers, at most three
parts) before they go into a statement; values are bound parameters.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence

from dcf.errors import DcfError
from dcf.store.connection import Connection
from dcf.store.dialect import identifier
from dcf.store.schema import DBT_MODEL_EXECUTIONS

log = logging.getLogger("dcf.build.reuse")

_PART = r'(?:"[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)'
_RELATION = re.compile(rf"^{_PART}(?:\.{_PART}){{0,2}}$")


def checked_relation(name: str) -> str:
    """``name`` if it is a safe dbt relation name (``"db"."schema"."table"`` or plain parts), else DcfError."""
    if not isinstance(name, str) or not _RELATION.match(name):
        raise DcfError(f"refusing to query relation {name!r}: not a plain or quoted [database.]schema.table")
    return name


def fingerprints(conn: Connection, relations: Mapping[str, str]) -> dict[str, str | None]:
    """key -> fingerprint of the relation's rows; one UNION ALL statement, per relation only if that fails."""
    keys = list(relations)
    if not keys:
        return {}
    select = conn.dialect.table_fingerprint()

    def one(i: int) -> str:
        return f"SELECT {i} AS I, {select} FROM {checked_relation(relations[keys[i]])} t"

    try:
        rows = conn.fetchall(" UNION ALL ".join(one(i) for i in range(len(keys))))
    except Exception as error:  # one unreadable input (dropped, no privilege): find which, one at a time
        log.info("fingerprint of %d inputs failed together (%s); trying one by one", len(keys), error)
        rows = []
        for i in range(len(keys)):
            try:
                rows += conn.fetchall(one(i))
            except Exception as single:
                log.info("cannot fingerprint %s: %s", relations[keys[i]], single)
    return {keys[i]: None for i in range(len(keys))} | {keys[int(i)]: f"{n}:{h}:{s}" for i, n, h, s in rows}


def existing(conn: Connection, relations: Mapping[str, tuple[str | None, str, str]]) -> set[str]:
    """The keys whose (database, schema, identifier) exists as a table or view (compared case-insensitively)."""
    if not relations:
        return set()
    # DuckDB's information_schema spans every attached catalog; Snowflake has one per database.
    groups: dict[str, set[str]] = {}
    for database, schema, _ in relations.values():
        groups.setdefault("" if conn.dialect.catalog_spans_databases else (database or ""), set()).add(schema.upper())
    found: set[tuple[str, str, str]] = set()
    for database, schemas in groups.items():
        catalog = identifier(database, what="database") + "." if database else ""
        params = {f"s{i}": schema for i, schema in enumerate(sorted(schemas))}
        sql = (f"SELECT TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME FROM {catalog}INFORMATION_SCHEMA.TABLES "
               f"WHERE UPPER(TABLE_SCHEMA) IN ({', '.join(':' + p for p in params)})")
        try:
            rows = conn.fetchall(sql, params)
            found |= {(str(c).casefold(), str(s).casefold(), str(t).casefold()) for c, s, t in rows}
        except Exception as error:  # no privilege on that database: its relations count as missing
            log.info("cannot list the relations of database %s: %s", database or "(default)", error)
    names = {(s, t) for _, s, t in found}

    def exists(database: str | None, schema: str, name: str) -> bool:
        if database:
            return (database.casefold(), schema.casefold(), name.casefold()) in found
        return (schema.casefold(), name.casefold()) in names

    return {key for key, parts in relations.items() if exists(*parts)}


def last_builds(conn: Connection, relation_names: Sequence[str]) -> dict[str, tuple[str, str]]:
    """relation name -> (invocation id, status) of the last invocation that built it (success or error)."""
    if not relation_names:
        return {}
    params = {f"r{i}": name for i, name in enumerate(relation_names)}
    sql = (f"SELECT RELATION_NAME, INVOCATION_ID, STATUS FROM {conn.qualify(DBT_MODEL_EXECUTIONS.name)} "
           f"WHERE STATUS IN ('success', 'error') AND RELATION_NAME IN ({', '.join(':' + p for p in params)}) "
           "QUALIFY ROW_NUMBER() OVER (PARTITION BY RELATION_NAME "
           "ORDER BY INSERT_TIMESTAMP DESC, RUN_STARTED_AT DESC) = 1")
    try:
        return {name: (invocation, status) for name, invocation, status in conn.fetchall(sql, params)}
    except Exception as error:  # no execution log yet: nothing is known to be built
        log.info("cannot read %s: %s", DBT_MODEL_EXECUTIONS.name, error)
        return {}
