"""Prefect tasks over :mod:`dcf.profiling`: resolve tables, profile one table (recorded), profile one column.

    from tasks.table_profiles import profile_column_task
    profile_column_task("main.fct_plan_baln_segm_mstr", "plan_code")   # PROFILE_COLUMN: nothing written

Each task opens its own warehouse connection (DuckDB connections in one process share the database;
Snowflake connections are not shared between threads). On Snowflake, GE's datasource is built from the
same DcfWarehouse block: its SnowflakeConnector credentials and non-secret connect arguments.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import task

from blocks.warehouse import DcfWarehouse, load_warehouse
from dcf.profiling import ProfileOptions, RunContext, profile_column, resolve_relation, run_profile
from dcf.store.clock import exec_user
from runtime.log import flow_logger


def run_context(note: str | None = None) -> RunContext:
    """TRIGGERED_BY / JOB_NAME / REQUEST_ID from the current Prefect run (deployment, flow, flow run id)."""
    from prefect.runtime import deployment, flow_run

    deployment_name = deployment.name
    triggered_by = f"deployment:{deployment_name}" if deployment_name else f"user:{exec_user()}"
    return RunContext(
        triggered_by=triggered_by,
        job_name=flow_run.flow_name or None,
        request_id=str(flow_run.id) if flow_run.id else None,
        note=note,
    )


def profile_with(
    warehouse: DcfWarehouse, table: str, options: ProfileOptions, context: RunContext
) -> dict[str, Any]:
    """Profile ``table`` through ``warehouse`` and record the run; a JSON-ready summary of it."""
    with warehouse.connect() as conn:
        outcome = run_profile(conn, table, options, source=warehouse.profiling_source(), context=context)
    profile = outcome.profile
    return {
        "table": str(outcome.relation),
        "run_id": outcome.run_id,
        "status": "SUCCEEDED",
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
