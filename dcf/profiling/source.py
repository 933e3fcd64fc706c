"""How Great Expectations reaches the warehouse: plain descriptions, turned into GE datasources by
:mod:`dcf.profiling.gx` only when a profile runs (importing GE takes seconds; describing a source does not).

* DuckDB (the local default): GE reads through a new connection to the *same* database instance as the
  control connection (DuckDB allows one process per file, so GE cannot open the file by path itself).
* Snowflake: GE's Snowflake datasource, from the credentials of the warehouse block. Warehouse and role
  are required by GE; when the block leaves them out, the session's current ones are used.

>>> SnowflakeSource(account="acme-xy123", user="svc", password="...", warehouse="WH", role="R")
SnowflakeSource(account='acme-xy123', user='svc', warehouse='WH', role='R')
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from dcf.errors import RefusedError
from dcf.store.connection import Connection


@dataclass(frozen=True)
class DuckDBSource:
    """GE over the DuckDB database that ``conn`` is connected to."""

    conn: Connection = field(repr=False)

    def new_raw_connection(self) -> Any:
        # DuckDB's cursor() is a new connection to the same database instance: committed writes of the
        # control connection (a materialised sample) are visible to it, and it can be closed on its own.
        return self.conn.raw.cursor()


@dataclass(frozen=True, repr=False)
class SnowflakeSource:
    """Connection details for GE's Snowflake datasource. Secrets stay out of ``repr``."""

    account: str
    user: str
    password: str | None = None
    #: DER-encoded private key (key-pair authentication), e.g. SnowflakeCredentials.resolve_private_key().
    private_key: bytes | None = None
    warehouse: str | None = None
    role: str | None = None
    #: Extra non-secret snowflake.connector.connect arguments (host, port, protocol, session_parameters).
    connect_args: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"SnowflakeSource(account={self.account!r}, user={self.user!r}, "
            f"warehouse={self.warehouse!r}, role={self.role!r})"
        )

    def completed(self, warehouse: str | None, role: str | None) -> SnowflakeSource:
        """This source with the session's warehouse and role filled in where the block named none."""
        done = replace(self, warehouse=self.warehouse or warehouse, role=self.role or role)
        if not done.warehouse or not done.role:
            raise RefusedError(
                "profiling on Snowflake needs a warehouse and a role (Great Expectations' Snowflake datasource "
                "requires both): set them on the SnowflakeConnector block"
            )
        if not done.password and not done.private_key:
            raise RefusedError("profiling on Snowflake needs a password or a private key in the Snowflake credentials")
        return done


Source = DuckDBSource | SnowflakeSource


def source_for(conn: Connection, source: Source | None) -> Source:
    """``source`` if given; for DuckDB the control connection's own database by default."""
    if source is not None:
        return source
    if conn.dialect.embedded:
        return DuckDBSource(conn)
    raise RefusedError("profiling on Snowflake needs a SnowflakeSource (built from the warehouse block)")


def session_names(conn: Connection) -> tuple[str | None, str | None]:
    """(warehouse, role) of the Snowflake session; (None, None) on DuckDB or where the function is missing."""
    if not conn.dialect.has_session_context:
        return None, None
    return _session_value(conn, "CURRENT_WAREHOUSE()"), _session_value(conn, "CURRENT_ROLE()")


def _session_value(conn: Connection, function: str) -> str | None:
    try:
        value = conn.scalar(f"SELECT {function}")
    except Exception:  # an emulator without the function (fakesnow): the spec's NULL, "not known"
        return None
    return str(value) if value else None
