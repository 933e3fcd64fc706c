"""The statements of a comparison, written once and rendered per warehouse by sqlglot.

    fingerprint_sql(pair, dialect)   # one statement, one scan per side: rows and an order-independent hash
    compare_sql(pair, dialect)       # the keyed FULL OUTER JOIN: counts only in legacy / new, duplicate keys,
                                     # per column: value vs value, null vs value, within tolerance
    samples_sql(pair, dialect, kinds)  # a bounded sample (keys and both values) of each kind of difference

Both sides are projected the same way first (the key, then the compared columns under one name each, with
``TRIM``/``UPPER`` on text when asked), so the hash of equal rows is equal whatever the column order or
names of the two relations. Identifiers are checked plain names (:mod:`dcf.compare.spec`); the filters are
parsed as conditions (no query inside) and the process date is a bound parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from dcf.errors import ConfigError
from dcf.store.dialect import Dialect

#: Kinds of difference per column, as COMPARE_COLUMNS and the samples name them.
KINDS = ("value", "null", "tolerated")
_NUMBER = re.compile(r"^(DECIMAL|NUMERIC|NUMBER|DOUBLE|FLOAT|REAL|[A-Z]*INT[A-Z0-9]*)", re.I)
_TEXT = re.compile(r"^(VARCHAR|TEXT|STRING|CHAR|NVARCHAR|NCHAR|CHARACTER)", re.I)


@dataclass(frozen=True)
class ComparedColumn:
    """One compared column: its name on each side and how its values are compared."""

    legacy: str
    new: str
    kind: str  # number | text | other


@dataclass(frozen=True)
class Pair:
    """Two relations, as compared: the sides' relations and filters, the key and the columns."""

    legacy: str
    new: str
    key: tuple[str, ...]  # the same names on both sides (renames applied on the legacy side)
    legacy_key: tuple[str, ...]
    columns: tuple[ComparedColumn, ...]
    legacy_filter: str | None = None
    new_filter: str | None = None
    trim: bool = False
    ignore_case: bool = False
    absolute: float = 0.0
    relative: float = 0.0


def column_kind(data_type: str) -> str:
    if _NUMBER.match(data_type.strip()):
        return "number"
    return "text" if _TEXT.match(data_type.strip()) else "other"


def condition(text: str, dialect: Dialect, *, where: str) -> str:
    """A user's filter as a condition in ``dialect``: ``#process_date#`` a bound parameter, no query inside."""
    bound = text.replace("#process_date#", ":process_date")
    if "#" in bound:
        raise ConfigError(f"{where}: {text!r}: only #process_date# may be referenced")
    try:
        parsed = sqlglot.parse(bound, read=Dialect.SNOWFLAKE.value)
    except sqlglot.errors.ParseError as error:
        raise ConfigError(f"{where}: {text!r} is not a SQL condition: {str(error).splitlines()[0]}") from None
    if len(parsed) != 1 or parsed[0] is None or isinstance(parsed[0], (exp.Query, exp.Command, exp.DDL, exp.DML)):
        raise ConfigError(f"{where}: {text!r} is not one SQL condition")
    if parsed[0].find(exp.Query, exp.Subquery):
        raise ConfigError(f"{where}: {text!r}: a filter may not hold a query")
    return _bound(parsed[0].sql(dialect=dialect.value))


def _bound(sql: str) -> str:
    """The process date as the store's connections bind it (``:name``; sqlglot renders DuckDB's ``$name``)."""
    return sql.replace("$process_date", ":process_date")


def _projection(pair: Pair, side: str) -> str:
    """The side's rows as compared: key columns ``K0..``, compared columns ``C0..`` (normalised text)."""
    keys = pair.legacy_key if side == "legacy" else pair.key
    parts = [f"{name} AS K{i}" for i, name in enumerate(keys)]
    for i, column in enumerate(pair.columns):
        value = column.legacy if side == "legacy" else column.new
        if column.kind == "text" and pair.trim:
            value = f"TRIM({value})"
        if column.kind == "text" and pair.ignore_case:
            value = f"UPPER({value})"
        parts.append(f"{value} AS C{i}")
    relation, where = (pair.legacy, pair.legacy_filter) if side == "legacy" else (pair.new, pair.new_filter)
    return f"SELECT {', '.join(parts)} FROM {relation}" + (f" WHERE {where}" if where else "")


def _render(sql: str, dialect: Dialect) -> str:
    return _bound(sqlglot.transpile(sql, read=Dialect.DUCKDB.value, write=dialect.value)[0])


def fingerprint_sql(pair: Pair, dialect: Dialect) -> str:
    """Rows and content hash of each side (``SIDE``, ``N``, ``H``), in one statement."""
    names = ", ".join([*(f"K{i}" for i in range(len(pair.key))), *(f"C{i}" for i in range(len(pair.columns)))])
    sides = [f"SELECT '{side}' AS SIDE, COUNT(*) AS N, {dialect.rows_digest(names)} AS H "
             f"FROM ({_projection(pair, side)}) t" for side in ("legacy", "new")]
    return _bound(" UNION ALL ".join(sides))


def _joined(pair: Pair) -> str:
    """The FULL OUTER JOIN of the two projections, one row per key and side: ``DUP_L`` / ``DUP_N`` say how many
    rows share it (the values of a duplicated key are not compared: its rows are counted as duplicates)."""
    keys = [f"K{i}" for i in range(len(pair.key))]
    group = ", ".join(keys)

    def side(letter: str, alias: str) -> str:
        values = ", ".join(f"ANY_VALUE(C{i}) AS {letter}{i}" for i in range(len(pair.columns)))
        projection = _projection(pair, "legacy" if letter == "L" else "new")
        return (f"SELECT {group}, {values + ', ' if values else ''}COUNT(*) AS DUP_{letter} "
                f"FROM ({projection}) {alias} GROUP BY {group}")

    on = " AND ".join(f"l.{k} = n.{k}" for k in keys)
    both = [f"l.{k} AS LK{i}" for i, k in enumerate(keys)] + [f"n.{k} AS NK{i}" for i, k in enumerate(keys)]
    values = [f"l.L{i}, n.N{i}" for i in range(len(pair.columns))]
    return (f"WITH l AS ({side('L', 'a')}), n AS ({side('N', 'b')}), "
            f"j AS (SELECT {', '.join([*both, *values])}, CASE WHEN l.DUP_L IS NULL THEN NULL ELSE 1 END AS IN_L, "
            f"CASE WHEN n.DUP_N IS NULL THEN NULL ELSE 1 END AS IN_N, l.DUP_L, n.DUP_N "
            f"FROM l FULL OUTER JOIN n ON {on})")


#: ``D{i}``: how column ``i`` of a row differs — only rows whose key both sides hold once are compared.
_CODES = {"value": 1, "null": 2, "tolerated": 3}


def _classified(pair: Pair) -> str:
    """``d``: the joined rows, with ``M`` (1: a key both sides hold once) and per column ``D{i}`` (0 equal,
    1 value vs value, 2 null vs value, 3 numbers within tolerance), each computed once per row."""
    flags = ["CASE WHEN DUP_L = 1 AND DUP_N = 1 THEN 1 ELSE 0 END AS M"]
    for i, column in enumerate(pair.columns):
        left, right = f"L{i}", f"N{i}"
        tolerated = ""
        if column.kind == "number" and (pair.absolute or pair.relative):
            tolerated = (f"WHEN ABS({left} - {right}) <= {float(pair.absolute)!r} "
                         f"OR ABS({left} - {right}) <= {float(pair.relative)!r} * ABS({left}) THEN 3 ")
        # COALESCE: a key one side lacks has a NULL count there, and NOT (NULL) would not be true
        flags.append(f"CASE WHEN COALESCE(DUP_L, 0) <> 1 OR COALESCE(DUP_N, 0) <> 1 "
                     f"OR {left} IS NOT DISTINCT FROM {right} THEN 0 "
                     f"WHEN {left} IS NULL OR {right} IS NULL THEN 2 {tolerated}ELSE 1 END AS D{i}")
    return f"{_joined(pair)}, d AS (SELECT j.*, {', '.join(flags)} FROM j)"


def compare_sql(pair: Pair, dialect: Dialect) -> str:
    """One row: ONLY_LEGACY, ONLY_NEW, DUP_ROWS_LEGACY, DUP_ROWS_NEW, MATCHED, DIFFERING, then per column ``i``
    ``V{i}`` (value vs value), ``Z{i}`` (null vs value), ``T{i}`` (within tolerance)."""
    counts = ["SUM(CASE WHEN IN_N IS NULL THEN DUP_L ELSE 0 END) AS ONLY_LEGACY",
              "SUM(CASE WHEN IN_L IS NULL THEN DUP_N ELSE 0 END) AS ONLY_NEW",
              "SUM(CASE WHEN DUP_L > 1 THEN DUP_L ELSE 0 END) AS DUP_ROWS_LEGACY",
              "SUM(CASE WHEN DUP_N > 1 THEN DUP_N ELSE 0 END) AS DUP_ROWS_NEW", "SUM(M) AS MATCHED"]
    differs = " OR ".join(f"D{i} IN (1, 2)" for i in range(len(pair.columns))) or "1 = 0"
    counts.append(f"SUM(CASE WHEN {differs} THEN 1 ELSE 0 END) AS DIFFERING")
    for i in range(len(pair.columns)):
        counts += [f"SUM(CASE WHEN D{i} = {code} THEN 1 ELSE 0 END) AS {letter}{i}"
                   for letter, code in zip("VZT", _CODES.values(), strict=True)]
    return _render(f"{_classified(pair)} SELECT {', '.join(counts)} FROM d", dialect)


def samples_sql(pair: Pair, dialect: Dialect, wanted: list[tuple[str, int | None]], limit: int) -> str:
    """Up to ``limit`` rows per (kind, column index) in ``wanted``: KIND, COL, the key (as text, both
    sides'), LEGACY_VALUE, NEW_VALUE. Kinds ``only_legacy`` / ``only_new`` / ``duplicate`` take no column."""
    def text(expression: str) -> str:
        return f"CAST({expression} AS VARCHAR)"

    def key_text(prefix: str) -> str:
        return " || '|' || ".join(f"COALESCE({text(f'{prefix}{i}')}, '')" for i in range(len(pair.key)))

    branches = []
    for kind, i in wanted:
        legacy, new = ("NULL", "NULL") if i is None else (text(f"L{i}"), text(f"N{i}"))
        where = {"only_legacy": "IN_N IS NULL", "only_new": "IN_L IS NULL",
                 "duplicate": "(DUP_L > 1 OR DUP_N > 1)"}.get(kind) or f"D{i} = {_CODES[kind]}"
        key = f"CASE WHEN IN_L = 1 THEN {key_text('LK')} ELSE {key_text('NK')} END"
        branches.append(f"SELECT * FROM (SELECT '{kind}' AS KIND, {-1 if i is None else i} AS COL, {key} AS KEY_TEXT, "
                        f"{legacy} AS LEGACY_VALUE, {new} AS NEW_VALUE FROM d WHERE {where} LIMIT {int(limit)}) "
                        f"s{len(branches)}")
    return _render(f"{_classified(pair)} {' UNION ALL '.join(branches)}", dialect)
