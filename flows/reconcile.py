"""Close execution-log rows and process instances left RUNNING by flow runs that are no longer running.

    python -m flows.reconcile                               # every stream, local DuckDB default
    python -m flows.reconcile --stream BCFINSG_PLAN_BALN_SEGM_LOAD --warehouse-block dcf-warehouse

The stream flow's validate stage runs the same sweep for its own stream before it starts
(:func:`runtime.flow_runs.reconcile_stream`).
A run counts as dead when Prefect says it ended (crashed, cancelled, failed, completed) or no longer knows it,
or when the process that wrote the rows is gone from this host (SIGKILL: Prefect still shows such a run
RUNNING) — :mod:`dcf.execlog.sweep` has the rules. Runs found dead that way are also set Crashed in Prefect, so
their concurrency slots and the UI agree with the control tables.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from prefect import flow

from dcf.errors import DcfError
from flows.parameters import run_form
from runtime.board_artifact import publish_status_board
from runtime.flow_runs import reconcile_stream
from runtime.log import flow_logger
from runtime.process_exit import exit_process


@run_form
@flow(name="reconcile", log_prints=False)
def reconcile(stream: str | None = None, warehouse_block: str | None = None) -> dict[str, Any]:
    """Close orphaned RUNNING rows of ``stream`` (all streams when None); returns what was closed."""
    logger = flow_logger()
    report = reconcile_stream(stream, warehouse_block=warehouse_block)
    for step_id in report.closed_log_rows:
        logger.warning("closed orphaned execution-log row %s", step_id)
    for inst in report.closed_instances:
        logger.warning("closed orphaned process instance %s", inst)
    for run_id in report.dead_flow_runs:
        logger.warning("flow run %s had lost its process: set Crashed", run_id)
    if report.undecided:
        logger.info("%d RUNNING row(s) written outside Prefect on another host: left open", len(report.undecided))
    logger.info("reconcile%s: %d log row(s), %d process instance(s) closed", f" of {stream}" if stream else "",
                len(report.closed_log_rows), len(report.closed_instances))
    publish_status_board(warehouse_block)
    return report.as_dict()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.reconcile", description=__doc__.splitlines()[0])
    parser.add_argument("--stream", help="only this stream (default: all)")
    parser.add_argument("--warehouse-block", help="DcfWarehouse block name (default: local DuckDB)")
    args = parser.parse_args(argv)
    try:
        result = reconcile(stream=args.stream, warehouse_block=args.warehouse_block)
    except DcfError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"closed {len(result['closed_log_rows'])} log row(s), {len(result['closed_instances'])} process "
          f"instance(s); {len(result['dead_flow_runs'])} flow run(s) set Crashed")
    return 0


if __name__ == "__main__":
    exit_process(main())
