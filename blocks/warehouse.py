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
Register the block type with ``prefect block register -m blocks.warehouse``. A run that names no block
uses :class:`blocks.local_warehouse.LocalWarehouse` and never imports this module (nor Snowflake's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from prefect.blocks.core import Block
from prefect_snowflake import SnowflakeConnector
from pydantic import Field, field_validator

from blocks.local_warehouse import LocalWarehouse
from dcf.profiling.source import SnowflakeSource
from dcf.store.connection import Connection
from dcf.store.dialect import Dialect, Namespace
from dcf.stream.yaml_source import find_secret_key

#: The non-secret connect arguments dbt-snowflake's profile also takes, so that dbt reaches the same endpoint.
_PROFILE_CONNECT_ARGS = ("host", "port", "protocol")


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

    @field_validator("snowflake_connect_args")
    @classmethod
    def _no_secrets_in_clear(cls, value: dict[str, Any]) -> dict[str, Any]:
        secret = find_secret_key(value)
        if secret:
            raise ValueError(f"snowflake_connect_args.{secret}: secrets do not belong in clear text here; they go "
                             "in the SnowflakeCredentials block the connector names")
        return value

    @property
    def dialect(self) -> Dialect:
        return Dialect(self.kind)

    @property
    def namespace(self) -> Namespace:
        return Namespace(self.control_schema, self.control_database)

    def _local(self) -> LocalWarehouse:
        """The DuckDB kind's behaviour, shared with the block-less default."""
        return LocalWarehouse(self.duckdb_path, self.control_schema, self.lock_wait_seconds)

    @property
    def database_path(self) -> Path:
        """The DuckDB file (local kind only)."""
        return self._local().database_path

    # The DuckDB kind answers as LocalWarehouse does; below, each method's own body is Snowflake's.
    @property
    def single_writer(self) -> bool:
        """One process at a time may open the store (a DuckDB file): runs that write it queue for it."""
        return self._local().single_writer if self.kind == "duckdb" else False

    @property
    def local_file(self) -> Path | None:
        """The DuckDB file a person can open locally; None on Snowflake."""
        return self._local().local_file if self.kind == "duckdb" else None

    def exists(self) -> bool:
        """Whether the store is there at all (a DuckDB file is created by the first write)."""
        return self._local().exists() if self.kind == "duckdb" else True

    def describe(self) -> str:
        """A short name for reports: the DuckDB file's name, or ``snowflake``."""
        return self._local().describe() if self.kind == "duckdb" else self.kind

    def location(self) -> str:
        """Where the control tables are: the DuckDB file, or the Snowflake control database."""
        return self._local().location() if self.kind == "duckdb" else str(self.control_database)

    @property
    def dbt_target(self) -> str:
        """The target of the shipped dbt projects that writes to this warehouse (``local`` or ``snowflake``)."""
        return self._local().dbt_target if self.kind == "duckdb" else "snowflake"

    def dbt_env(self) -> dict[str, str]:
        """The environment dbt's profile reads while it runs: the DuckDB path, or Snowflake's secrets."""
        if self.kind == "duckdb":
            return self._local().dbt_env()
        from blocks.snowflake_env import snowflake_env

        return snowflake_env(self)

    def dbt_profile_output(self, threads: int | None = None) -> dict[str, Any]:
        """The dbt profile target that writes to this warehouse (a stream that names no profiles dir uses it).

        Snowflake's secrets stay out of the file: it reads them from the variables :meth:`dbt_env` sets.
        """
        if self.kind == "duckdb":
            return self._local().dbt_profile_output(threads)
        output = {"type": "snowflake", "threads": threads or 8, "client_session_keep_alive": False}
        for key, variable in (("account", "SNOWFLAKE_ACCOUNT"), ("user", "SNOWFLAKE_USER"), ("role", "SNOWFLAKE_ROLE"),
                              ("warehouse", "SNOWFLAKE_WAREHOUSE"), ("database", "SNOWFLAKE_DATABASE"),
                              ("schema", "SNOWFLAKE_SCHEMA")):
            output[key] = f"{{{{ env_var('{variable}', '') }}}}"
        for key in _PROFILE_CONNECT_ARGS:  # where the account is reached (a private link, a proxy): not secret
            if key in self.snowflake_connect_args:
                output[key] = self.snowflake_connect_args[key]
        if self._connector().credentials.password is not None:
            output["password"] = "{{ env_var('SNOWFLAKE_PASSWORD') }}"
        else:
            output["private_key_path"] = "{{ env_var('SNOWFLAKE_PRIVATE_KEY_PATH', '') }}"
            output["private_key_passphrase"] = "{{ env_var('SNOWFLAKE_PRIVATE_KEY_PASSPHRASE', '') }}"
        return output

    def dbt_destination_problem(self, credentials: Any) -> str | None:
        """Why dbt credentials would write somewhere other than this warehouse; None when they write here."""
        if self.kind == "duckdb":
            return self._local().dbt_destination_problem(credentials)
        kind = getattr(credentials, "type", None)
        if kind != self.kind:
            return f"its target is a {kind} connection, the stream's warehouse is {self.kind}"
        database = str(getattr(credentials, "database", "") or "").upper()
        expected = str(self._connector().database or "").upper()
        if expected and database != expected:
            return f"its target writes to database {database}, the stream's warehouse is {expected}"
        return None

    def profiling_source(self) -> SnowflakeSource | None:
        """GE's Snowflake connection details; None for DuckDB (GE reads the control connection's database)."""
        if self.kind == "duckdb":
            return self._local().profiling_source()
        connector = self._connector()
        credentials = connector.credentials
        return SnowflakeSource(
            account=credentials.account,
            user=credentials.user or "",
            password=credentials.password.get_secret_value() if credentials.password else None,
            private_key=credentials.resolve_private_key(),
            warehouse=connector.warehouse,
            role=credentials.role,
            connect_args=dict(self.snowflake_connect_args),
        )

    def _connector(self) -> SnowflakeConnector:
        if self.snowflake_connector is None:
            raise ValueError("a snowflake DcfWarehouse needs snowflake_connector")
        return self.snowflake_connector

    def connect(self) -> Connection:
        """A new connection; close it (or use ``with``) when done."""
        if self.kind == "duckdb":
            return self._local().connect()
        connector = self._connector()
        # A fresh connection each time: the connector block caches one, which threads must not share.
        # Autocommit on, whatever the credentials block says (a loaded block passes its None through): every
        # DCF write commits by itself unless it is inside an explicit transaction (Connection.transaction).
        raw = connector.credentials.get_client(
            database=connector.database,
            warehouse=connector.warehouse,
            schema=connector.schema_,
            **{**self.snowflake_connect_args, "autocommit": True},
        )
        return Connection(raw, Dialect.SNOWFLAKE, self.namespace)

