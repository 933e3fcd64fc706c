"""The warehouse the control tables live in: a local DuckDB file, or Snowflake via prefect-snowflake.

Local default (no block needed)::

    from blocks.warehouse import load_warehouse
    with load_warehouse().connect() as conn:
        conn.fetchall("SELECT COUNT(*) FROM DCF.DCF_T_PRCS_INST")

Production: create a ``SnowflakeConnector`` block (credentials as SecretStr inside prefect-snowflake's
``SnowflakeCredentials``), then a ``DcfWarehouse`` block that points at it::

    DcfWarehouse(
        kind="snowflake",
        snowflake_connector=SnowflakeConnector.load("gdw-snowflake"),
        control_database="DEV_PROVIDERPDM",
        control_schema="PROVIDERPDM_CORE_TARGET",
    ).save("dcf-warehouse")

and name it in the stream YAML (``warehouse_block: dcf-warehouse``) or in ``DCF_WAREHOUSE_BLOCK``.
Register the block type with ``prefect block register -m blocks.warehouse``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from prefect.blocks.core import Block
from prefect_snowflake import SnowflakeConnector
from pydantic import Field

from dcf.paths import warehouse_path
from dcf.store.connection import Connection, open_duckdb
from dcf.store.dialect import Dialect, Namespace


class DcfWarehouse(Block):
    """Where DCF control tables (and, locally, the warehouse itself) live."""

    _block_type_name = "DCF Warehouse"
    _block_type_slug = "dcf-warehouse"
    _description = "DCF control-table warehouse: a local DuckDB file or Snowflake (via a SnowflakeConnector)."
    _code_example = (
        'from blocks.warehouse import DcfWarehouse\nwith DcfWarehouse.load("dcf-warehouse").connect() as conn: ...'
    )

    kind: Literal["duckdb", "snowflake"] = Field("duckdb", description="duckdb (local default) or snowflake")
    duckdb_path: str | None = Field(None, description="DuckDB file; default $DCF_HOME/warehouse.duckdb")
    snowflake_connector: SnowflakeConnector | None = Field(
        None, description="prefect-snowflake connector block holding the credentials"
    )
    snowflake_connect_args: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra non-secret snowflake.connector.connect arguments (host, port, session_parameters)",
    )
    control_database: str | None = Field(None, description="Database of the control tables (Snowflake)")
    control_schema: str = Field("DCF", description="Schema of the control tables")
    lock_wait_seconds: float = Field(60.0, description="DuckDB: how long to wait for another process's lock")

    @property
    def dialect(self) -> Dialect:
        return Dialect(self.kind)

    @property
    def namespace(self) -> Namespace:
        return Namespace(self.control_schema, self.control_database)

    @property
    def database_path(self) -> Path:
        """The DuckDB file (local kind only)."""
        return Path(self.duckdb_path) if self.duckdb_path else warehouse_path()

    def connect(self) -> Connection:
        """A new connection; close it (or use ``with``) when done."""
        if self.kind == "duckdb":
            return open_duckdb(self.database_path, self.namespace, wait_seconds=self.lock_wait_seconds)
        if self.snowflake_connector is None:
            raise ValueError("a snowflake DcfWarehouse needs snowflake_connector")
        # A fresh connection each time: the connector block caches one, which threads must not share.
        raw = self.snowflake_connector.credentials.get_client(
            database=self.snowflake_connector.database,
            warehouse=self.snowflake_connector.warehouse,
            schema=self.snowflake_connector.schema_,
            **self.snowflake_connect_args,
        )
        return Connection(raw, Dialect.SNOWFLAKE, self.namespace)


def load_warehouse(block_name: str | None = None) -> DcfWarehouse:
    """The named block, else the block named in ``DCF_WAREHOUSE_BLOCK``, else the local DuckDB default."""
    name = block_name or os.environ.get("DCF_WAREHOUSE_BLOCK")
    if name:
        return DcfWarehouse.load(name)
    return DcfWarehouse(kind="duckdb")
