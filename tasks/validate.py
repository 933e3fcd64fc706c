"""JobOccrStart: may this stream run now? Active, not already running, source data present.

A refusal raises :class:`~dcf.errors.RefusedError` and writes no process instance.
"""

from __future__ import annotations

from typing import Any

from prefect import task

from dcf.config import LoadedStream, parse_stream_file
from dcf.control import register_streams, running_instances, stream_row, utcnow
from dcf.db import Connection
from dcf.errors import RefusedError
from dcf.ingest import require_files
from dcf.migrate import ensure_schema
from dcf.run import StreamRun
from dcf.sql import identifier
from tasks.warehouse import connect


@task(name="validate", task_run_name="validate-{run.stream_name}", cache_policy=None, persist_result=False)
def validate(run: StreamRun) -> dict[str, Any]:
    """Check the stream can run; return what was checked (recorded on the validate stage row)."""
    started = utcnow()
    loaded: LoadedStream = parse_stream_file(run.config_path)
    config = loaded.config
    with connect(run.warehouse_block) as conn:
        ensure_schema(conn)
        register_streams(conn, [loaded])
        _close_orphans(run, conn)
        row = stream_row(conn, config.stream.id)
        if row is None or row["STRM_STATUS"] != "ACTIVE":
            raise RefusedError(f"stream {run.stream_name} is {row['STRM_STATUS'] if row else 'not registered'} in "
                               "DCF_T_STRM; only ACTIVE streams run")
        for other in running_instances(conn, config.stream.id):
            raise RefusedError(
                f"stream {run.stream_name} already has process instance {other['PRCS_INST_ID']} RUNNING "
                f"(flow run {other['FLOW_RUN_ID']}); one instance per stream at a time"
            )
        if config.source.landing:
            files = [f.name for f in require_files(config.source.landing, run.process_date)]
            source = {"landing_files": files}
        else:
            date_column = identifier(config.source.process_date_column)
            count = conn.scalar(f"SELECT COUNT(*) FROM {config.source.relation} WHERE {date_column} = :d",
                                {"d": run.process_date})
            if not count:
                raise RefusedError(f"no source rows in {config.source.relation} for {run.process_date}")
            source = {"source_rows": int(count)}
    return {"started_at": started.isoformat(sep=" "), "stream_status": "ACTIVE", **source}


def _close_orphans(run: StreamRun, conn: Connection) -> None:
    """Close instances and log rows a crashed run of this stream left RUNNING (see flows/reconcile.py)."""
    from flows.reconcile import reconcile_stream  # asks the Prefect API, so it lives beside the flow

    reconcile_stream(run.stream_name, conn=conn)
