"""DCF_T_PRCS_EXEC_LOG: one row per stage (activity) of a process instance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dcf.store.clock import exec_user, utcnow
from dcf.store.connection import Connection
from dcf.store.schema import DCF_T_PRCS_EXEC_LOG
from dcf.store.statuses import StageStatus


# -- stage rows (DCF_T_PRCS_EXEC_LOG) ---------------------------------------------------------------------
@dataclass(frozen=True)
class InstanceRef:
    """What every stage row repeats about its process instance."""

    prcs_inst_id: int
    strm_id: int
    strm_name: str
    process_date: date
    batch_id: str


def stage_rows(conn: Connection, prcs_inst_id: int) -> dict[str, dict[str, Any]]:
    return {row["PRCS_NAME"]: row for row in conn.rows_where(DCF_T_PRCS_EXEC_LOG, PRCS_INST_ID=prcs_inst_id)}


def write_stage(
    conn: Connection,
    ref: InstanceRef,
    stage: str,
    status: str,
    *,
    task_run_id: str | None = None,
    statistics: dict[str, Any] | None = None,
    error: str | None = None,
    started_at: datetime | None = None,
) -> None:
    """Upsert the stage row. RUNNING starts an attempt (counted once per task run); an end status closes it.

    Called by the stage task and by its state hooks; both calls land on the same key, so the second one
    changes nothing that matters. ``started_at`` is the start of a stage whose row is first written when
    it ends (validate and process_id run before the instance exists); otherwise the start is "now".
    """
    table = conn.qualify(DCF_T_PRCS_EXEC_LOG.name)
    now = utcnow()
    existing = conn.fetch_dicts(
        f"SELECT ATTEMPT, TASK_RUN_ID, PRCS_START_TS, PRCS_STATUS FROM {table} "
        "WHERE PRCS_INST_ID = :id AND PRCS_NAME = :stage",
        {"id": ref.prcs_inst_id, "stage": stage},
    )
    before = existing[0] if existing else None
    same_attempt = before is not None and before["TASK_RUN_ID"] == task_run_id and task_run_id is not None
    if status == StageStatus.RUNNING:
        if same_attempt and before["PRCS_STATUS"] != StageStatus.RUNNING:
            return  # a late on_running hook after the task already finished its row
        attempt = (before["ATTEMPT"] if before else 0) + (0 if same_attempt else 1)
        start = before["PRCS_START_TS"] if same_attempt else now
        end = None
    elif before is None or (started_at is not None and not same_attempt):
        # first written when it ends (validate, process_id): a resumed run's row is a new attempt from its own start
        attempt = before["ATTEMPT"] + 1 if before else 1
        start = started_at or now
        end = now
    else:
        if same_attempt and before["PRCS_STATUS"] == status:
            return  # already recorded by the other writer
        attempt, start, end = before["ATTEMPT"], before["PRCS_START_TS"], now
    conn.merge(
        DCF_T_PRCS_EXEC_LOG,
        [
            {
                "PRCS_INST_ID": ref.prcs_inst_id, "PRCS_NAME": stage, "STRM_ID": ref.strm_id,
                "STRM_NAME": ref.strm_name, "PRCS_DATE": ref.process_date, "ODS_BATCH_ID": ref.batch_id,
                "PRCS_START_TS": start, "PRCS_END_TS": end, "PRCS_STATUS": status, "PRCS_STATISTICS": statistics,
                "ERROR_MESSAGE": error[:4000] if error else None, "ATTEMPT": attempt,
                "TASK_RUN_ID": task_run_id, "EXEC_USER_ID": exec_user(), "UPDATED_TS": now,
            }
        ],
        keep_existing=("PRCS_STATISTICS",) if status in (StageStatus.RUNNING, StageStatus.FAILED) else (),
    )
