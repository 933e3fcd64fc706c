"""Compare two relations inside the warehouse: fast when equal, exact when not.

    result = compare_relations(conn, spec, legacy='"W"."LEGACY"."BAL"', new='"W"."MAIN"."FCT_BAL"',
                               process_date=date(2024, 3, 1))
    result.verdict        # MATCH | MISMATCH
    result.decided_by     # fingerprint (one statement: equal rows and hash) | join (the keyed FULL OUTER JOIN)

First one statement scans each side for its row count and an order-independent hash of the compared
columns; equal → MATCH without a join. Otherwise one keyed FULL OUTER JOIN counts everything, and one more
statement fetches a bounded sample of each kind of difference. Prefect-free; nothing here writes a row
(:mod:`dcf.compare.verdict` does).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dcf.compare.spec import CompareSpec
from dcf.compare.statements import (
    KINDS,
    ComparedColumn,
    Pair,
    column_kind,
    compare_sql,
    condition,
    fingerprint_sql,
    samples_sql,
)
from dcf.errors import ConfigError
from dcf.store.connection import Connection

MATCH, MISMATCH = "MATCH", "MISMATCH"
_PART = re.compile(r'"([^"]+)"|([A-Za-z_][A-Za-z0-9_$]*)')


@dataclass
class ColumnResult:
    legacy: str
    new: str
    value: int = 0
    null: int = 0
    tolerated: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CompareResult:
    legacy: str
    new: str
    key: list[str]
    rows_legacy: int = 0
    rows_new: int = 0
    fingerprint_legacy: str | None = None
    fingerprint_new: str | None = None
    decided_by: str = "fingerprint"
    only_legacy: int = 0
    only_new: int = 0
    dup_rows_legacy: int = 0
    dup_rows_new: int = 0
    matched: int = 0
    differing: int = 0
    columns: list[ColumnResult] = field(default_factory=list)
    #: Rows only on one side and rows with a duplicate key (keys only).
    samples: list[dict[str, Any]] = field(default_factory=list)
    #: What was sent, in order: fingerprint, compare, samples.
    statements: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def missing(self) -> int:
        return self.only_legacy + self.only_new

    @property
    def mismatch_rate(self) -> float:
        """Rows of a key both sides have once that differ in a compared column, per such row."""
        return self.differing / self.matched if self.matched else 0.0

    @property
    def verdict(self) -> str:
        clean = not (self.missing or self.differing or self.dup_rows_legacy or self.dup_rows_new)
        return MATCH if clean and self.rows_legacy == self.rows_new else MISMATCH


def relation_parts(relation: str) -> list[str]:
    """``"DB"."SCHEMA"."T"`` or ``schema.t`` -> its parts (quotes removed)."""
    parts = [quoted or plain for quoted, plain in _PART.findall(relation)]
    if not 2 <= len(parts) <= 3:
        raise ConfigError(f"compare: {relation!r} is not a relation ([database.]schema.table, or a dbt model the "
                          "stream built)")
    return parts


def columns_of(conn: Connection, *relations: str) -> list[dict[str, str]]:
    """Per relation, column name (upper case) -> data type, in one catalogue statement; a ConfigError naming a
    relation that does not exist."""
    selects, params = [], {}
    for n, relation in enumerate(relations):
        parts = relation_parts(relation)
        database = parts[0] if len(parts) == 3 else None
        where = f"UPPER(table_schema) = :schema{n} AND UPPER(table_name) = :table{n}"
        params |= {f"schema{n}": parts[-2].upper(), f"table{n}": parts[-1].upper()}
        if database and conn.dialect.catalog_spans_databases:
            where += f" AND UPPER(table_catalog) = :database{n}"
            params[f"database{n}"] = database.upper()
        selects.append(f"SELECT {n} AS SIDE, column_name, data_type, ordinal_position "
                       f"FROM {conn.dialect.information_schema(database)}.columns WHERE {where}")
    found: list[dict[str, str]] = [{} for _ in relations]
    for side, name, data_type, _position in conn.fetchall(" UNION ALL ".join(selects) + " ORDER BY 1, 4", params):
        found[int(side)][str(name).upper()] = str(data_type)
    for relation, columns in zip(relations, found, strict=True):
        if not columns:
            raise ConfigError(f"compare: relation {relation} does not exist (or has no columns this role can see)")
    return found


def plan_pair(spec: CompareSpec, legacy: str, new: str, legacy_columns: dict[str, str],
              new_columns: dict[str, str], dialect: Any) -> Pair:
    """What is compared, checked against the columns each side has (a missing one is named)."""
    renamed = {name: spec.rename.get(name, name) for name in legacy_columns}
    for name, relation, have in ([(k, legacy, legacy_columns) for k in spec.key] +
                                 [(spec.rename.get(k, k), new, new_columns) for k in spec.key]):
        if name not in have:
            raise ConfigError(f"compare.key: column {name} is not in {relation}")
    if spec.columns is not None:
        chosen = spec.columns
        for name in chosen:
            if name not in legacy_columns:
                raise ConfigError(f"compare.columns: column {name} is not in {legacy}")
            if renamed[name] not in new_columns:
                raise ConfigError(f"compare.columns: column {renamed[name]} is not in {new}")
    else:
        chosen = [n for n in legacy_columns if renamed[n] in new_columns]
    chosen = [n for n in chosen if n not in spec.key and n not in spec.ignore]
    columns = tuple(ComparedColumn(n, renamed[n], _kind(legacy_columns[n], new_columns[renamed[n]])) for n in chosen)
    return Pair(legacy=legacy, new=new, key=tuple(spec.rename.get(k, k) for k in spec.key), legacy_key=tuple(spec.key),
                columns=columns, trim=spec.trim, ignore_case=spec.ignore_case, absolute=spec.tolerance.absolute,
                relative=spec.tolerance.relative,
                legacy_filter=_filter(spec.legacy_filter, dialect, "compare.legacy_filter"),
                new_filter=_filter(spec.new_filter, dialect, "compare.new_filter"))


def _filter(text: str | None, dialect: Any, where: str) -> str | None:
    return None if text is None else condition(text, dialect, where=where)


def _kind(legacy_type: str, new_type: str) -> str:
    kinds = {column_kind(legacy_type), column_kind(new_type)}
    return kinds.pop() if len(kinds) == 1 else "other"


def compare_relations(conn: Connection, spec: CompareSpec, *, legacy: str, new: str,
                      process_date: date | None = None) -> CompareResult:
    """Compare ``legacy`` with ``new`` (relations as the warehouse names them) as ``spec`` says."""
    started = time.monotonic()
    legacy_columns, new_columns = columns_of(conn, legacy, new)
    pair = plan_pair(spec, legacy, new, legacy_columns, new_columns, conn.dialect)
    params = {"process_date": process_date} if "process_date" in f"{pair.legacy_filter} {pair.new_filter}" else {}
    result = CompareResult(legacy, new, list(spec.key),
                           columns=[ColumnResult(c.legacy, c.new) for c in pair.columns])
    sides = {row[0]: row for row in conn.fetchall(fingerprint_sql(pair, conn.dialect), params)}
    result.statements.append("fingerprint")
    _, result.rows_legacy, result.fingerprint_legacy = sides["legacy"]
    _, result.rows_new, result.fingerprint_new = sides["new"]
    if (result.rows_legacy, result.fingerprint_legacy) != (result.rows_new, result.fingerprint_new):
        result.decided_by = "join"
        _count(conn, pair, result, params)
        if result.verdict == MISMATCH:
            _sample(conn, pair, result, params, spec.sample_size)
    result.duration_s = time.monotonic() - started
    return result


def _count(conn: Connection, pair: Pair, result: CompareResult, params: dict[str, Any]) -> None:
    row = conn.fetch_dicts(compare_sql(pair, conn.dialect), params)[0]
    result.statements.append("compare")
    number = {k.upper(): round(float(v or 0)) for k, v in row.items()}
    result.only_legacy, result.only_new = number["ONLY_LEGACY"], number["ONLY_NEW"]
    result.dup_rows_legacy, result.dup_rows_new = number["DUP_ROWS_LEGACY"], number["DUP_ROWS_NEW"]
    result.matched, result.differing = number["MATCHED"], number["DIFFERING"]
    for i, column in enumerate(result.columns):
        column.value, column.null, column.tolerated = number[f"V{i}"], number[f"Z{i}"], number[f"T{i}"]


def _sample(conn: Connection, pair: Pair, result: CompareResult, params: dict[str, Any], limit: int) -> None:
    wanted: list[tuple[str, int | None]] = [
        (kind, None) for kind, n in (("only_legacy", result.only_legacy), ("only_new", result.only_new),
                                     ("duplicate", result.dup_rows_legacy + result.dup_rows_new)) if n]
    for i, column in enumerate(result.columns):
        wanted += [(kind, i) for kind in KINDS if getattr(column, kind)]
    if not wanted:
        return
    rows = conn.fetch_dicts(samples_sql(pair, conn.dialect, wanted, limit), params)
    result.statements.append("samples")
    for row in rows:
        row = {k.upper(): v for k, v in row.items()}
        sample = {"kind": row["KIND"], "key": row["KEY_TEXT"], "legacy": row["LEGACY_VALUE"], "new": row["NEW_VALUE"]}
        index = int(row["COL"])
        (result.samples if index < 0 else result.columns[index].samples).append(sample)
