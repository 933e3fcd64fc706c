"""Prefect tasks over :mod:`dcf.profiling`: resolve tables, profile one table (recorded), profile one column.

    from tasks.table_profiles import profile_column_task
    profile_column_task("main.fct_plan_baln_segm_mstr", "plan_code")   # PROFILE_COLUMN: nothing written

Each task opens its own warehouse connection (DuckDB connections in one process share the database;
Snowflake connections are not shared between threads). On Snowflake, GE's datasource is built from the
same DcfWarehouse block: its SnowflakeConnector credentials and non-secret connect arguments.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import asdict
from typing import Any

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.futures import PrefectFuture

from blocks.default_warehouse import load_warehouse
from blocks.local_warehouse import Warehouse
from dcf.profiling import ProfileContext, ProfileOptions, profile_column, resolve_relation, run_profile
from dcf.store.clock import exec_user
from dcf.store.statuses import ProfileStatus
from runtime.log import flow_logger

#: Tables profiled at once at the most (the flow's thread pool).
MAX_WORKERS = 8


def run_context(note: str | None = None) -> ProfileContext:
    """TRIGGERED_BY / JOB_NAME / REQUEST_ID from the current Prefect run (deployment, flow, flow run id)."""
    from prefect.runtime import deployment, flow_run

    deployment_name = deployment.name
    triggered_by = f"deployment:{deployment_name}" if deployment_name else f"user:{exec_user()}"
    return ProfileContext(
        triggered_by=triggered_by,
        job_name=flow_run.flow_name or None,
        request_id=str(flow_run.id) if flow_run.id else None,
        note=note,
    )


def profile_with(
    warehouse: Warehouse, table: str, options: ProfileOptions, context: ProfileContext
) -> dict[str, Any]:
    """Profile ``table`` through ``warehouse`` and record the run; a JSON-ready summary of it."""
    with warehouse.connect() as conn:
        outcome = run_profile(conn, table, options, source=warehouse.profiling_source(), context=context)
    profile = outcome.profile
    return {
        "table": str(outcome.relation),
        "run_id": outcome.run_id,
        "status": ProfileStatus.SUCCEEDED.value,
        "row_count": profile.row_count,
        "columns": profile.summary(),
    }


@task(name="resolve-tables", cache_policy=None, persist_result=False)
def resolve_tables(tables: list[str], warehouse_block: str | None = None) -> list[str]:
    """``database.schema.table`` of each name (a dbt model name is looked up); refuses unknown tables."""
    with load_warehouse(warehouse_block).connect() as conn:
        resolved = [str(resolve_relation(conn, name)) for name in tables]
    return list(dict.fromkeys(resolved))  # the same table named twice is profiled once


@task(name="profile-table", task_run_name="profile-{table}", cache_policy=None, persist_result=False)
def profile_table_task(
    table: str, options: ProfileOptions, warehouse_block: str | None = None, note: str | None = None
) -> dict[str, Any]:
    """One PROFILE_RUNS row (RUNNING, then SUCCEEDED or FAILED) and its PROFILE_RESULTS for ``table``."""
    summary = profile_with(load_warehouse(warehouse_block), table, options, run_context(note))
    flow_logger().info("profiled %s: %s rows, run %s", summary["table"], summary["row_count"], summary["run_id"])
    return summary


@task(name="profile-column", task_run_name="profile-column-{table}-{column}", cache_policy=None,
      persist_result=False)
def profile_column_task(
    table: str, column: str, options: ProfileOptions | None = None, warehouse_block: str | None = None
) -> dict[str, Any]:
    """PROFILE_COLUMN: one column's profile, returned; nothing is written to PROFILE_RUNS / RESULTS."""
    warehouse = load_warehouse(warehouse_block)
    with warehouse.connect() as conn:
        result = profile_column(conn, table, column, options, source=warehouse.profiling_source())
    return asdict(result)


def profile_many(tables: list[str], options: ProfileOptions, *, limit: int, warehouse_block: str | None,
                 note: str | None, stream: str | None) -> list[dict[str, Any]]:
    """Profile each table (at most ``limit`` at once, one task run each) and publish the profile artifact.

    Called by the profile-tables flow and by a stream's profile stage; a table that fails has an outcome
    with status FAILED and its error, never an exception.
    """
    relations = resolve_tables(tables, warehouse_block)
    flow_logger().info("profiling %d table(s), %d at a time: %s", len(relations), limit, ", ".join(relations))
    futures = _submit_bounded(relations, limit, options=options, warehouse_block=warehouse_block, note=note)
    outcomes = [_outcome(table, future) for table, future in zip(relations, futures, strict=True)]
    _artifact(outcomes, stream)
    return outcomes


def _submit_bounded(tables: list[str], limit: int, **parameters: Any) -> list[PrefectFuture]:
    """Submit one task per table with at most ``limit`` in flight (the oldest is awaited first)."""
    futures: list[PrefectFuture] = []
    in_flight: deque[PrefectFuture] = deque()
    for table in tables:
        if len(in_flight) >= limit:
            in_flight.popleft().wait()
        future = profile_table_task.submit(table, **parameters)
        futures.append(future)
        in_flight.append(future)
    for future in in_flight:
        future.wait()
    return futures


def _outcome(table: str, future: PrefectFuture) -> dict[str, Any]:
    state = future.state
    if state.is_completed():
        return state.result()
    error = state.result(raise_on_failure=False)
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return {"table": table, "run_id": None, "status": ProfileStatus.FAILED.value, "row_count": None, "columns": [],
            "error": message}


def artifact_key(stream: str | None) -> str:
    """``profile-<stream>`` or ``profile-tables``: artifact keys are lowercase letters, digits and dashes.

    >>> artifact_key("GENERAL_LEDGER_LOAD")
    'profile-general-ledger-load'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", (stream or "tables").lower()).strip("-")
    return f"profile-{slug or 'tables'}"


def _artifact(outcomes: list[dict[str, Any]], stream: str | None) -> None:
    rows = [
        {"table": outcome["table"], "run_id": outcome["run_id"], "rows": outcome["row_count"], **line}
        for outcome in outcomes
        for line in outcome["columns"]
    ]
    rows += [
        {"table": o["table"], "run_id": o["run_id"], "rows": None, "column": "(failed)", "type": o["error"]}
        for o in outcomes
        if o["status"] != ProfileStatus.SUCCEEDED
    ]
    succeeded = sum(1 for o in outcomes if o["status"] == ProfileStatus.SUCCEEDED)
    create_table_artifact(
        key=artifact_key(stream),
        table=rows,
        description=f"Profile of {succeeded}/{len(outcomes)} table(s): one line per column "
        "(null rate, distinct count, min, max, mean, most frequent value).",
    )
