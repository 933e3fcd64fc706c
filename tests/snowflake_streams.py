"""Helpers for streams on the Snowflake path against fakesnow's server: a database and its warehouse block, and
private copies of two streams (BCFINSG and the shop fixture) that build with that warehouse's own profile."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import yaml

from dcf.paths import PROJECT_ROOT
from tests.streams import BCFINSG, BCFINSG_YAML

SHOP = "SHOP_DAILY"


def save_warehouse_block(block_name: str, database: str, *, account: str, user: str, password: str,
                         connect_args: dict | None = None) -> None:
    """Credentials, connector and a DcfWarehouse block for ``database`` (fakesnow accepts any credentials).

    The control schema is the connector's too: fakesnow resolves a qualified sequence
    (DCF.DCF_S_PRCS_INST_ID.NEXTVAL) in the session's current schema, where Snowflake takes the name.
    """
    from prefect_snowflake import SnowflakeConnector, SnowflakeCredentials

    from blocks.warehouse import DcfWarehouse

    credentials = SnowflakeCredentials(account=account, user=user, password=password)
    connector = SnowflakeConnector(credentials=credentials, database=database, schema="DCF", warehouse="DCF_WH")
    DcfWarehouse(kind="snowflake", snowflake_connector=connector, snowflake_connect_args=connect_args or {},
                 control_database=database, control_schema="DCF").save(block_name, overwrite=True)


def control_store(database: str, **connect_args: Any):
    """A control-store connection to ``database`` (fakesnow in-process when patched, else ``connect_args``)."""
    import snowflake.connector

    from dcf.store.connection import Connection
    from dcf.store.dialect import Dialect, Namespace

    return Connection(snowflake.connector.connect(**connect_args, database=database, schema="DCF"),
                      Dialect.SNOWFLAKE, Namespace("DCF", database))


def fakesnow_warehouse(fakesnow_server: dict, block_name: str) -> str:
    """A fresh database on the session's fakesnow server and a DcfWarehouse block for it; returns the database."""
    import snowflake.connector

    database = f"DB_{uuid.uuid4().hex[:8].upper()}"
    setup = snowflake.connector.connect(**fakesnow_server)
    for statement in (f"CREATE DATABASE {database}", f"USE DATABASE {database}", "CREATE SCHEMA DCF",
                      "CREATE SCHEMA RAW"):
        setup.cursor().execute(statement)
    setup.close()
    endpoint = {k: fakesnow_server[k] for k in ("host", "port", "protocol", "session_parameters", "network_timeout")}
    save_warehouse_block(block_name, database, account=fakesnow_server["account"], user=fakesnow_server["user"],
                         password=fakesnow_server["password"], connect_args=endpoint)
    return database


def two_streams(root: Path, *, warehouse_block: str | None) -> Path:
    """BCFINSG and the shop stream, each on a private copy of its dbt project; returns their streams directory.
    On Snowflake they build with the warehouse's own profile (dbt-snowflake at the control store's endpoint)."""
    streams = root / "streams"
    streams.mkdir()
    for name, yaml_path, project in ((BCFINSG, BCFINSG_YAML, PROJECT_ROOT / "dbt" / "gdw1"),
                                     (SHOP, PROJECT_ROOT / "tests" / "fixtures" / "shop_stream.yaml",
                                      PROJECT_ROOT / "tests" / "fixtures" / "shop_dbt")):
        copy = root / project.name
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns("target", "logs"))
        data = yaml.safe_load(yaml_path.read_text())
        data["dbt"]["project_dir"] = str(copy)
        if warehouse_block:
            data["warehouse_block"] = warehouse_block
            data["dbt"]["target"] = "snowflake"
            data["dbt"].pop("profiles_dir", None)
        elif "profiles_dir" in data["dbt"]:  # BCFINSG's own profile (the shop's writes elsewhere: left out)
            data["dbt"]["profiles_dir"] = str(copy)
        (streams / f"{name.lower()}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return streams
