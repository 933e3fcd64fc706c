"""MvLoadFiles: archive the landing files this instance loaded and set their retention."""

from __future__ import annotations

from pathlib import Path

from dcf.store.lineage import lineage_rows, mark_archived, mark_moving
from dcf.store.statuses import LifecycleStage
from dcf.stream.archive import archive_file, archive_folder, retention_expiry
from dcf.stream.run import StreamRun
from runtime.connections import connect
from tasks.stage import StageResult, stage


@stage("lifecycle")
def lifecycle(run: StreamRun) -> StageResult:
    config = run.config
    folder = archive_folder(config.lifecycle.archive_dir, run.stream_name, run.process_date, run.prcs_inst_id)
    expiry = retention_expiry(run.process_date, config.lifecycle.retention_days)
    archived = []
    with connect(run.warehouse_block) as conn:
        # Only files recorded as loaded are moved: a file nobody loaded is never touched.
        for row in lineage_rows(conn, run.ref):
            if row["LIFECYCLE_STAGE"] not in (LifecycleStage.LOADED, LifecycleStage.ARCHIVED):
                continue
            # Intent, move, result: a crash between any two leaves a row that says where the file is.
            source = Path(row["SOURCE_FILE_PATH"])
            mark_moving(conn, run.ref, row["SOURCE_FILE_NAME"], str(folder / source.name))
            target = archive_file(source, folder, row["FILE_SHA256"])
            mark_archived(conn, run.ref, row["SOURCE_FILE_NAME"], str(target), expiry)
            archived.append(row["SOURCE_FILE_NAME"])
    return StageResult({"archived_files": archived, "archive_folder": str(folder),
                        "retention_expiry_date": expiry.isoformat()})
