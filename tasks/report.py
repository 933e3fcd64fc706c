"""Report: the load report JSON into DCF_T_NOTIFICATIONS, Prefect artifacts, and delivery.

Delivery goes through the Prefect notification blocks the stream names. The row is queued PENDING
first, then SENT, or FAILED with the reason: a report is never lost because a channel was down.
"""

from __future__ import annotations

import re
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from blocks.default_warehouse import load_warehouse
from dcf.store import instances
from dcf.store.clock import utcnow
from dcf.store.instances import instance_row
from dcf.store.notifications import finish_notification, queue_notification
from dcf.store.stage_rows import stage_rows
from dcf.store.statuses import InstanceStatus, StageStatus
from dcf.stream.load_report import COMPLETION_REPORT, FAILURE_REPORT, ReportSubject, build_report, report_markdown
from dcf.stream.run import StreamRun
from runtime.board_artifact import publish_status_board
from runtime.connections import connect
from runtime.log import flow_logger
from tasks.kinds.notify import send_to_blocks
from tasks.stage import StageResult, stage


@stage("report")
def report(run: StreamRun, status: str) -> StageResult:
    """The completion report (status SUCCEEDED or COMPLETED_WITH_WARNINGS)."""
    content = _publish(run, COMPLETION_REPORT, status, error=None)
    return StageResult({"notification_type": COMPLETION_REPORT, "status": status,
                        "delivery": content["delivery"]})


@task(name="failure_report", task_run_name="failure_report", cache_policy=None,
      persist_result=False)
def failure_report(run: StreamRun, error: str, status: InstanceStatus = InstanceStatus.FAILED) -> dict[str, Any]:
    """The exception path: record and report the failure, or the operator's cancel (status CANCELLED)."""
    return _publish(run, FAILURE_REPORT, status, error=error)


@task(name="close_instance", task_run_name="close_instance", cache_policy=None,
      persist_result=False)
def close_instance(run: StreamRun, status: InstanceStatus, error: str | None = None) -> None:
    with connect(run.warehouse_block) as conn:
        instances.close_instance(conn, run.prcs_inst_id, status, error)


@task(name="status_board", task_run_name="status_board", cache_policy=None, persist_result=False)
def status_board(run: StreamRun) -> None:
    """Refresh the project's stream status board artifact (never fails the run)."""
    publish_status_board(run.warehouse_block)


def _publish(run: StreamRun, kind: str, status: str, error: str | None) -> dict[str, Any]:
    config = run.config
    with connect(run.warehouse_block) as conn:
        instance = instance_row(conn, run.prcs_inst_id)
        rows = stage_rows(conn, run.prcs_inst_id)
        # In the order they started: bookkeeping first, then the activities, then the closing stages.
        ordered = sorted(rows.values(), key=lambda row: (row["PRCS_START_TS"], row["PRCS_NAME"] != "validate"))
        stages = [_stage_summary(row["PRCS_NAME"], row) for row in ordered]
        if kind == COMPLETION_REPORT:
            stages = [_as_completed(s, rows["report"]) if s["stage"] == "report" else s for s in stages]
        statistics = _statistics(rows.get("metadata"))
        content = build_report(
            ReportSubject(stream_name=run.stream_name, process_date=run.process_date.isoformat(),
                          prcs_inst_id=run.prcs_inst_id, batch_id=run.batch_id),
            status=status,
            statistics=statistics,
            duration_seconds=(utcnow() - instance["PRCS_START_TS"]).total_seconds(),
            warehouse=statistics.get("warehouse_used") or load_warehouse(run.warehouse_block).kind,
            stages=stages,
            error=error,
        )
        channels = list(config.report.notification_blocks)
        notification_id = queue_notification(conn, run.ref, kind, content, channels)
        delivery_error = _deliver(channels, content)
        finish_notification(conn, notification_id, error=delivery_error)
    _artifacts(run, content)
    content["delivery"] = {"channels": channels, "error": delivery_error}
    return content


def _deliver(channels: list[str], content: dict[str, Any]) -> str | None:
    """Send to every notification block; return None when all succeeded, else why not."""
    subject = f"[DCF] {content['stream_name']} {content['processing_date']}: {content['status']}"
    failures = send_to_blocks(channels, subject=subject, body=report_markdown(content))
    if failures:
        flow_logger().warning("report delivery failed: %s", "; ".join(failures))
    return "; ".join(failures) or None


def artifact_slug(text: str) -> str:
    """``text`` as Prefect allows in an artifact key: lower case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def artifact_key(stream_name: str, kind: str) -> str:
    """A stream's artifact key: ``stream-<name>-<kind>``."""
    return f"stream-{artifact_slug(stream_name)}-{kind}"


def _artifacts(run: StreamRun, content: dict[str, Any]) -> None:
    create_markdown_artifact(markdown=report_markdown(content), key=artifact_key(run.stream_name, "load-report"),
                             description=f"{run.stream_name} {run.process_date} load report")
    create_table_artifact(table=content["stages"], key=artifact_key(run.stream_name, "stages"),
                          description=f"{run.stream_name} {run.process_date} stages")


def _as_completed(summary: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """The report's own line: it is written from inside the report stage, which completes once the report is
    queued (a failed delivery is recorded on the notification, not failed on the stage), so its final status
    is COMPLETED and its time runs until now."""
    seconds = round((utcnow() - row["PRCS_START_TS"]).total_seconds(), 2)
    return {**summary, "status": StageStatus.COMPLETED.value, "seconds": seconds, "error": None}


def _stage_summary(name: str, row: dict[str, Any]) -> dict[str, Any]:
    end = row["PRCS_END_TS"]
    seconds = round((end - row["PRCS_START_TS"]).total_seconds(), 2) if end else None
    return {"stage": name, "status": row["PRCS_STATUS"], "seconds": seconds, "attempt": row["ATTEMPT"],
            "error": row["ERROR_MESSAGE"]}


def _statistics(row: dict[str, Any] | None) -> dict[str, Any]:
    return (row["PRCS_STATISTICS"] or {}) if row else {}
