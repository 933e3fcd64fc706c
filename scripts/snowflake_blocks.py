"""Create the production blocks: Snowflake credentials, the connector, and the DCF warehouse that uses it.

    export SNOWFLAKE_ACCOUNT=xy12345.eu-west-1 SNOWFLAKE_USER=DCF_SVC SNOWFLAKE_ROLE=DCF_LOADER
    export SNOWFLAKE_WAREHOUSE=DCF_WH SNOWFLAKE_DATABASE=GDW1 SNOWFLAKE_SCHEMA=CORE
    export DCF_CONTROL_DATABASE=DEV_PROVIDERPDM DCF_CONTROL_SCHEMA=PROVIDERPDM_CORE_TARGET
    python -m scripts.snowflake_blocks          # asks for the password (or reads SNOWFLAKE_PASSWORD)

Key-pair authentication instead of a password: export SNOWFLAKE_PRIVATE_KEY_PATH (and
SNOWFLAKE_PRIVATE_KEY_PASSPHRASE when the key is encrypted) and use dbt target ``snowflake_keypair``.

Secrets are read from the environment or typed at a prompt, never from a file or the command line, and
stored in the blocks as SecretStr. The environment variable names are the ones dbt's Snowflake profile
reads (``blocks.snowflake_env.SNOWFLAKE_ENV``), so the same shell that ran dbt by hand can create the blocks.
Existing blocks of the same names are replaced. Block names: ``--credentials`` (default
gdw-snowflake-credentials), ``--connector`` (gdw-snowflake), ``--warehouse`` (dcf-warehouse).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Mapping

from prefect_snowflake import SnowflakeConnector, SnowflakeCredentials

from blocks.snowflake_env import SNOWFLAKE_ENV
from blocks.warehouse import DcfWarehouse

REQUIRED = ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_WAREHOUSE", "SNOWFLAKE_DATABASE", "SNOWFLAKE_SCHEMA")


def fields_from_env(environ: Mapping[str, str], source: str) -> dict[str, str]:
    """The block fields of ``source`` (credentials / connector) set in ``environ``."""
    return {field: environ[name] for name, (where, field) in SNOWFLAKE_ENV.items()
            if where == source and environ.get(name)}


def create_blocks(environ: Mapping[str, str], *, credentials_name: str, connector_name: str,
                  warehouse_name: str) -> DcfWarehouse:
    """Save the three blocks from ``environ``; returns the saved DcfWarehouse."""
    missing = [name for name in REQUIRED if not environ.get(name)]
    if missing:
        raise SystemExit(f"error: set {', '.join(missing)} (see python -m scripts.snowflake_blocks --help)")
    credentials = SnowflakeCredentials(**fields_from_env(environ, "credentials"))
    credentials.save(credentials_name, overwrite=True)
    connector = SnowflakeConnector(credentials=credentials, **fields_from_env(environ, "connector"))
    connector.save(connector_name, overwrite=True)
    warehouse = DcfWarehouse(
        kind="snowflake",
        snowflake_connector=connector,
        control_database=environ.get("DCF_CONTROL_DATABASE") or connector.database,
        control_schema=environ.get("DCF_CONTROL_SCHEMA") or "DCF",
    )
    warehouse.save(warehouse_name, overwrite=True)
    return warehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.snowflake_blocks", description=__doc__.splitlines()[0],
                                     epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--credentials", default="gdw-snowflake-credentials", help="SnowflakeCredentials block name")
    parser.add_argument("--connector", default="gdw-snowflake", help="SnowflakeConnector block name")
    parser.add_argument("--warehouse", default="dcf-warehouse", help="DcfWarehouse block name")
    args = parser.parse_args(argv)
    environ = dict(os.environ)
    has_key = environ.get("SNOWFLAKE_PRIVATE_KEY_PATH")
    if not environ.get("SNOWFLAKE_PASSWORD") and not has_key and sys.stdin.isatty():
        environ["SNOWFLAKE_PASSWORD"] = getpass.getpass(f"Snowflake password for {environ.get('SNOWFLAKE_USER')}: ")
    warehouse = create_blocks(environ, credentials_name=args.credentials, connector_name=args.connector,
                              warehouse_name=args.warehouse)
    print(f"saved blocks: snowflake-credentials/{args.credentials}, snowflake-connector/{args.connector}, "
          f"dcf-warehouse/{args.warehouse} (control tables in {warehouse.control_database}."
          f"{warehouse.control_schema})")
    target = "snowflake_keypair" if has_key else "snowflake"
    print(f"next: set warehouse_block: {args.warehouse} and dbt.target: {target} in the stream YAML, then "
          f"python -m flows.control_tables --warehouse-block {args.warehouse}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
