"""The load report (replaces DataStage's report CSV / e-mail): JSON in the BCFINSG spec's shape.

>>> report = build_report(ReportSubject(stream_name="S", process_date="2025-01-02", prcs_inst_id=1, batch_id="B"),
...     status="SUCCEEDED", statistics={"records_processed": 120, "records_loaded": 100,
...     "quality_score_avg": 91.5, "high_quality_records": 90, "medium_quality_records": 20,
...     "low_quality_records": 10, "orchestration_status": "READY_FOR_LOADING"},
...     duration_seconds=60, warehouse="duckdb", stages=[])
>>> report["load_summary"]["throughput_records_per_minute"] if False else report["performance_metrics"]
{'warehouse_utilized': 'duckdb', 'credits_consumed': None, 'throughput_records_per_minute': 120.0}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dcf.store.statuses import NotificationType, StageStatus

COMPLETION_REPORT, FAILURE_REPORT = NotificationType.LOAD_COMPLETION_REPORT, NotificationType.LOAD_FAILURE_REPORT


@dataclass(frozen=True)
class ReportSubject:
    """Which run a report is about."""

    stream_name: str
    process_date: str
    prcs_inst_id: int
    batch_id: str


def build_report(
    subject: ReportSubject,
    *,
    status: str,
    statistics: dict[str, Any],
    duration_seconds: float,
    warehouse: str | None,
    stages: list[dict[str, Any]],
    credits_consumed: float | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """``load_summary``, ``quality_metrics`` and ``performance_metrics`` as in the spec, plus the stages."""
    processed = statistics.get("records_processed")
    minutes = duration_seconds / 60
    # The spec divides by whole minutes floored at 1; fractional minutes floored at one second say the
    # same for long runs and do not understate short ones.
    throughput = round(processed / max(minutes, 1 / 60), 2) if processed is not None else None
    return {
        "stream_name": subject.stream_name,
        "processing_date": subject.process_date,
        "prcs_inst_id": subject.prcs_inst_id,
        "batch_id": subject.batch_id,
        "status": status,
        "orchestration_status": statistics.get("orchestration_status"),
        "load_summary": {
            "total_records_processed": processed,
            "records_loaded_successfully": statistics.get("records_loaded"),
            # the spec's load_execution_status: the quality gate let the target load, or skipped it
            "load_execution_status": _load_execution_status(statistics.get("target_loaded")),
            "average_data_quality_score": statistics.get("quality_score_avg"),
            "load_duration_minutes": round(minutes, 2),
            "load_completion_status": status,
        },
        "quality_metrics": {
            "high_quality_records": statistics.get("high_quality_records"),
            "medium_quality_records": statistics.get("medium_quality_records"),
            "low_quality_records": statistics.get("low_quality_records"),
            **({"rejected_records_by_reason": statistics["rejected_by_reason"]}
               if "rejected_by_reason" in statistics else {}),
        },
        "performance_metrics": {
            "warehouse_utilized": warehouse,
            "credits_consumed": credits_consumed,
            "throughput_records_per_minute": throughput,
        },
        "stages": stages,
        # what each stage that ended with warnings said (the warned dbt tests, by name)
        "warnings": [{"stage": s["stage"], "message": s["error"]} for s in stages
                     if s["status"] == StageStatus.COMPLETED_WITH_WARNINGS and s.get("error")],
        "error": error,
    }


def _load_execution_status(target_loaded: bool | None) -> str | None:
    return None if target_loaded is None else "EXECUTED" if target_loaded else "SKIPPED"


def report_markdown(report: dict[str, Any]) -> str:
    """The report as the markdown artifact people read in the Prefect UI (a figure not measured reads "n/a")."""
    summary, quality, perf = report["load_summary"], report["quality_metrics"], report["performance_metrics"]
    loaded = _shown(summary["records_loaded_successfully"])
    if summary["load_execution_status"]:
        loaded += f" ({summary['load_execution_status']})"
    lines = [
        f"# {report['stream_name']} — {report['processing_date']}: **{report['status']}**",
        "",
        f"Process instance `{report['prcs_inst_id']}`, batch `{report['batch_id']}`, "
        f"orchestration status `{report['orchestration_status'] or 'not assessed'}`.",
        "",
        "| load summary | |", "|---|---|",
        f"| records processed | {_shown(summary['total_records_processed'])} |",
        f"| records loaded | {loaded} |",
        f"| average quality score | {_shown(summary['average_data_quality_score'])} |",
        f"| duration (min) | {_shown(summary['load_duration_minutes'])} |",
        f"| quality high / medium / low | {_shown(quality['high_quality_records'])} / "
        f"{_shown(quality['medium_quality_records'])} / {_shown(quality['low_quality_records'])} |",
        *([f"| rejected, by reason | {_reasons(quality['rejected_records_by_reason'])} |"]
          if "rejected_records_by_reason" in quality else []),
        f"| throughput (records/min) | {_shown(perf['throughput_records_per_minute'])} |",
        f"| warehouse | {_shown(perf['warehouse_utilized'])} |",
        "",
        "| stage | status | seconds |", "|---|---|---|",
        *(f"| {s['stage']} | {s['status']} | {_shown(s.get('seconds'))} |" for s in report["stages"]),
    ]
    if report.get("warnings"):
        lines += ["", "## Warnings", "", *(f"- **{w['stage']}**: {w['message']}" for w in report["warnings"])]
    if report.get("error"):
        lines += ["", "## Error", "", "```", str(report["error"]), "```"]
    return "\n".join(lines)


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in counts.items()) or "none"


def _shown(value: Any) -> str:
    return "n/a" if value is None else str(value)
