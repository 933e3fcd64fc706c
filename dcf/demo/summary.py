"""The human summary ``make run`` prints after a stream run."""

from __future__ import annotations

from datetime import date
from typing import Any

from dcf.execlog.facts import job_step_id
from dcf.paths import PROJECT_ROOT
from dcf.store.connection import Connection
from dcf.store.schema import DCF_T_PRCS_EXEC_LOG, DCF_T_PRCS_INST, PROCESS_EXECUTION_LOG
from dcf.store.statuses import InstanceStatus


def last_loaded_date(conn: Connection, strm_id: int) -> date | None:
    return conn.scalar(
        f"SELECT MAX(PRCS_DATE) FROM {conn.qualify(DCF_T_PRCS_INST.name)} "
        "WHERE STRM_ID = :id AND PRCS_STATUS IN (:succeeded, :warnings)",
        {"id": strm_id, "succeeded": InstanceStatus.SUCCEEDED, "warnings": InstanceStatus.COMPLETED_WITH_WARNINGS},
    )


def summary_lines(conn: Connection, strm_id: int, process_date: date, warehouse: Any, state: Any, *,
                  prefect_ui: str | None = None) -> list[str]:
    """The run's summary; ``prefect_ui``: the API URL of a server that outlives the run (None: a temporary one)."""
    instance = conn.fetch_dicts(
        f"SELECT * FROM {conn.qualify(DCF_T_PRCS_INST.name)} WHERE STRM_ID = :id AND PRCS_DATE = :d "
        "ORDER BY PRCS_INST_ID DESC LIMIT 1",
        {"id": strm_id, "d": process_date},
    )
    lines = ["", f"flow run: {state.name} — {state.message or ''}".rstrip(" —")]
    if not instance:
        return [*lines, "no process instance was created (the run was refused before it started)"]
    inst = instance[0]
    lines.append(f"process instance {inst['PRCS_INST_ID']}: {inst['PRCS_STATUS']} "
                 f"({inst['ORCHESTRATION_STATUS'] or 'not assessed'})")
    if inst["ERROR_MESSAGE"]:
        lines.append(f"error: {inst['ERROR_MESSAGE']}")
    stages = sorted(conn.rows_where(DCF_T_PRCS_EXEC_LOG, PRCS_INST_ID=inst["PRCS_INST_ID"]),
                    key=lambda row: row["PRCS_START_TS"])
    lines += ["", f"{'stage':<12} {'status':<26} {'seconds':>8}"]
    stats: dict[str, Any] = {}
    for row in stages:
        seconds = (row["PRCS_END_TS"] - row["PRCS_START_TS"]).total_seconds() if row["PRCS_END_TS"] else None
        lines.append(f"{row['PRCS_NAME']:<12} {row['PRCS_STATUS']:<26} "
                     f"{f'{seconds:.2f}' if seconds is not None else '-':>8}")
        if row["PRCS_NAME"] == "metadata" and row["PRCS_STATISTICS"]:
            stats = row["PRCS_STATISTICS"]
    build = next((row["PRCS_STATISTICS"] or {} for row in stages if row["PRCS_NAME"] == "dbt_build"), {})
    lines += _execution_log_lines(conn, build.get("invocation_ids") or [])
    if stats.get("dbt_counts"):
        counts = stats["dbt_counts"]
        lines += ["", f"dbt: {counts.get('models_succeeded', 0)} of {counts.get('models_total', 0)} models built, "
                      f"{counts.get('tests_passed', 0)} of {counts.get('tests_total', 0)} tests passed"]
    if "records_processed" in stats:
        lines += [
            "",
            f"records processed {stats['records_processed']}, loaded {stats['records_loaded']}"
            f"{'' if stats.get('target_loaded', True) else ' (load skipped by the quality gate)'}, "
            f"average quality {stats['quality_score_avg']} (min {stats['quality_score_min']})",
            f"quality split: high {stats['high_quality_records']} / medium {stats['medium_quality_records']} / "
            f"low {stats['low_quality_records']}",
        ]
    lines += ["", "where to look next:"]
    if warehouse.local_file:
        where = "" if warehouse.local_file == PROJECT_ROOT / ".dcf" / "warehouse.duckdb" \
            else f" DB={warehouse.local_file}"
        lines += [
            f"  make sql{where}          # an SQL shell on the warehouse; the control tables are its default schema",
            f"    SELECT * FROM DCF_T_PRCS_EXEC_LOG WHERE PRCS_INST_ID = {inst['PRCS_INST_ID']};",
            "    SELECT RECORD_TYPE, PROCESS_STEP_ID, EXECUTION_STATUS_NAME FROM PROCESS_EXECUTION_LOG "
            "ORDER BY EXECUTION_START_TWSTP DESC LIMIT 20;",
        ]
    if prefect_ui:
        lines.append(f"  Prefect UI: {prefect_ui.removesuffix('/api')}/runs")
    else:
        lines.append("  Prefect: runs were recorded by a temporary server; `make server` keeps one running (make run "
                     "then uses it) to browse them in the UI")
    return lines


def _execution_log_lines(conn: Connection, invocation_ids: list[str]) -> list[str]:
    """What the build left in PROCESS_EXECUTION_LOG, and whether views got row counts."""
    if not invocation_ids:
        return []
    jobs = [conn.row_by_key(PROCESS_EXECUTION_LOG, PROCESS_STEP_ID=job_step_id(i)) for i in invocation_ids]
    counts = [(job or {}).get("DESTINATION_DATA_CNT_OBJ") or {} for job in jobs]
    if not all("model_rows" in c for c in counts):
        return []  # a job still running, or written before the log counted per resource type
    model_rows = sum(c.get("model_rows", 0) for c in counts)
    types: dict[str, int] = {}
    for c in counts:
        for kind, n in (c.get("by_resource_type") or {}).items():
            types[kind] = types.get(kind, 0) + n
    views = "tables and views" if all(c.get("views_counted") for c in counts) else "tables only (views not counted)"
    detail = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in types.items() if kind != "test")
    return ["", f"execution log: {len(jobs)} JOB row(s), {model_rows} MODEL rows ({detail}) and "
                f"{types.get('test', 0)} tests; row counts: {views}"]
