"""GetFileList + bulk load: load the process date's landing files into the stream's raw table."""

from __future__ import annotations

from typing import Any

from dcf.store.lineage import record_loaded_file
from dcf.stream.activities import Activity
from dcf.stream.archive import archive_folder
from dcf.stream.landing import discover, load_file, require_files
from dcf.stream.run import StreamRun
from dcf.stream.settings import SourceSettings
from runtime.connections import connect
from runtime.log import flow_logger
from tasks.stage import StageResult


def source_of(run: StreamRun, activity: Activity) -> SourceSettings:
    """The activity's own source, else the stream's ``source:``."""
    return activity.ingest.source or run.config.source


def landing_changed(source: SourceSettings, run: StreamRun, statistics: dict[str, Any]) -> str | None:
    """Why an earlier ingest of this process instance no longer matches the landing files, or None.

    Files no longer in the landing folder (archived by the lifecycle stage) are no change; a file that
    is new, or has other content than the one ingested, is: resuming would build from the old rows.
    """
    landing = source.landing
    if landing is None:
        return None
    ingested = {f["file"]: f["sha256"] for f in statistics.get("files", [])}
    present = {f.name: f.sha256 for f in discover(landing, run.process_date)}
    differing = sorted(name for name, sha256 in present.items() if ingested.get(name) != sha256)
    if differing:
        return f"landing file(s) {', '.join(differing)} for {run.process_date} differ from those it ingested"
    return None


def run(run: StreamRun, activity: Activity, inputs: dict[str, Any]) -> StageResult:
    source = source_of(run, activity)
    landing = source.landing
    if landing is None:
        # The source table is filled upstream (validate counted its rows for the day): nothing to load.
        return StageResult({"files": [], "records": 0, "note": "no landing files configured; nothing ingested"})
    files = require_files(landing, run.process_date)
    loaded, warnings = [], []
    logger = flow_logger()
    # Rejected rows are kept beside the archived copy of the delivery they came from.
    rejects_dir = archive_folder(run.config.lifecycle.archive_dir, run.stream_name, run.process_date,
                                 run.prcs_inst_id)
    with connect(run.warehouse_block) as conn:
        for number, file in enumerate(files, start=1):
            logger.info("ingest: loading %s (%d of %d, %s bytes) into %s", file.name, number, len(files),
                        f"{file.size:,}", source.relation)
            result = load_file(conn, source.relation, file, run.ref, landing.delimiter, columns=source.columns,
                               max_rejects=landing.max_rejects, rejects_dir=rejects_dir)
            logger.info("ingest: %s rows from %s", f"{result.rows:,}", file.name)
            if result.rejected:
                warnings.append(f"{file.name}: {len(result.rejected)} row(s) rejected (within landing.max_rejects "
                                f"{landing.max_rejects}), see {result.rejects_file}")
            record_loaded_file(conn, run.ref, {
                "SOURCE_FILE_NAME": file.name, "SOURCE_FILE_PATH": str(file.path), "FILE_SIZE_BYTES": file.size,
                "FILE_SHA256": file.sha256, "RECORD_COUNT": result.rows, "REJECTED_RECORD_COUNT": len(result.rejected),
                "TARGET_RELATION": source.relation,
            })
            loaded.append({"file": file.name, "records": result.rows, "sha256": file.sha256,
                           "rejected": len(result.rejected),
                           "rejects_file": str(result.rejects_file) if result.rejects_file else None})
    return StageResult({"files": loaded, "records": sum(f["records"] for f in loaded)}, warnings)
