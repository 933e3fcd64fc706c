"""Reads and writes of the DCF control tables. Flows and tasks call these; they never hold SQL.

Every write is a MERGE on the table's key, so repeating it (a retry, a re-run) never duplicates a row.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from dcf.config import LoadedStream
from dcf.db import Connection
from dcf.errors import RefusedError
from dcf.schema import (
    DCF_T_DATA_LINEAGE,
    DCF_T_NOTIFICATIONS,
    DCF_T_PRCS_EXEC_LOG,
    DCF_T_PRCS_INST,
    DCF_T_STRM,
    PRCS_INST_SEQUENCE,
)
from dcf.sql import Dialect


def utcnow() -> datetime:
    """Naive UTC, as stored in TIMESTAMP / TIMESTAMP_NTZ columns."""
    return datetime.now(UTC).replace(tzinfo=None)


def exec_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def register_streams(conn: Connection, streams: list[LoadedStream]) -> list[str]:
    """Upsert DCF_T_STRM from the stream YAMLs; return what changed (nothing when already current)."""
    existing = {
        row["STRM_ID"]: row
        for row in conn.fetch_dicts(
            f"SELECT STRM_ID, STRM_NAME, STRM_STATUS, CONFIG_HASH, CREATED_TS FROM {conn.qualify(DCF_T_STRM.name)}"
        )
    }
    now = utcnow()
    rows: list[dict[str, Any]] = []
    changes: list[str] = []
    for loaded in streams:
        info = loaded.config.stream
        before = existing.get(info.id)
        if before and before["CONFIG_HASH"] == loaded.sha256 and before["STRM_NAME"] == info.name:
            continue
        changes.append(f"{'updated' if before else 'registered'} stream {info.id} {info.name} ({info.status})")
        rows.append(
            {
                "STRM_ID": info.id,
                "STRM_NAME": info.name,
                "STRM_DESC": info.description or None,
                "STRM_STATUS": info.status,
                "DATASTAGE_SEQUENCE": loaded.config.datastage.sequence if loaded.config.datastage else None,
                "CONFIG_PATH": str(loaded.path),
                "CONFIG_HASH": loaded.sha256,
                "CREATED_TS": before["CREATED_TS"] if before else now,
                "UPDATED_TS": now,
            }
        )
    conn.merge(DCF_T_STRM, rows)
    return changes


# -- DCF_T_STRM reads -------------------------------------------------------------------------------
def stream_row(conn: Connection, strm_id: int) -> dict[str, Any] | None:
    rows = conn.fetch_dicts(
        f"SELECT STRM_ID, STRM_NAME, STRM_STATUS FROM {conn.qualify(DCF_T_STRM.name)} WHERE STRM_ID = :id",
        {"id": strm_id},
    )
    return rows[0] if rows else None


# -- process instances (GetODSProcId) ------------------------------------------------------------------
#: Statuses of an instance that a re-run of the same stream and process date resumes.
RESUMABLE = ("FAILED", "CRASHED", "CANCELLED")
FINAL_STATUSES = ("SUCCEEDED", "COMPLETED_WITH_WARNINGS", *RESUMABLE)


@dataclass(frozen=True)
class Allocation:
    prcs_inst_id: int
    resumed: bool


def running_instances(conn: Connection, strm_id: int) -> list[dict[str, Any]]:
    return conn.fetch_dicts(
        f"SELECT PRCS_INST_ID, PRCS_DATE, FLOW_RUN_ID, PRCS_START_TS FROM {conn.qualify(DCF_T_PRCS_INST.name)} "
        "WHERE STRM_ID = :id AND PRCS_STATUS = 'RUNNING' ORDER BY PRCS_INST_ID",
        {"id": strm_id},
    )


def allocate_instance(
    conn: Connection,
    *,
    strm_id: int,
    strm_name: str,
    process_date: date,
    batch_id: str,
    flow_run_id: str | None,
    deployment_id: str | None,
    reset: bool = False,
) -> Allocation:
    """Allocate a PRCS_INST_ID, or re-attach the instance a restart resumes.

    Resumed: the latest instance of this stream and process date that FAILED / CRASHED / CANCELLED, or
    one still RUNNING under this very flow run (a ``prefect flow-run retry`` keeps the flow run id).
    ``reset`` starts over with a new instance instead. Ids come from a sequence, so concurrent
    allocations never collide (the spec's MAX+1 would). Another flow run's RUNNING instance is refused.
    """
    table = conn.qualify(DCF_T_PRCS_INST.name)
    now = utcnow()
    with conn.transaction():
        # Serialise allocations per stream, so the RUNNING check below cannot race: on Snowflake this
        # UPDATE holds the stream row until COMMIT and later statements read committed data; on DuckDB
        # the per-file transaction lock (dcf.db.open_duckdb) already serialises the whole transaction.
        conn.execute(f"UPDATE {conn.qualify(DCF_T_STRM.name)} SET STRM_STATUS = STRM_STATUS WHERE STRM_ID = :id",
                     {"id": strm_id})
        for other in running_instances(conn, strm_id):
            if flow_run_id is None or other["FLOW_RUN_ID"] != flow_run_id:
                raise RefusedError(
                    f"stream {strm_name} already has process instance {other['PRCS_INST_ID']} RUNNING "
                    f"(flow run {other['FLOW_RUN_ID']}); one instance per stream at a time"
                )
        previous = conn.fetch_dicts(
            f"SELECT PRCS_INST_ID, PRCS_STATUS, FLOW_RUN_ID FROM {table} "
            "WHERE STRM_ID = :id AND PRCS_DATE = :d ORDER BY PRCS_INST_ID DESC LIMIT 1",
            {"id": strm_id, "d": process_date},
        )
        last = previous[0] if previous else None
        resumable = last is not None and (
            last["PRCS_STATUS"] in RESUMABLE
            or (last["PRCS_STATUS"] == "RUNNING" and flow_run_id and last["FLOW_RUN_ID"] == flow_run_id)
        )
        if resumable and not reset:
            conn.execute(
                f"UPDATE {table} SET PRCS_STATUS = 'RUNNING', PRCS_END_TS = NULL, ERROR_MESSAGE = NULL, "
                "FLOW_RUN_ID = :flow_run, DEPLOYMENT_ID = :deployment, UPDATED_TS = :now WHERE PRCS_INST_ID = :inst",
                {"flow_run": flow_run_id, "deployment": deployment_id, "now": now, "inst": last["PRCS_INST_ID"]},
            )
            return Allocation(int(last["PRCS_INST_ID"]), resumed=True)
        if resumable and reset:
            conn.execute(
                f"UPDATE {table} SET PRCS_STATUS = 'CANCELLED', PRCS_END_TS = COALESCE(PRCS_END_TS, :now), "
                "ERROR_MESSAGE = 'superseded by a reset run', UPDATED_TS = :now WHERE PRCS_INST_ID = :inst",
                {"now": now, "inst": last["PRCS_INST_ID"]},
            )
        new_id = next_process_instance_id(conn)
        conn.insert(
            DCF_T_PRCS_INST,
            [
                {
                    "PRCS_INST_ID": new_id, "STRM_ID": strm_id, "STRM_NAME": strm_name, "PRCS_DATE": process_date,
                    "ODS_BATCH_ID": batch_id, "PRCS_STATUS": "RUNNING", "ORCHESTRATION_STATUS": None,
                    "LAST_GOOD_STAGE": None, "PRCS_START_TS": now, "PRCS_END_TS": None, "FLOW_RUN_ID": flow_run_id,
                    "DEPLOYMENT_ID": deployment_id, "ERROR_MESSAGE": None, "EXEC_USER_ID": exec_user(),
                    "UPDATED_TS": now,
                }
            ],
        )
    return Allocation(new_id, resumed=False)


def next_process_instance_id(conn: Connection) -> int:
    """The next id from the process-instance sequence."""
    return int(conn.scalar(_nextval(conn, PRCS_INST_SEQUENCE)))


def _nextval(conn: Connection, sequence: str) -> str:
    name = conn.qualify(sequence)
    return f"SELECT {name}.NEXTVAL" if conn.dialect is Dialect.SNOWFLAKE else f"SELECT nextval('{name}')"


def instance_row(conn: Connection, prcs_inst_id: int) -> dict[str, Any] | None:
    return conn.row_by_key(DCF_T_PRCS_INST, PRCS_INST_ID=prcs_inst_id)


def update_instance(
    conn: Connection,
    prcs_inst_id: int,
    *,
    status: str | None = None,
    orchestration_status: str | None = None,
    last_good_stage: str | None = None,
    error: str | None = None,
) -> None:
    """Move an instance; a final status also sets PRCS_END_TS. An ended instance is not reopened here."""
    now = utcnow()
    sets = ["UPDATED_TS = :now"]
    params: dict[str, Any] = {"now": now, "id": prcs_inst_id}
    if status:
        sets.append("PRCS_STATUS = :status")
        params["status"] = status
        if status in FINAL_STATUSES:
            sets.append("PRCS_END_TS = :now")
    if orchestration_status:
        sets.append("ORCHESTRATION_STATUS = :orch")
        params["orch"] = orchestration_status
    if last_good_stage:
        sets.append("LAST_GOOD_STAGE = :stage")
        params["stage"] = last_good_stage
    if error is not None:
        sets.append("ERROR_MESSAGE = :error")
        params["error"] = error[:4000]
    conn.execute(
        f"UPDATE {conn.qualify(DCF_T_PRCS_INST.name)} SET {', '.join(sets)} "
        "WHERE PRCS_INST_ID = :id AND PRCS_STATUS = 'RUNNING'",
        params,
    )


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
    if status == "RUNNING":
        if same_attempt and before["PRCS_STATUS"] != "RUNNING":
            return  # a late on_running hook after the task already finished its row
        attempt = (before["ATTEMPT"] if before else 0) + (0 if same_attempt else 1)
        start = before["PRCS_START_TS"] if same_attempt else now
        end = None
    else:
        attempt = before["ATTEMPT"] if before else 1
        start = before["PRCS_START_TS"] if before else (started_at or now)
        end = now
        if before and same_attempt and before["PRCS_STATUS"] == status:
            return  # already recorded by the other writer
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
        keep_existing=("PRCS_STATISTICS",) if status in ("RUNNING", "FAILED") else (),
    )


# -- lineage (GetFileList / MvLoadFiles) --------------------------------------------------------------------
def record_loaded_file(conn: Connection, ref: InstanceRef, row: dict[str, Any]) -> None:
    """A landing file was loaded: upsert its lineage row (LOADED, archive pending)."""
    now = utcnow()
    conn.merge(
        DCF_T_DATA_LINEAGE,
        [
            {
                "STRM_ID": ref.strm_id, "PRCS_DATE": ref.process_date, "PRCS_INST_ID": ref.prcs_inst_id,
                "ODS_BATCH_ID": ref.batch_id, "LOADED_TS": now, "ARCHIVE_STATUS": "PENDING", "ARCHIVE_PATH": None,
                "ARCHIVE_TS": None, "RETENTION_EXPIRY_DATE": None, "LIFECYCLE_STAGE": "LOADED", "UPDATED_TS": now,
                **row,
            }
        ],
    )


def lineage_rows(conn: Connection, ref: InstanceRef) -> list[dict[str, Any]]:
    return conn.fetch_dicts(
        f"SELECT * FROM {conn.qualify(DCF_T_DATA_LINEAGE.name)} WHERE STRM_ID = :s AND PRCS_DATE = :d "
        "ORDER BY SOURCE_FILE_NAME",
        {"s": ref.strm_id, "d": ref.process_date},
    )


def archived_by_latest_instance(conn: Connection, strm_id: int, process_date: date) -> list[dict[str, Any]]:
    """The date's landing files that its latest process instance loaded and already archived, with that
    instance's status (a resumable one restores its ingest from the checkpoint and needs no landing file)."""
    lineage, instances = conn.qualify(DCF_T_DATA_LINEAGE.name), conn.qualify(DCF_T_PRCS_INST.name)
    return conn.fetch_dicts(
        f"SELECT l.SOURCE_FILE_NAME, l.ARCHIVE_PATH, l.PRCS_INST_ID, i.PRCS_STATUS FROM {lineage} l "
        f"JOIN {instances} i ON i.PRCS_INST_ID = l.PRCS_INST_ID "
        "WHERE l.STRM_ID = :s AND l.PRCS_DATE = :d AND l.ARCHIVE_STATUS = 'COMPLETED' AND l.PRCS_INST_ID = "
        f"(SELECT MAX(PRCS_INST_ID) FROM {instances} WHERE STRM_ID = :s AND PRCS_DATE = :d) "
        "ORDER BY l.SOURCE_FILE_NAME",
        {"s": strm_id, "d": process_date},
    )


def mark_archived(
    conn: Connection, ref: InstanceRef, file_name: str, archive_path: str, retention_expiry: date
) -> None:
    now = utcnow()
    conn.execute(
        f"UPDATE {conn.qualify(DCF_T_DATA_LINEAGE.name)} SET ARCHIVE_STATUS = 'COMPLETED', ARCHIVE_PATH = :path, "
        "ARCHIVE_TS = :now, RETENTION_EXPIRY_DATE = :expiry, LIFECYCLE_STAGE = 'ARCHIVED', UPDATED_TS = :now "
        "WHERE STRM_ID = :s AND PRCS_DATE = :d AND SOURCE_FILE_NAME = :f",
        {"path": archive_path, "now": now, "expiry": retention_expiry, "s": ref.strm_id, "d": ref.process_date,
         "f": file_name},
    )


# -- notifications (report) ---------------------------------------------------------------------------------
def queue_notification(conn: Connection, ref: InstanceRef, kind: str, content: dict[str, Any],
                       channels: list[str]) -> str:
    """Queue a report as PENDING (re-queuing the same instance and kind replaces it); returns its id."""
    now = utcnow()
    notification_id = f"{ref.prcs_inst_id}-{kind}"
    conn.merge(
        DCF_T_NOTIFICATIONS,
        [
            {
                "NOTIFICATION_ID": notification_id, "NOTIFICATION_TYPE": kind, "STRM_ID": ref.strm_id,
                "STRM_NAME": ref.strm_name, "PRCS_INST_ID": ref.prcs_inst_id, "PRCS_DATE": ref.process_date,
                "NOTIFICATION_CONTENT": content, "NOTIFICATION_STATUS": "PENDING", "DELIVERY_CHANNELS": channels,
                "DELIVERY_ERROR": None, "CREATED_TS": now, "SENT_TS": None, "UPDATED_TS": now,
            }
        ],
        update=["NOTIFICATION_CONTENT", "NOTIFICATION_STATUS", "DELIVERY_CHANNELS", "DELIVERY_ERROR", "SENT_TS",
                "UPDATED_TS"],
    )
    return notification_id


def finish_notification(conn: Connection, notification_id: str, *, error: str | None) -> None:
    now = utcnow()
    conn.execute(
        f"UPDATE {conn.qualify(DCF_T_NOTIFICATIONS.name)} SET NOTIFICATION_STATUS = :status, "
        "DELIVERY_ERROR = :error, SENT_TS = :now, UPDATED_TS = :now WHERE NOTIFICATION_ID = :id",
        {"status": "FAILED" if error else "SENT", "error": error[:4000] if error else None, "now": now,
         "id": notification_id},
    )


def instances_of_flow_run(conn: Connection, flow_run_id: str) -> list[int]:
    """RUNNING process instances owned by a flow run."""
    rows = conn.fetchall(
        f"SELECT PRCS_INST_ID FROM {conn.qualify(DCF_T_PRCS_INST.name)} "
        "WHERE FLOW_RUN_ID = :id AND PRCS_STATUS = 'RUNNING'",
        {"id": flow_run_id},
    )
    return [int(row[0]) for row in rows]


def close_stages_of_ended_instances(conn: Connection, *, reason: str = "its process instance ended") -> int:
    """Stage rows still RUNNING although their process instance has ended are closed FAILED.

    A killed process writes no stage end; whoever closes the instance afterwards (the flow's crash hook,
    reconcile) calls this so no stage row is left RUNNING. Returns how many rows were closed.
    """
    stages, instances = conn.qualify(DCF_T_PRCS_EXEC_LOG.name), conn.qualify(DCF_T_PRCS_INST.name)
    where = (f"PRCS_STATUS = 'RUNNING' AND PRCS_INST_ID IN "
             f"(SELECT PRCS_INST_ID FROM {instances} WHERE PRCS_STATUS <> 'RUNNING')")
    count = int(conn.scalar(f"SELECT COUNT(*) FROM {stages} WHERE {where}") or 0)
    if count:
        now = utcnow()
        conn.execute(f"UPDATE {stages} SET PRCS_STATUS = 'FAILED', PRCS_END_TS = :now, ERROR_MESSAGE = :reason, "
                     f"UPDATED_TS = :now WHERE {where}", {"now": now, "reason": f"closed: {reason}"[:4000]})
    return count
