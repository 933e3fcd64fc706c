"""dbt's Snowflake profile reads its secrets from the Prefect blocks, never from files.

``dbt/gdw1/profiles.yml`` (target ``snowflake``) reads ``env_var('SNOWFLAKE_ACCOUNT')``, ``SNOWFLAKE_USER``,
``SNOWFLAKE_PASSWORD``, ``SNOWFLAKE_ROLE``, ``SNOWFLAKE_WAREHOUSE``, ``SNOWFLAKE_DATABASE`` and
``SNOWFLAKE_SCHEMA``. Our dbt runner calls dbtRunner directly, which does not resolve prefect-dbt's
``{{ prefect.blocks... }}`` templates, so the dbt stage sets these variables for the duration of the dbt
invocation from the stream's ``DcfWarehouse`` block (its ``SnowflakeConnector`` and
``SnowflakeCredentials``)::

    env = snowflake_env(load_warehouse("dcf-warehouse"))   # {"SNOWFLAKE_ACCOUNT": ..., ...}

Only values the blocks hold are set; a missing one falls back to the profile's default. The same names
are read the other way round by ``scripts/snowflake_blocks.py``, which creates the blocks.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect_snowflake import SnowflakeConnector
from pydantic import SecretBytes, SecretStr

#: Environment variable -> (block, field): ``credentials`` is SnowflakeCredentials, ``connector`` SnowflakeConnector.
SNOWFLAKE_ENV: dict[str, tuple[Literal["credentials", "connector"], str]] = {
    "SNOWFLAKE_ACCOUNT": ("credentials", "account"),
    "SNOWFLAKE_USER": ("credentials", "user"),
    "SNOWFLAKE_PASSWORD": ("credentials", "password"),
    "SNOWFLAKE_ROLE": ("credentials", "role"),
    # Key-pair authentication: a profile that uses it reads these (the shipped profile uses a password).
    "SNOWFLAKE_PRIVATE_KEY_PATH": ("credentials", "private_key_path"),
    "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": ("credentials", "private_key_passphrase"),
    "SNOWFLAKE_WAREHOUSE": ("connector", "warehouse"),
    "SNOWFLAKE_DATABASE": ("connector", "database"),
    "SNOWFLAKE_SCHEMA": ("connector", "schema_"),
}


def snowflake_env(block: Any) -> dict[str, str]:
    """The SNOWFLAKE_* variables dbt's Snowflake profile reads, from a DcfWarehouse or SnowflakeConnector block.

    (A DcfWarehouse is recognised by its ``snowflake_connector`` field: this module must not import the
    warehouse block, which imports it.)
    """
    connector: SnowflakeConnector | None = getattr(block, "snowflake_connector", block)
    if connector is None:
        raise ValueError("a snowflake DcfWarehouse needs snowflake_connector")
    sources = {"credentials": connector.credentials, "connector": connector}
    env = {}
    for name, (source, field) in SNOWFLAKE_ENV.items():
        value = getattr(sources[source], field)
        if isinstance(value, SecretStr | SecretBytes):
            value = value.get_secret_value()
        if value:
            env[name] = value.decode() if isinstance(value, bytes) else str(value)
    return env
