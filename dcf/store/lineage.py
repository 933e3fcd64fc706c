"""DCF_T_DATA_LINEAGE: the landing files a stream consumed (GetFileList / MvLoadFiles)."""

from __future__ import annotations

from datetime import date
from typing import Any

from dcf.store.clock import utcnow
from dcf.store.connection import Connection
from dcf.store.schema import DCF_T_DATA_LINEAGE, DCF_T_PRCS_INST
from dcf.store.stage_rows import InstanceRef
from dcf.store.statuses import ArchiveStatus, LifecycleStage


# -- lineage (GetFileList / MvLoadFiles) --------------------------------------------------------------------
def record_loaded_file(conn: Connection, ref: InstanceRef, row: dict[str, Any]) -> None:
    """A landing file was loaded: upsert its lineage row (LOADED, archive pending)."""
    now = utcnow()
    conn.merge(
        DCF_T_DATA_LINEAGE,
        [
            {
                "STRM_ID": ref.strm_id, "PRCS_DATE": ref.process_date, "PRCS_INST_ID": ref.prcs_inst_id,
                "ODS_BATCH_ID": ref.batch_id, "LOADED_TS": now, "ARCHIVE_STATUS": ArchiveStatus.PENDING,
                "ARCHIVE_PATH": None, "ARCHIVE_TS": None, "RETENTION_EXPIRY_DATE": None,
                "LIFECYCLE_STAGE": LifecycleStage.LOADED, "UPDATED_TS": now,
                **row,
            }
        ],
    )


def lineage_rows(conn: Connection, ref: InstanceRef) -> list[dict[str, Any]]:
    """The landing files this process instance loaded."""
    return sorted(conn.rows_where(DCF_T_DATA_LINEAGE, STRM_ID=ref.strm_id, PRCS_DATE=ref.process_date,
                                  PRCS_INST_ID=ref.prcs_inst_id), key=lambda row: row["SOURCE_FILE_NAME"])


def archived_by_latest_instance(conn: Connection, strm_id: int, process_date: date) -> list[dict[str, Any]]:
    """The date's landing files that its latest process instance loaded and archived (or began to: a crash
    between the move and its record), with that instance's status (a resumable one restores its ingest
    from the checkpoint and needs no landing file)."""
    lineage, instances = conn.qualify(DCF_T_DATA_LINEAGE.name), conn.qualify(DCF_T_PRCS_INST.name)
    return conn.fetch_dicts(
        f"SELECT l.SOURCE_FILE_NAME, l.ARCHIVE_PATH, l.PRCS_INST_ID, i.PRCS_STATUS FROM {lineage} l "
        f"JOIN {instances} i ON i.PRCS_INST_ID = l.PRCS_INST_ID "
        "WHERE l.STRM_ID = :s AND l.PRCS_DATE = :d AND l.ARCHIVE_STATUS IN (:archived, :moving) "
        f"AND l.PRCS_INST_ID = (SELECT MAX(PRCS_INST_ID) FROM {instances} WHERE STRM_ID = :s AND PRCS_DATE = :d) "
        "ORDER BY l.SOURCE_FILE_NAME",
        {"s": strm_id, "d": process_date, "archived": ArchiveStatus.COMPLETED, "moving": ArchiveStatus.MOVING},
    )


def mark_moving(conn: Connection, ref: InstanceRef, file_name: str, archive_path: str) -> None:
    """Record the intent before a file is moved: a crash after the move leaves a row that says where it went."""
    conn.execute(
        f"UPDATE {conn.qualify(DCF_T_DATA_LINEAGE.name)} SET ARCHIVE_STATUS = :moving, ARCHIVE_PATH = :path, "
        "UPDATED_TS = :now WHERE STRM_ID = :s AND PRCS_DATE = :d AND SOURCE_FILE_NAME = :f AND PRCS_INST_ID = :inst "
        "AND ARCHIVE_STATUS <> :archived",
        {"moving": ArchiveStatus.MOVING, "archived": ArchiveStatus.COMPLETED, "path": archive_path, "now": utcnow(),
         "s": ref.strm_id, "d": ref.process_date, "f": file_name, "inst": ref.prcs_inst_id},
    )


def mark_archived(
    conn: Connection, ref: InstanceRef, file_name: str, archive_path: str, retention_expiry: date
) -> None:
    now = utcnow()
    conn.execute(
        f"UPDATE {conn.qualify(DCF_T_DATA_LINEAGE.name)} SET ARCHIVE_STATUS = :archived, ARCHIVE_PATH = :path, "
        "ARCHIVE_TS = :now, RETENTION_EXPIRY_DATE = :expiry, LIFECYCLE_STAGE = :stage, UPDATED_TS = :now "
        "WHERE STRM_ID = :s AND PRCS_DATE = :d AND SOURCE_FILE_NAME = :f AND PRCS_INST_ID = :inst",
        {"archived": ArchiveStatus.COMPLETED, "stage": LifecycleStage.ARCHIVED, "path": archive_path, "now": now,
         "expiry": retention_expiry, "s": ref.strm_id, "d": ref.process_date, "f": file_name,
         "inst": ref.prcs_inst_id},
    )
