"""GetFileList + bulk load: load the process date's landing files into the stream's raw table."""

from __future__ import annotations

from typing import Any

from dcf.store.lineage import record_loaded_file
from dcf.stream.activities import Activity
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
    loaded = []
    logger = flow_logger()
    with connect(run.warehouse_block) as conn:
        for number, file in enumerate(files, start=1):
            logger.info("ingest: loading %s (%d of %d, %s bytes) into %s", file.name, number, len(files),
                        f"{file.size:,}", source.relation)
            rows = load_file(conn, source.relation, file, run.ref, landing.delimiter)
            logger.info("ingest: %s rows from %s", f"{rows:,}", file.name)
            record_loaded_file(conn, run.ref, {
                "SOURCE_FILE_NAME": file.name, "SOURCE_FILE_PATH": str(file.path), "FILE_SIZE_BYTES": file.size,
                "FILE_SHA256": file.sha256, "RECORD_COUNT": rows, "TARGET_RELATION": source.relation,
            })
            loaded.append({"file": file.name, "records": rows, "sha256": file.sha256})
    return StageResult({"files": loaded, "records": sum(f["records"] for f in loaded)})
