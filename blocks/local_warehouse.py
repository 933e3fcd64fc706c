"""The local default warehouse: one DuckDB file under DCF_HOME, with no block and no Snowflake import.

    from blocks.local_warehouse import LocalWarehouse
    with LocalWarehouse().connect() as conn: ...

:class:`Warehouse` is what the flow needs of any warehouse; a ``DcfWarehouse`` block is one too (its DuckDB kind
delegates here). :func:`blocks.default_warehouse.load_warehouse` says which one a run uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dcf.paths import warehouse_path
from dcf.profiling.source import SnowflakeSource
from dcf.store.connection import Connection, open_duckdb
from dcf.store.dialect import Dialect, Namespace


class Warehouse(Protocol):
    """What the flow needs of a warehouse: :class:`LocalWarehouse` and ``DcfWarehouse`` both are one."""

    kind: str

    @property
    def dialect(self) -> Dialect: ...
    @property
    def namespace(self) -> Namespace: ...
    @property
    def database_path(self) -> Path: ...
    @property
    def single_writer(self) -> bool: ...
    @property
    def local_file(self) -> Path | None: ...
    @property
    def dbt_target(self) -> str: ...
    def exists(self) -> bool: ...
    def describe(self) -> str: ...
    def location(self) -> str: ...
    def dbt_env(self) -> dict[str, str]: ...
    def dbt_profile_output(self, threads: int | None = None) -> dict[str, Any]: ...
    def dbt_destination_problem(self, credentials: Any) -> str | None: ...
    def profiling_source(self) -> SnowflakeSource | None: ...
    def connect(self) -> Connection: ...


@dataclass(frozen=True)
class LocalWarehouse:
    """A DuckDB file that holds the control tables and the warehouse itself (``$DCF_HOME/warehouse.duckdb``)."""

    duckdb_path: str | None = None
    control_schema: str = "DCF"
    #: How long to wait for another process's lock on the file.
    lock_wait_seconds: float = 60.0
    kind: str = "duckdb"

    @property
    def dialect(self) -> Dialect:
        return Dialect.DUCKDB

    @property
    def namespace(self) -> Namespace:
        return Namespace(self.control_schema, None)

    @property
    def database_path(self) -> Path:
        return Path(self.duckdb_path) if self.duckdb_path else warehouse_path()

    @property
    def single_writer(self) -> bool:
        """One process at a time may open a DuckDB file: runs that write it queue for it."""
        return True

    @property
    def local_file(self) -> Path | None:
        return self.database_path

    @property
    def dbt_target(self) -> str:
        """The target of the shipped dbt projects that writes here."""
        return "local"

    def exists(self) -> bool:
        """Whether the file is there (the first write creates it)."""
        return self.database_path.exists()

    def describe(self) -> str:
        return self.database_path.name

    def location(self) -> str:
        return str(self.database_path)

    def dbt_env(self) -> dict[str, str]:
        """What dbt's profile reads while it runs."""
        return {"DCF_WAREHOUSE_PATH": str(self.database_path)}

    def dbt_profile_output(self, threads: int | None = None) -> dict[str, Any]:
        """The dbt profile target that writes to this file (a stream that names no profiles dir uses it)."""
        return {"type": "duckdb", "path": str(self.database_path), "schema": "main", "threads": threads or 4}

    def dbt_destination_problem(self, credentials: Any) -> str | None:
        """Why dbt credentials would write somewhere other than this file; None when they write here."""
        kind = getattr(credentials, "type", None)
        if kind != self.kind:
            return f"its target is a {kind} connection, the stream's warehouse is {self.kind}"
        path = Path(str(getattr(credentials, "path", "")))
        if path.resolve() != self.database_path.resolve():
            return f"its target writes to {path}, the stream's warehouse is {self.database_path}"
        return None

    def profiling_source(self) -> SnowflakeSource | None:
        """None: GE reads the control connection's database."""
        return None

    def connect(self) -> Connection:
        """A new connection; close it (or use ``with``) when done."""
        return open_duckdb(self.database_path, self.namespace, wait_seconds=self.lock_wait_seconds)
