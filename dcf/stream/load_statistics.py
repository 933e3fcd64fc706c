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
        **({} if quality.reason_column is None else
           {"rejected_by_reason": _rejected_by_reason(conn, quality, quality_relation, status)}),
    }


def _rejected_by_reason(conn: Connection, quality: QualitySettings, quality_relation: str,
                        status: str) -> dict[str, int]:
    """How many records were not ready, per reason (DUPLICATE_NATURAL_KEY, ...), most frequent first."""
    reason = identifier(quality.reason_column, what="quality.reason_column")
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
    loaded = 0
    if target_loaded:
        date_column = identifier(target.process_date_column, what="target.process_date_column")
        loaded = conn.scalar(
            f"SELECT COUNT(*) FROM {dbt_relation(target_relation)} WHERE {date_column} = :d", {"d": process_date}
        )
    return {**statistics, "records_loaded": int(loaded or 0), "target_loaded": target_loaded}


def build_statistics(conn: Connection, build: dict[str, Any], *, target: TargetSettings | None,
                     target_relation: str | None, process_date: date) -> dict[str, Any]:
    """A stream without a quality gate: what its dbt build did, and the target's rows of the day if it names one."""
    statistics: dict[str, Any] = {"target_loaded": bool(build.get("success")), "dbt_counts": build.get("counts", {})}
    if target is not None and target_relation is not None and statistics["target_loaded"]:
        date_column = identifier(target.process_date_column, what="target.process_date_column")
        statistics["records_loaded"] = int(conn.scalar(
            f"SELECT COUNT(*) FROM {dbt_relation(target_relation)} WHERE {date_column} = :d", {"d": process_date}
        ) or 0)
    return statistics


def withdraw_day(conn: Connection, *, target: TargetSettings, target_relation: str, process_date: date) -> int:
    """Remove the day's rows from the target after a build that wrote it but then failed (its tests or children).

    dbt has no rollback once an incremental model committed, so a failed run would otherwise leave a day that
    failed its checks visible to readers. Returns how many rows were removed.
    """
    relation = dbt_relation(target_relation)
    date_column = identifier(target.process_date_column, what="target.process_date_column")
    with conn.transaction() as tx:
        rows = int(tx.scalar(f"SELECT COUNT(*) FROM {relation} WHERE {date_column} = :d", {"d": process_date}) or 0)
        tx.execute(f"DELETE FROM {relation} WHERE {date_column} = :d", {"d": process_date})
    return rows
