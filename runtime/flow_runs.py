"""Prefect's side of reconcile: which flow runs still live, and setting Crashed the ones that lost their process.

    report = reconcile_stream("BCFINSG_PLAN_BALN_SEGM_LOAD", conn=conn)   # the sweep of dcf.execlog.sweep + upkeep
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.context import FlowRunContext
from prefect.states import Crashed

from blocks.default_warehouse import load_warehouse
from dcf.execlog.sweep import ReconcileReport, sweep
from dcf.store.connection import Connection


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


#: What a stage, an execution-log row and the process instance say when an operator cancelled the run.
CANCELLED_BY_OPERATOR = "cancelled by operator"
_CANCEL_STATES = ("CANCELLING", "CANCELLED")


def cancel_requested() -> bool:
    """Whether an operator cancelled this flow run (or the run that started it as a subflow).

    Asked when something ends abnormally: a cancel reaches the process as a signal that can surface as any
    error (dbt turns it into a parse error, say), so the API's state of the run is the truth, not the error.
    """
    context = FlowRunContext.get()
    run = getattr(context, "flow_run", None)
    if run is None:
        return False
    try:
        with get_client(sync_client=True) as client:
            for _depth in range(10):  # a nested stream's parents, up to the run an operator cancelled
                state = client.read_flow_run(run.id).state
                if state is not None and state.type.value in _CANCEL_STATES:
                    return True
                if not run.parent_task_run_id:
                    return False
                run = client.read_flow_run(client.read_task_run(run.parent_task_run_id).flow_run_id)
    except Exception:  # no API (it is the API that would say so): not a cancel we can know of
        return False
    return False


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
