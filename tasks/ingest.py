"""GetFileList + bulk load: load the process date's landing files into the stream's raw table."""

from __future__ import annotations

from dcf.control import record_loaded_file
from dcf.ingest import load_file, require_files
from dcf.run import StreamRun
from tasks.stage import StageResult, stage
from tasks.warehouse import connect


@stage("ingest")
def ingest(run: StreamRun) -> StageResult:
    config = run.config
    landing = config.source.landing
    if landing is None:
        return StageResult({"files": [], "records": 0}, ["stream has no landing files; nothing ingested"])
    files = require_files(landing, run.process_date)
    loaded = []
    with connect(run.warehouse_block) as conn:
        for file in files:
            rows = load_file(conn, config.source.relation, file, run.ref, landing.delimiter)
            record_loaded_file(conn, run.ref, {
                "SOURCE_FILE_NAME": file.name, "SOURCE_FILE_PATH": str(file.path), "FILE_SIZE_BYTES": file.size,
                "FILE_SHA256": file.sha256, "RECORD_COUNT": rows, "TARGET_RELATION": config.source.relation,
            })
            loaded.append({"file": file.name, "records": rows, "sha256": file.sha256})
    return StageResult({"files": loaded, "records": sum(f["records"] for f in loaded)})
