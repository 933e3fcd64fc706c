"""GDWUtilProcessMetaDataFL: load statistics and the orchestration status of a stream run.

The status follows the BCFINSG spec: READY_FOR_LOADING when there are records and their average
quality score meets the threshold, QUALITY_ISSUES when it does not, NO_DATA_AVAILABLE when there are
no records at all.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dcf.store.connection import Connection
from dcf.store.dialect import identifier, relation_name
from dcf.store.statuses import OrchestrationStatus
from dcf.stream.settings import QualitySettings, TargetSettings

READY, QUALITY_ISSUES, NO_DATA = (OrchestrationStatus.READY_FOR_LOADING, OrchestrationStatus.QUALITY_ISSUES,
                                  OrchestrationStatus.NO_DATA_AVAILABLE)


def dbt_relation(name: str) -> str:
    """A dbt ``relation_name`` (``"db"."schema"."table"``) as a validated, unquoted relation."""
    return relation_name(name.replace('"', "").replace("`", ""), what="dbt relation")


def orchestration_status(records: int, average_score: float | None, quality: QualitySettings) -> str:
    if not records:
        return NO_DATA
    return READY if (average_score or 0) >= quality.load_threshold else QUALITY_ISSUES


def quality_statistics(conn: Connection, *, quality: QualitySettings, quality_relation: str) -> dict[str, Any]:
    """Record counts, quality figures and the orchestration status, from the stream's quality model."""
    score = identifier(quality.score_column, what="quality.score_column")
    status = identifier(quality.status_column, what="quality.status_column")
    row = conn.fetch_dicts(
        f"SELECT COUNT(*) AS PROCESSED, AVG({score}) AS AVG_SCORE, MIN({score}) AS MIN_SCORE, "
        f"SUM(CASE WHEN {score} >= :high THEN 1 ELSE 0 END) AS HIGH, "
        f"SUM(CASE WHEN {score} >= :load AND {score} < :high THEN 1 ELSE 0 END) AS MEDIUM, "
        f"SUM(CASE WHEN {score} < :load THEN 1 ELSE 0 END) AS LOW, "
        f"SUM(CASE WHEN {status} = :ready THEN 1 ELSE 0 END) AS READY "
        f"FROM {dbt_relation(quality_relation)}",
        {"high": quality.high_threshold, "load": quality.load_threshold, "ready": quality.ready_status},
    )[0]
    processed = int(row["PROCESSED"] or 0)
    average = float(row["AVG_SCORE"]) if row["AVG_SCORE"] is not None else None
    return {
        "records_processed": processed,
        "records_ready": int(row["READY"] or 0),
        "quality_score_avg": round(average, 2) if average is not None else None,
        "quality_score_min": float(row["MIN_SCORE"]) if row["MIN_SCORE"] is not None else None,
        "high_quality_records": int(row["HIGH"] or 0),
        "medium_quality_records": int(row["MEDIUM"] or 0),
        "low_quality_records": int(row["LOW"] or 0),
        "orchestration_status": orchestration_status(processed, average, quality),
    }


def _rejected_by_reason(conn: Connection, quality: QualitySettings, quality_relation: str) -> dict[str, int]:
    """How many records were not ready, per reason (DUPLICATE_NATURAL_KEY, ...), most frequent first."""
    reason = identifier(quality.reason_column, what="quality.reason_column")
    status = identifier(quality.status_column, what="quality.status_column")
    rows = conn.fetch_dicts(
        f"SELECT COALESCE({reason}, 'UNSPECIFIED') AS REASON, COUNT(*) AS N FROM {dbt_relation(quality_relation)} "
        f"WHERE {status} <> :ready GROUP BY COALESCE({reason}, 'UNSPECIFIED') ORDER BY N DESC, REASON",
        {"ready": quality.ready_status},
    )
    return {str(row["REASON"]): int(row["N"]) for row in rows}


def load_statistics(
    conn: Connection,
    *,
    quality: QualitySettings,
    quality_relation: str,
    target: TargetSettings,
    target_relation: str,
    process_date: date,
    target_loaded: bool = True,
) -> dict[str, Any]:
    """Counts and quality figures of this run, from the quality model and the loaded target.

    ``target_loaded=False``: the quality gate skipped the load, so this run loaded nothing (the target
    may not even exist yet) and is not counted.
    """
    statistics = quality_statistics(conn, quality=quality, quality_relation=quality_relation)
    if quality.reason_column is not None:  # for the report only: the gate's verdict does not need it
        statistics["rejected_by_reason"] = _rejected_by_reason(conn, quality, quality_relation)
    loaded = day_rows(conn, target, target_relation, process_date) if target_loaded else 0
    return {**statistics, "records_loaded": loaded, "target_loaded": target_loaded}


def build_statistics(conn: Connection, build: dict[str, Any], *, target: TargetSettings | None,
                     target_relation: str | None, process_date: date) -> dict[str, Any]:
    """A stream without a quality gate: what its dbt build did, and the target's rows of the day if it names one."""
    statistics: dict[str, Any] = {"target_loaded": bool(build.get("success")), "dbt_counts": build.get("counts", {})}
    if target is not None and target_relation is not None and statistics["target_loaded"]:
        statistics["records_loaded"] = day_rows(conn, target, target_relation, process_date)
    return statistics


def day_rows(conn: Connection, target: TargetSettings, target_relation: str, process_date: date) -> int:
    """The target's rows of the process date."""
    date_column = identifier(target.process_date_column, what="target.process_date_column")
    return int(conn.scalar(f"SELECT COUNT(*) FROM {dbt_relation(target_relation)} WHERE {date_column} = :d",
                           {"d": process_date}) or 0)


def withdraw_day(conn: Connection, *, target: TargetSettings, target_relation: str, process_date: date) -> int:
    """Remove the day's rows from the target after a build that wrote it but then failed (its tests or children).

    dbt has no rollback once an incremental model committed, so a failed run would otherwise leave a day that
    failed its checks visible to readers. Returns how many rows were removed.
    """
    date_column = identifier(target.process_date_column, what="target.process_date_column")
    with conn.transaction() as tx:
        rows = day_rows(tx, target, target_relation, process_date)
        tx.execute(f"DELETE FROM {dbt_relation(target_relation)} WHERE {date_column} = :d", {"d": process_date})
    return rows
