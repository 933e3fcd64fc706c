"""Create or upgrade the DCF control schema and register every stream YAML in DCF_T_STRM.

    python -m flows.control_tables                       # the local DuckDB default
    python -m flows.control_tables --warehouse-block dcf-warehouse

Idempotent: a second run reports "no change". Stream YAMLs are validated first, so a broken file
stops the run before any table is created or changed.
"""

from __future__ import annotations

import argparse
import sys

from prefect import flow

from blocks.default_warehouse import load_warehouse
from dcf.errors import DcfError
from dcf.store.migrate import ensure_schema
from dcf.store.streams import register_streams
from dcf.stream.definition import load_all_streams
from flows.parameters import run_form
from runtime.log import flow_logger
from runtime.process_exit import exit_process


@run_form
@flow(name="control-tables", log_prints=False)
def control_tables(warehouse_block: str | None = None) -> list[str]:
    """Bring the control schema up to date and register the streams; returns the changes made."""
    logger = flow_logger()
    streams = load_all_streams()  # before any write: a broken YAML changes nothing
    warehouse = load_warehouse(warehouse_block)
    with warehouse.connect() as conn:
        changes = ensure_schema(conn)
        changes += register_streams(conn, [loaded.record() for loaded in streams])
    for change in changes:
        logger.info(change)
    logger.info("control schema %s in %s: %s", warehouse.control_schema, warehouse.location(),
                f"{len(changes)} change(s)" if changes else "no change")
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.control_tables", description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse-block", help="DcfWarehouse block name (default: local DuckDB)")
    args = parser.parse_args(argv)
    try:
        # .fn: run the body directly; schema upkeep should not wait for a Prefect server to start.
        changes = control_tables.fn(warehouse_block=args.warehouse_block)
    except DcfError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for change in changes:
        print(change)
    print(f"{len(changes)} change(s)" if changes else "no change")
    return 0


if __name__ == "__main__":
    exit_process(main())
