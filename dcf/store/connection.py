"""One small connection API over DuckDB and Snowflake DB-API connections.

Everything that talks to the control store goes through :class:`Connection`: bound parameters
(``:name`` in the SQL text), batched MERGE, transactions, and the dialect, so callers never branch on
the database.

>>> from dcf.store.connection import open_duckdb
>>> from dcf.store.dialect import Namespace
>>> with open_duckdb(":memory:", Namespace("DCF")) as conn:
...     conn.fetchall("SELECT :x + 1", {"x": 41})
[(42,)]
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from dcf.errors import WarehouseBusyError
from dcf.store.dialect import Dialect, Namespace, referenced_params, render_insert, render_merge, render_params
from dcf.store.table import Table

#: Rows per MERGE statement: large enough that a 200-model build needs a handful of statements,
#: small enough to stay far below Snowflake's statement-size limit.
MERGE_CHUNK_ROWS = 500


class Connection:
    """A DB-API connection plus its dialect and the namespace of the control tables.

    Thread-safe: calls are serialised with a lock (DuckDB connections must not be shared between
    threads unsynchronised; Snowflake's are safe but one writer per table is what we want anyway).
    """

    def __init__(
        self,
        raw: Any,
        dialect: Dialect,
        namespace: Namespace,
        *,
        close_raw: bool = True,
        transaction_lock: threading.RLock | None = None,
    ) -> None:
        self.raw = raw
        self.dialect = dialect
        self.namespace = namespace
        self._close_raw = close_raw
        self._lock = threading.RLock()
        # Held for the whole of a transaction, and for each statement: see open_duckdb and _statement_lock.
        self._transaction_lock = transaction_lock or threading.RLock()
        #: How many statements this connection sent: benchmarks report it.
        self.statements = 0

    # -- plain statements -------------------------------------------------------------------------
    @contextmanager
    def _statement_lock(self) -> Iterator[None]:
        """Every statement holds the per-file lock too: DuckDB fails one of two concurrent autocommit updates
        of the same row ("Conflict on update") where activities on threads write their rows at once."""
        with self._transaction_lock, self._lock:
            yield

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        with self._statement_lock():
            self._run(sql, params).close()

    def fetchall(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        with self._statement_lock():
            cursor = self._run(sql, params)
            try:
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()

    def fetchone(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        row = self.fetchone(sql, params)
        return row[0] if row else None

    def fetch_dicts(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._statement_lock():
            cursor = self._run(sql, params)
            try:
                names = [d[0].upper() for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            finally:
                cursor.close()

    def rows_where(self, table: Table, **equals: Any) -> list[dict[str, Any]]:
        """Rows of ``table`` whose columns equal the given values, e.g. ``conn.rows_where(PROFILE_RUNS, RUN_ID=rid)``.

        Column names are checked against the table's definition; values are bound. JSON / VARIANT columns
        come back decoded (dicts and lists, not text), whichever the driver.
        """
        for name in equals:
            table.column(name)
        where = " AND ".join(f"{name} = :{name.lower()}" for name in equals) or "1 = 1"
        params = {name.lower(): value for name, value in equals.items()}
        rows = self.fetch_dicts(f"SELECT * FROM {self.qualify(table.name)} WHERE {where}", params)
        json_columns = [column.name for column in table.columns if column.type == "json"]
        for row in rows:
            for name in json_columns:
                if isinstance(row.get(name), str):
                    row[name] = json.loads(row[name])
        return rows

    def row_by_key(self, table: Table, **key: Any) -> dict[str, Any] | None:
        """The one row of ``table`` with this key, or None: ``conn.row_by_key(DCF_T_PRCS_INST, PRCS_INST_ID=7)``."""
        rows = self.rows_where(table, **key)
        return rows[0] if rows else None

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        with self._statement_lock():
            cursor = self._cursor()
            try:
                names = referenced_params(sql)
                cursor.executemany(render_params(sql, self.dialect), [_bindable(r, names) for r in rows])
                self.statements += 1
            finally:
                cursor.close()

    # -- batched upsert ----------------------------------------------------------------------------
    def merge(
        self,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        *,
        key: Sequence[str] | None = None,
        update: Sequence[str] | None = None,
        keep_existing: Sequence[str] = (),
        matched_condition: str | None = None,
    ) -> int:
        """Upsert ``rows`` (dicts keyed by column name) into ``table``; returns statements sent.

        Rows with the same key are collapsed to the last one (Snowflake rejects a MERGE whose source
        has duplicate keys). Every row must carry the same columns.
        """
        if not rows:
            return 0
        key = tuple(key or table.key)
        latest: dict[tuple, Mapping[str, Any]] = {}
        for row in rows:
            latest[tuple(row[k] for k in key)] = row
        unique_rows = list(latest.values())
        columns = list(unique_rows[0].keys())
        sent = 0
        for start in range(0, len(unique_rows), MERGE_CHUNK_ROWS):
            chunk = unique_rows[start : start + MERGE_CHUNK_ROWS]
            sql = render_merge(
                self.namespace.qualify(table.name),
                table.types(columns),
                key,
                len(chunk),
                self.dialect,
                update=update,
                keep_existing=keep_existing,
                matched_condition=matched_condition,
            )
            params = {f"{col.lower()}_{i}": row[col] for i, row in enumerate(chunk) for col in columns}
            self.execute(sql, params)
            sent += 1
        return sent

    def insert(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows that cannot exist yet (every row must carry the same columns)."""
        if not rows:
            return
        columns = list(rows[0].keys())
        sql = render_insert(self.namespace.qualify(table.name), table.types(columns), len(rows), self.dialect)
        self.execute(sql, {f"{col.lower()}_{i}": row[col] for i, row in enumerate(rows) for col in columns})

    # -- transactions ------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Run a block atomically: committed on success, rolled back on any exception."""
        with self._transaction_lock, self._lock:
            self._run(self.dialect.begin()).close()
            try:
                yield self
            except BaseException:
                self._run("ROLLBACK").close()
                raise
            self._run("COMMIT").close()

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        if self._close_raw:
            self.raw.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def qualify(self, name: str) -> str:
        """``name`` qualified with the control namespace."""
        return self.namespace.qualify(name)

    def _cursor(self) -> Any:
        # DuckDB's cursor() is a *new connection* to the same database: a transaction begun on one
        # would not be seen by the next. Statements go through the connection itself (calls are
        # serialised by the lock); Snowflake cursors share their session, so a cursor per call is right.
        return _DuckDBStatement(self.raw) if self.dialect is Dialect.DUCKDB else self.raw.cursor()

    def _run(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        cursor = self._cursor()
        try:
            if params:
                cursor.execute(render_params(sql, self.dialect), _bindable(params, referenced_params(sql)))
            else:
                cursor.execute(sql)
        except BaseException:
            cursor.close()
            raise
        self.statements += 1
        return cursor


class _DuckDBStatement:
    """Cursor-shaped view of a DuckDB connection whose close() leaves the connection open."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def execute(self, sql: str, params: Any = None) -> None:
        self._raw.execute(sql, params) if params is not None else self._raw.execute(sql)

    def executemany(self, sql: str, rows: Any) -> None:
        self._raw.executemany(sql, rows)

    def fetchall(self) -> list[tuple]:
        return self._raw.fetchall()

    @property
    def description(self) -> Any:
        return self._raw.description

    def close(self) -> None:
        pass


def _bindable(params: Mapping[str, Any], names: set[str]) -> dict[str, Any]:
    """The parameters the statement uses (DuckDB rejects extra ones); dicts and lists become JSON text."""
    return {k: _to_param(v) for k, v in params.items() if k in names}


def _to_param(value: Any) -> Any:
    if isinstance(value, Enum):  # the status vocabularies: drivers bind plain values only
        return value.value
    if isinstance(value, dict | list):
        return json.dumps(value, default=_json_default, sort_keys=True)
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def open_duckdb(
    path: str | Path, namespace: Namespace, *, read_only: bool = False, wait_seconds: float = 60.0
) -> Connection:
    """Open the DuckDB file, waiting (bounded) while another process holds its lock.

    DuckDB lets one process at a time open a file; inside one process, connections to the same path
    share one instance and see each other's writes. So a held lock means another process (a second
    ``make run``, a notebook) is using the warehouse: we wait for it, then say so plainly.
    """
    import duckdb

    deadline = time.monotonic() + wait_seconds
    delay = 0.1
    while True:
        try:
            # Two threads opening the same file at once can both miss DuckDB's instance cache and fail with
            # "Unique file handle conflict"; opening is quick, so opens are serialised per process.
            with _OPEN_GUARD:
                raw = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusyError(
                    f"the local warehouse {path} is in use by another process (waited {wait_seconds:.0f}s): "
                    f"{str(error).splitlines()[0]}"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    return Connection(raw, Dialect.DUCKDB, namespace, transaction_lock=_file_lock(path))


# DuckDB reports a write-write conflict only against *uncommitted* work, and a transaction reads the
# snapshot taken at BEGIN: two check-then-insert transactions can both pass. Only one process can hold a
# DuckDB file, so serialising our transactions per file inside the process makes them race-free.
_FILE_LOCKS: dict[str, threading.RLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()
_OPEN_GUARD = threading.Lock()


def _file_lock(path: str | Path) -> threading.RLock:
    key = str(path) if str(path) == ":memory:" else str(Path(path).resolve())
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(key, threading.RLock())
