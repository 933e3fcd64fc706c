"""Close execution-log rows and process instances left RUNNING by flow runs that are no longer running.

    python -m flows.reconcile                               # every stream, local DuckDB default
    python -m flows.reconcile --stream BCFINSG_PLAN_BALN_SEGM_LOAD --warehouse-block dcf-warehouse

The stream flow runs it for its own stream before it starts: ``from flows.reconcile import reconcile_stream``,
``reconcile_stream(stream, warehouse_block=...)`` (or ``conn=`` an open connection), or the flow as a subflow.
A run counts as dead when Prefect says it ended (crashed, cancelled, failed, completed) or no longer knows it,
or when the process that wrote the rows is gone from this host (SIGKILL: Prefect still shows such a run
RUNNING) — :mod:`dcf.execlog.sweep` has the rules. Runs found dead that way are also set Crashed in Prefect, so
their concurrency slots and the UI agree with the control tables.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Collection
from typing import Any

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.context import FlowRunContext
from prefect.states import Crashed

from blocks.warehouse import load_warehouse
from dcf.errors import DcfError
from dcf.execlog.sweep import ReconcileReport
from dcf.execlog.sweep import reconcile as sweep
from dcf.store.connection import Connection
from runtime.log import flow_logger


def flow_run_states(ids: Collection[str]) -> dict[str, str]:
    """Prefect state type of each flow run that still exists (ids Prefect does not know are left out)."""
    valid = []
    for value in ids:
        try:
            valid.append(uuid.UUID(str(value)))
        except ValueError:
            continue  # not a Prefect id: the run cannot be found, i.e. it is gone
    if not valid:
        return {}
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=valid)), limit=len(valid))
    return {str(run.id): run.state.type.value if run.state else "UNKNOWN" for run in runs}


def mark_crashed(dead_flow_runs: dict[str, str]) -> None:
    """Set Crashed the runs whose process is gone although Prefect still shows them running."""
    if not dead_flow_runs:
        return
    with get_client(sync_client=True) as client:
        for run_id, reason in dead_flow_runs.items():
            client.set_flow_run_state(uuid.UUID(run_id), Crashed(message=f"reconcile: {reason}"), force=True)


def reconcile_stream(stream: str | None = None, *, warehouse_block: str | None = None, conn: Connection | None = None,
                     keep_flow_run_ids: Collection[str] = ()) -> ReconcileReport:
    """The sweep plus Prefect upkeep; what the stream flow calls for its own stream before it starts.

    ``conn``: an open control-store connection to use (else the warehouse block's). The calling flow run and
    its parent are kept open: a retry of a killed run keeps that run's process instance.
    """
    if conn is None:
        with load_warehouse(warehouse_block).connect() as own:
            return reconcile_stream(stream, conn=own, keep_flow_run_ids=keep_flow_run_ids)
    report = sweep(conn, flow_run_states, stream=stream, keep_flow_run_ids={*keep_flow_run_ids, *_own_runs()})
    mark_crashed(report.dead_flow_runs)
    return report


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
    return report.as_dict()


def _own_runs() -> set[str]:
    """The current flow run and the run that called it: their process instance is alive by definition."""
    context = FlowRunContext.get()
    run = getattr(context, "flow_run", None)
    if run is None:
        return set()
    own = {str(run.id)}
    if run.parent_task_run_id:
        with get_client(sync_client=True) as client:
            own.add(str(client.read_task_run(run.parent_task_run_id).flow_run_id))
    return own


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
    sys.exit(main())
