"""The stream status board: which stream ran, which failed at which stage and why, which is late.

    make status                                  # print it (and refresh the Prefect artifact; no flow run)
    python -m flows.status [--warehouse-block dcf-warehouse]

Every stream run and every reconcile refresh the same artifact (key ``dcf-stream-status-board``).
"""

from __future__ import annotations

import argparse
import sys

from prefect import flow

from runtime.board_artifact import publish_status_board
from runtime.process_exit import exit_process


@flow(name="status-board", log_prints=False)
def status_board(warehouse_block: str | None = None) -> str | None:
    """Publish the stream status board artifact and return its markdown.

    Args:
        warehouse_block: DcfWarehouse block name; empty: the local DuckDB file under DCF_HOME.
    """
    return publish_status_board(warehouse_block)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.status", description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse-block", help="DcfWarehouse block name (default: local DuckDB)")
    args = parser.parse_args(argv)
    # not the flow: printing the board is not a run (it would add one to the runs list every time)
    markdown = publish_status_board(args.warehouse_block)
    if markdown is None:
        print("error: the status board could not be drawn (see the warning above)", file=sys.stderr)
        return 2
    print(markdown)
    return 0


if __name__ == "__main__":
    exit_process(main())
