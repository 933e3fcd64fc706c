"""SQL written once, rendered per dialect.

Statements in this project are written with named parameters (``:name``) and logical column types.
This module turns them into what each driver expects:

* DuckDB: ``$name`` parameters (bound by DuckDB), ``JSON``, ``TIMESTAMP``.
* Snowflake: ``%(name)s`` parameters (bound by snowflake-connector), ``VARIANT``, ``TIMESTAMP_NTZ``.

Identifiers never come from parameters; the ones that come from configuration (database, schema,
relation names) are checked by :func:`identifier` before they are put into a statement.

>>> render_params("SELECT * FROM T WHERE A = :a AND V:k::int = 1", Dialect.DUCKDB)
'SELECT * FROM T WHERE A = $a AND V:k::int = 1'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from dcf.errors import ConfigError


class Dialect(StrEnum):
    """A database the control store runs on. Statements that differ by dialect are rendered by its methods."""

    DUCKDB = "duckdb"
    SNOWFLAKE = "snowflake"

    def nextval(self, sequence: str) -> str:
        """``SELECT`` of a sequence's next value (``sequence`` already qualified)."""
        return f"SELECT {sequence}.NEXTVAL" if self is Dialect.SNOWFLAKE else f"SELECT nextval('{sequence}')"

    def begin(self) -> str:
        return "BEGIN TRANSACTION" if self is Dialect.DUCKDB else "BEGIN"

    def is_write_conflict(self, error: BaseException) -> bool:
        """The transaction lost a race for a row another one was writing: it may be run again.

        DuckDB ends the second writer with "Conflict on update"; fakesnow's server answers that same DuckDB
        error with HTTP 500. Snowflake itself makes the second UPDATE wait for the first's COMMIT instead;
        a 5xx from it is transient too (the connector has already retried it).
        """
        text = str(error).lower()
        if "conflict on" in text or "transactioncontext" in text:
            return True
        return self is Dialect.SNOWFLAKE and ("290500" in text or "internal server error" in text)

    # -- what the engine can do: the core asks these instead of asking which engine it is -------------------
    @property
    def embedded(self) -> bool:
        """The database runs in this process (DuckDB): its own connection reads the warehouse tables."""
        return self is Dialect.DUCKDB

    @property
    def reads_local_files(self) -> bool:
        """The engine loads a local CSV itself (DuckDB's ``read_csv``), instead of rows sent one batch at a time."""
        return self is Dialect.DUCKDB

    @property
    def has_session_context(self) -> bool:
        """Sessions have a current warehouse and role (Snowflake)."""
        return self is Dialect.SNOWFLAKE

    @property
    def catalog_spans_databases(self) -> bool:
        """One INFORMATION_SCHEMA covers every attached database (DuckDB); Snowflake has one per database."""
        return self is Dialect.DUCKDB

    @property
    def merge_in_transaction(self) -> bool:
        """A MERGE may run inside BEGIN ... COMMIT (fakesnow's Snowflake cannot; each MERGE is atomic anyway)."""
        return self is Dialect.DUCKDB

    def information_schema(self, database: str | None = None) -> str:
        """The INFORMATION_SCHEMA that lists ``database``'s tables (``database`` an already validated name)."""
        if database and not self.catalog_spans_databases:
            return f'"{database}".INFORMATION_SCHEMA'
        return "INFORMATION_SCHEMA"

    def table_fingerprint(self) -> str:
        """The select list of a cheap content fingerprint of table ``t``: rows N, hash H, row type S."""
        if self is Dialect.SNOWFLAKE:
            return "COUNT(*) AS N, TO_VARCHAR(HASH_AGG(*)) AS H, NULL AS S"
        return "COUNT(*) AS N, CAST(SUM(HASH(t)::HUGEINT) AS VARCHAR) AS H, ANY_VALUE(TYPEOF(t)) AS S"

    @property
    def regexp_replace_needs_global_flag(self) -> bool:
        """REGEXP_REPLACE replaces only the first match unless given ``'g'`` (DuckDB); Snowflake replaces all
        (and reads a fourth argument as a position)."""
        return self is Dialect.DUCKDB

    @property
    def files_by_path(self) -> bool:
        """A query reads and writes a file by its path (DuckDB's ``read_csv``, ``COPY … TO``); Snowflake reads
        and writes files in a stage."""
        return self is Dialect.DUCKDB

    def rows_digest(self, columns: str) -> str:
        """An order-independent hash of ``columns`` over all rows, as text. Snowflake's HASH is 64-bit signed (its
        SUM fits NUMBER(38), and fakesnow has no HASH_AGG of columns); DuckDB's is unsigned: summed as HUGEINT."""
        if self is Dialect.SNOWFLAKE:
            return f"TO_VARCHAR(SUM(HASH({columns})))"
        return f"CAST(SUM(HASH({columns})::HUGEINT) AS VARCHAR)"

    def sample_table(self, target: str, source: str, percent: str, seed: int | None) -> str:
        """CREATE TABLE ``target`` AS a Bernoulli sample of ``source`` (Snowflake: transient, no fail-safe).

        Sample clauses take no bind parameters: ``percent`` and ``seed`` must be validated numbers.
        """
        if self is Dialect.SNOWFLAKE:
            clause = f"SAMPLE BERNOULLI ({percent})" + (f" SEED ({seed})" if seed is not None else "")
            return f"CREATE TRANSIENT TABLE {target} AS SELECT * FROM {source} {clause}"
        clause = f"TABLESAMPLE BERNOULLI({percent} PERCENT)" + (f" REPEATABLE ({seed})" if seed is not None else "")
        return f"CREATE TABLE {target} AS SELECT * FROM {source} {clause}"

    def session_variables(self) -> re.Pattern[str]:
        """How the shipped queries name a session variable: ``$job_id`` / ``getvariable('job_id')``."""
        return _GETVARIABLE if self is Dialect.DUCKDB else _SESSION_VAR


_SESSION_VAR = re.compile(r"\$([A-Za-z_]\w*)")
_GETVARIABLE = re.compile(r"getvariable\('([A-Za-z_]\w*)'\)")


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,254}$")
# A named parameter is ``:name`` not preceded by another colon (``::int`` casts) or a word character
# (Snowflake's ``V:key`` JSON paths).
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def identifier(name: str, *, what: str = "identifier") -> str:
    """Return ``name`` upper-cased if it is a plain SQL identifier, else raise :class:`ConfigError`.

    Plain identifiers need no quoting and mean the same on DuckDB and Snowflake.
    """
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ConfigError(f"{what} {name!r} is not a plain SQL identifier (letters, digits, _ and $)")
    return name.upper()


def relation_name(dotted: str, *, what: str = "relation") -> str:
    """Validate a ``[database.]schema.table`` name from config and return it upper-cased."""
    parts = dotted.split(".") if isinstance(dotted, str) else []
    if not 1 <= len(parts) <= 3:
        raise ConfigError(f"{what} {dotted!r} must look like [database.]schema.table")
    return ".".join(identifier(part, what=what) for part in parts)


def referenced_params(sql: str) -> set[str]:
    """The ``:name`` parameters a statement uses."""
    return set(_PARAM.findall(sql))


def render_params(sql: str, dialect: Dialect) -> str:
    """Rewrite ``:name`` parameters into the driver's own style."""
    if dialect is Dialect.DUCKDB:
        return _PARAM.sub(r"$\1", sql)
    # pyformat: a literal % must be doubled once parameters are in play.
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


@dataclass(frozen=True)
class Namespace:
    """Where the control tables live: an optional database (catalog) and a schema."""

    schema: str
    database: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "schema", identifier(self.schema, what="schema"))
        if self.database is not None:
            object.__setattr__(self, "database", identifier(self.database, what="database"))

    def qualify(self, name: str) -> str:
        prefix = f"{self.database}.{self.schema}" if self.database else self.schema
        return f"{prefix}.{identifier(name)}"


# Logical column types and their rendering. ``string`` takes an optional length: string(500).
_TYPES: dict[str, dict[Dialect, str]] = {
    "string": {Dialect.DUCKDB: "VARCHAR", Dialect.SNOWFLAKE: "VARCHAR"},
    "bigint": {Dialect.DUCKDB: "BIGINT", Dialect.SNOWFLAKE: "NUMBER(38,0)"},
    "float": {Dialect.DUCKDB: "DOUBLE", Dialect.SNOWFLAKE: "FLOAT"},
    "timestamp": {Dialect.DUCKDB: "TIMESTAMP", Dialect.SNOWFLAKE: "TIMESTAMP_NTZ(6)"},
    "date": {Dialect.DUCKDB: "DATE", Dialect.SNOWFLAKE: "DATE"},
    "json": {Dialect.DUCKDB: "JSON", Dialect.SNOWFLAKE: "VARIANT"},
    # Y/N indicators, as in the production table (EXECUTION_COMPLETED_IND, DELETED_IND).
    "flag": {Dialect.DUCKDB: "VARCHAR(1)", Dialect.SNOWFLAKE: "VARCHAR(1)"},
}
_SIZED = re.compile(r"^(string|decimal)\((\d+)(?:,(\d+))?\)$")


def render_type(logical: str, dialect: Dialect) -> str:
    """``string(500)`` -> ``VARCHAR(500)`` on Snowflake, ``VARCHAR`` on DuckDB; ``json`` -> VARIANT/JSON."""
    if logical in _TYPES:
        return _TYPES[logical][dialect]
    sized = _SIZED.match(logical)
    if sized and sized.group(1) == "string":
        return f"VARCHAR({sized.group(2)})" if dialect is Dialect.SNOWFLAKE else "VARCHAR"
    if sized and sized.group(1) == "decimal":
        precision, scale = sized.group(2), sized.group(3) or "0"
        return f"NUMBER({precision},{scale})" if dialect is Dialect.SNOWFLAKE else f"DECIMAL({precision},{scale})"
    raise ValueError(f"unknown logical type {logical!r}")


def sql_literal(text: str) -> str:
    """Quote a constant of our own (a column comment) as a SQL string literal. Never for user values."""
    return "'" + text.replace("'", "''") + "'"


def render_merge(
    target: str,
    column_types: Sequence[tuple[str, str]],
    key: Sequence[str],
    n_rows: int,
    dialect: Dialect,
    *,
    update: Sequence[str] | None = None,
    keep_existing: Sequence[str] = (),
    matched_condition: str | None = None,
) -> str:
    """A MERGE of ``n_rows`` parameter rows into ``target``; parameters are named ``<column>_<row>``.

    ``update`` lists the columns a matched row takes from the source (default: every non-key column);
    ``keep_existing`` columns take the source value only when it is not NULL; ``matched_condition``
    (written against aliases ``t`` and ``s``) limits which matched rows change at all — used to keep a
    finished row from being moved back by a late or re-delivered event.

    Snowflake rejects PARSE_JSON inside VALUES, so JSON is parsed in the SELECT over VALUES. The
    caller must have removed duplicate keys (Snowflake error 100090).
    """
    names = [name for name, _ in column_types]
    if update is None:
        update = [name for name in names if name not in key]
    source = _values_source(column_types, n_rows, dialect)
    on = " AND ".join(f"t.{k} = s.{k}" for k in key)
    sets = ", ".join(
        f"{name} = COALESCE(s.{name}, t.{name})" if name in keep_existing else f"{name} = s.{name}"
        for name in update
    )
    matched = f"WHEN MATCHED AND ({matched_condition}) THEN" if matched_condition else "WHEN MATCHED THEN"
    statement = f"MERGE INTO {target} AS t USING ({source}) AS s ON {on}"
    if sets:
        statement += f" {matched} UPDATE SET {sets}"
    return (
        f"{statement} WHEN NOT MATCHED THEN INSERT ({', '.join(names)}) "
        f"VALUES ({', '.join('s.' + name for name in names)})"
    )


def render_insert(target: str, column_types: Sequence[tuple[str, str]], n_rows: int, dialect: Dialect) -> str:
    """A plain INSERT of ``n_rows`` parameter rows (parameters named as in :func:`render_merge`).

    For rows that cannot exist yet (a key fresh from a sequence): no MERGE needed, and it works inside a
    transaction on fakesnow, which cannot run a MERGE in one.
    """
    names = ", ".join(name for name, _ in column_types)
    return f"INSERT INTO {target} ({names}) {_values_source(column_types, n_rows, dialect)}"


def _values_source(column_types: Sequence[tuple[str, str]], n_rows: int, dialect: Dialect) -> str:
    """``SELECT <typed columns> FROM VALUES (...)``: the row source of MERGE and INSERT statements."""
    names = [name for name, _ in column_types]
    placeholders = ", ".join(
        "(" + ", ".join(f":{name.lower()}_{row}" for name in names) + ")" for row in range(n_rows)
    )
    if dialect is Dialect.DUCKDB:
        source_cols = [f"c{i}" for i in range(1, len(names) + 1)]
        values = f"(VALUES {placeholders}) AS v({', '.join(source_cols)})"
    else:
        source_cols = [f"column{i}" for i in range(1, len(names) + 1)]
        values = f"VALUES {placeholders}"
    select = ", ".join(
        f"{_cast(col, logical, dialect)} AS {name}"
        for col, (name, logical) in zip(source_cols, column_types, strict=True)
    )
    return f"SELECT {select} FROM {values}"


def _cast(column: str, logical: str, dialect: Dialect) -> str:
    if logical == "json":
        return f"PARSE_JSON({column})" if dialect is Dialect.SNOWFLAKE else f"CAST({column} AS JSON)"
    return f"CAST({column} AS {render_type(logical, dialect)})"


# -- Snowflake JSON SQL rendered for DuckDB ---------------------------------------------------------------------
# Our spec queries are written once, for Snowflake (``col:path::type``, ``LATERAL FLATTEN``, ``$var``). sqlglot 30
# renders FLATTEN as an invalid ``, CROSS JOIN UNNEST(input => ...)`` and ``col:key::string`` as a JSON-quoted
# ``CAST(col -> '$.key' AS TEXT)``, so the few constructs the queries use are rendered here.
_DUCKDB_TYPES = {"string": "VARCHAR", "varchar": "VARCHAR", "int": "BIGINT", "integer": "BIGINT", "number": "BIGINT",
                 "float": "DOUBLE", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP"}
# m.STEP_EXECUTION_OBJ:model_name::string -- not "::type" itself, not "$var", not inside a quoted word.
_PATH = re.compile(r"(?<![\w:$'])((?:\w+\.)?\w+):([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:::(\w+))?")
_FLATTEN = re.compile(r"LATERAL FLATTEN\(input => (.+?)\) (\w+)")


def snowflake_json_sql_for_duckdb(sql: str) -> str:
    """DuckDB's rendering of a Snowflake statement that uses only JSON paths, FLATTEN and session variables."""

    def path(match: re.Match[str]) -> str:
        column, keys, cast = match.groups()
        json_path = "$." + keys
        if cast:
            return f"CAST({column}->>'{json_path}' AS {_DUCKDB_TYPES[cast.lower()]})"
        return f"{column}->'{json_path}'"

    body = _FLATTEN.sub(r"json_each(\1) AS \2", sql)
    body = _PATH.sub(path, body)
    body = _SESSION_VAR.sub(r"getvariable('\1')", body)
    return re.sub(r"-- Snowflake: (.*)", lambda m: "-- DuckDB: " + m.group(1).replace("SET ", "SET VARIABLE "), body)
