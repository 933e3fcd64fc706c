"""Compute a table's profile with Great Expectations; nothing here writes PROFILE_RUNS or PROFILE_RESULTS.

    from dcf.profiling import ProfileOptions, profile_column, profile_table

    profile = profile_table(conn, "main.fct_plan_baln_segm_mstr", ProfileOptions(sample_rate=0.1, seed=7))
    profile.row_count, profile.column("balance_amount").metrics["quantiles"]

    # PROFILE_COLUMN: one column, computed and returned, nothing persisted
    profile_column(conn, "main.fct_plan_baln_segm_mstr", "segment_code").metrics["top_values"]

``conn`` is the warehouse connection (:class:`dcf.store.connection.Connection`). On DuckDB GE reads the same database;
on Snowflake pass ``source=SnowflakeSource(...)`` (the tasks build it from the warehouse block).

Sampling: with ``sample_rate`` < 1 the sample is materialised once, as a scratch table in the control
schema (Bernoulli, ``seed`` makes it repeatable), every metric is computed on it, and it is dropped at the
end — so all metrics of a profile see the same rows. A sample is not a persistent write: PROFILE_COLUMN
still persists nothing.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from dcf.errors import RefusedError
from dcf.profiling.options import ProfileOptions
from dcf.profiling.relation import Relation, current_database, relation_columns, resolve_relation
from dcf.profiling.source import SnowflakeSource, Source, session_names, source_for
from dcf.store.connection import Connection
from dcf.store.dialect import Dialect

#: COLUMN_NAME of table-level metrics in PROFILE_RESULTS.
TABLE_LEVEL = "*"

_NUMERIC = {"TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT", "INT2", "INT4", "INT8", "BYTEINT", "NUMBER", "NUMERIC", "DECIMAL", "FLOAT",
            "FLOAT4", "FLOAT8", "DOUBLE", "REAL"}
_TEXT = {"VARCHAR", "CHAR", "CHARACTER", "TEXT", "STRING", "NVARCHAR", "NCHAR", "BPCHAR"}
_TEMPORAL = {"DATE", "TIME", "TIMESTAMP", "DATETIME", "TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ",
             "TIMESTAMPTZ"}
_BOOLEAN = {"BOOLEAN", "BOOL"}


def column_kind(type_name: str) -> str:
    """numeric, text, temporal, boolean or other, from the type name the database reports.

    >>> column_kind("NUMBER(38,0)"), column_kind("VARCHAR(16777216)"), column_kind("INTERVAL")
    ('numeric', 'text', 'other')
    """
    word = re.split(r"[\s(]", type_name.strip().upper(), maxsplit=1)[0]
    for kind, words in (("numeric", _NUMERIC), ("text", _TEXT), ("temporal", _TEMPORAL), ("boolean", _BOOLEAN)):
        if word in words:
            return kind
    return "other"


@dataclass(frozen=True)
class ColumnProfile:
    """One column's figures. ``metrics`` maps metric name to a number, text, list or dict (JSON-ready)."""

    name: str
    type: str
    kind: str
    rows: int
    metrics: dict[str, Any]


@dataclass(frozen=True)
class TableProfile:
    relation: Relation
    row_count: int
    columns: tuple[ColumnProfile, ...]
    options: ProfileOptions

    def column(self, name: str) -> ColumnProfile:
        for column in self.columns:
            if column.name.upper() == name.upper():
                return column
        raise KeyError(f"{self.relation} has no profiled column {name}")

    def result_rows(self, run_id: str, created_at: datetime) -> list[dict[str, Any]]:
        """PROFILE_RESULTS rows: one per (column, metric), table-level ones under COLUMN_NAME '*'."""
        rows = [
            _result_row(run_id, TABLE_LEVEL, None, "row_count", self.row_count, created_at),
            _result_row(run_id, TABLE_LEVEL, None, "column_count", len(self.columns), created_at),
        ]
        for column in self.columns:
            rows += [
                _result_row(run_id, column.name, column.type, metric, value, created_at)
                for metric, value in column.metrics.items()
            ]
        return rows

    def summary(self) -> list[dict[str, Any]]:
        """One line per column with its key figures (the table artifact)."""
        lines = []
        for column in self.columns:
            m = column.metrics
            distinct = m.get("distinct_count", m.get("approx_distinct_count"))
            top = m.get("top_values") or []
            lines.append({
                "column": column.name,
                "type": column.type,
                "null_rate": None if m.get("null_rate") is None else round(m["null_rate"], 4),
                "distinct": distinct,
                "min": _short(m.get("min")),
                "max": _short(m.get("max")),
                "mean": None if m.get("mean") is None else round(m["mean"], 4),
                "top_value": _short(top[0]["value"]) if top else None,
            })
        return lines


def profile_table(
    conn: Connection, table: Relation | str, options: ProfileOptions | None = None, *, source: Source | None = None
) -> TableProfile:
    """Profile every column of ``table`` (a :class:`Relation` or a name to resolve)."""
    relation = table if isinstance(table, Relation) else resolve_relation(conn, table)
    return _profile(conn, relation, None, options or ProfileOptions(), source)


def profile_column(
    conn: Connection,
    table: Relation | str,
    column: str,
    options: ProfileOptions | None = None,
    *,
    source: Source | None = None,
) -> ColumnProfile:
    """PROFILE_COLUMN: one column's profile, computed and returned; nothing is persisted."""
    relation = table if isinstance(table, Relation) else resolve_relation(conn, table)
    return _profile(conn, relation, [column], options or ProfileOptions(), source).columns[0]


def _profile(
    conn: Connection, relation: Relation, wanted: list[str] | None, options: ProfileOptions, source: Source | None
) -> TableProfile:
    # Everything that can be refused is checked before a sample is created or GE is imported.
    types = relation_columns(conn, relation)
    names = list(types)
    if wanted is not None:
        by_upper = {name.upper(): name for name in names}
        missing = [c for c in wanted if not isinstance(c, str) or c.upper() not in by_upper]
        if missing:
            raise RefusedError(f"{relation} has no column {missing[0]!r}; columns: {', '.join(names)}")
        names = [by_upper[c.upper()] for c in wanted]
    source = ready_source(conn, source)
    from dcf.profiling import gx  # imported here: importing GE takes seconds

    # Column types come from INFORMATION_SCHEMA (already read above): asking GE for them first would cost a
    # second metric-graph resolution; GE reflects the table once, for the metrics themselves.
    plan: list[tuple[str, str, Any]] = [("*", "row_count", gx.BatchRowCount())]
    for name in names:
        plan += _column_plan(gx, name, column_kind(types[name]), options)
    with _rows_to_profile(conn, relation, options) as rows, gx.open_batch(source, rows) as batch:
        values = gx.compute(batch, [metric for _, _, metric in plan])
    row_count = int(values[0])
    by_column: dict[str, dict[str, Any]] = {name: {} for name in names}
    for (column, metric, _), value in zip(plan[1:], values[1:], strict=True):
        if metric == "top_values" and value is None:
            continue  # over the distinct limit: not computed, so not reported
        by_column[column][metric] = _shape(metric, value, options)
    profiles = []
    for name in names:
        metrics = by_column[name]
        if "null_count" in metrics:
            # null_rate follows null_count, so the two always describe the same rows
            rate = metrics["null_count"] / row_count if row_count else None
            metrics = _insert_after(metrics, "null_count", "null_rate", rate)
        profiles.append(ColumnProfile(name, types[name], column_kind(types[name]), row_count, metrics))
    return TableProfile(relation, row_count, tuple(profiles), options)


def _column_plan(gx: Any, name: str, kind: str, options: ProfileOptions) -> list[tuple[str, str, Any]]:
    """(column, metric name, GE metric) for what ``options`` asks of a column of this kind."""
    plan: list[tuple[str, str, Any]] = []

    def add(group: str, metric: str, gx_metric: Any, kinds: Sequence[str] | None = None) -> None:
        if options.wants(group) and (kinds is None or kind in kinds):
            plan.append((name, metric, gx_metric))

    ordered = ("numeric", "text", "temporal")
    add("nulls", "null_count", gx.ColumnNullCount(column=name))
    if options.approximate:
        add("distinct", "approx_distinct_count", gx.ColumnApproxDistinctCount(column=name), (*ordered, "boolean"))
    else:
        add("distinct", "distinct_count", gx.ColumnDistinctValuesCount(column=name), (*ordered, "boolean"))
    add("min_max", "min", gx.ColumnMin(column=name), ordered)
    add("min_max", "max", gx.ColumnMax(column=name), ordered)
    add("moments", "mean", gx.ColumnMean(column=name), ("numeric",))
    add("moments", "stddev", gx.ColumnStdDev(column=name), ("numeric",))
    add("quantiles", "quantiles",
        gx.ColumnQuantiles(column=name, quantiles=list(options.quantiles), approximate=options.approximate),
        ("numeric",))
    add("lengths", "min_length", gx.ColumnLengthMin(column=name), ("text",))
    add("lengths", "max_length", gx.ColumnLengthMax(column=name), ("text",))
    add("top_values", "top_values",
        gx.ColumnTopValues(column=name, max_distinct=options.top_values_max_distinct,
                           approximate=options.approximate),
        (*ordered, "boolean"))
    return plan


def _shape(metric: str, value: Any, options: ProfileOptions) -> Any:
    if metric == "quantiles":
        if isinstance(value, str):  # Snowflake returns an ARRAY as JSON text
            value = json.loads(value)
        if value is None:
            return None
        return {repr(q): _plain(v) for q, v in zip(options.quantiles, value, strict=True)}
    if metric == "top_values":
        return None if value is None else [{"value": _plain(v), "count": int(c)} for v, c in value]
    if metric in ("null_count", "distinct_count", "approx_distinct_count", "min_length", "max_length"):
        return None if value is None else int(value)
    return _plain(value)


def _plain(value: Any) -> Any:
    """A JSON-ready Python value: Decimal -> int/float, dates -> ISO text, NaN -> None."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return _plain(value.item())
    return value


def _insert_after(metrics: dict[str, Any], after: str, key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, existing in metrics.items():
        out[name] = existing
        if name == after:
            out[key] = value
    return out


def _result_row(
    run_id: str, column: str, column_type: str | None, metric: str, value: Any, created_at: datetime
) -> dict[str, Any]:
    number = text = structured = None
    if isinstance(value, dict | list):
        structured = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif value is not None:
        text = str(value)[:4000]
    return {
        "RUN_ID": run_id, "COLUMN_NAME": column, "METRIC_NAME": metric, "COLUMN_TYPE": column_type,
        "METRIC_VALUE": number, "METRIC_TEXT": text, "METRIC_JSON": structured, "CREATED_AT": created_at,
    }


def _short(value: Any, width: int = 40) -> Any:
    if isinstance(value, str) and len(value) > width:
        return value[: width - 1] + "…"
    return value


def ready_source(conn: Connection, source: Source | None) -> Source:
    """The source GE will read through, complete (Snowflake: warehouse and role) or refused."""
    source = source_for(conn, source)
    if isinstance(source, SnowflakeSource):
        return source.completed(*session_names(conn))
    return source


# -- sampling ------------------------------------------------------------------------------------------
@contextmanager
def _rows_to_profile(conn: Connection, relation: Relation, options: ProfileOptions) -> Iterator[Relation]:
    """The relation itself, or a sample of it materialised once (and dropped afterwards)."""
    if not options.sampled:
        yield relation
        return
    namespace = conn.namespace
    database = namespace.database or current_database(conn)
    scratch = Relation(database, namespace.schema, f"PROFILE_SAMPLE_{uuid.uuid4().hex[:16].upper()}")
    schema = f"{namespace.database}.{namespace.schema}" if namespace.database else namespace.schema
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    conn.execute(sample_statement(conn.dialect, relation, scratch, options.sample_rate, options.sample_seed))
    try:
        yield scratch
    finally:
        conn.execute(f"DROP TABLE IF EXISTS {scratch.sql}")


def sample_statement(
    dialect: Dialect, relation: Relation, target: Relation, rate: float | None, seed: int | None
) -> str:
    """CREATE TABLE ``target`` AS a Bernoulli sample of ``relation``.

    Sample clauses take no bind parameters, so rate and seed are rendered — both are validated numbers
    (:class:`ProfileOptions`), never text from input. Snowflake: a transient table (no fail-safe).

    >>> r = Relation("DB", "S", "T"); s = Relation("DB", "DCF", "X")
    >>> sample_statement(Dialect.DUCKDB, r, s, 0.1, 7)
    'CREATE TABLE "DB"."DCF"."X" AS SELECT * FROM "DB"."S"."T" TABLESAMPLE BERNOULLI(10.0 PERCENT) REPEATABLE (7)'
    """
    if rate is None or not 0 < float(rate) <= 1:
        raise RefusedError(f"sample_rate must be > 0 and <= 1 (got {rate!r})")
    percent = repr(round(float(rate) * 100, 8))
    return dialect.sample_table(target.sql, relation.sql, percent, int(seed) if seed is not None else None)
