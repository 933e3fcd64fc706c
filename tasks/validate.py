"""JobOccrStart: may this stream run now? Active, not already running, source data present.

A refusal (inactive, already running, a broken profile) raises :class:`~dcf.errors.RefusedError` and writes no
process instance. Missing source data for the day is not a refusal: the result carries the error, the stream
flow allocates the instance, records the validate row FAILED and fails the run like any other failure (the
report, the board).
"""

from __future__ import annotations

from typing import Any

from blocks.default_warehouse import load_warehouse
from dcf.build.profiles import rendered_credentials
from dcf.errors import DcfError, RefusedError
from dcf.store.connection import Connection
from dcf.store.dialect import identifier
from dcf.store.instances import running_instances
from dcf.store.lineage import archived_by_latest_instance
from dcf.store.migrate import ensure_schema
from dcf.store.statuses import RESUMABLE, StreamStatus
from dcf.store.streams import register_streams, stream_row
from dcf.stream.definition import LoadedStream, parse_stream_file
from dcf.stream.landing import landing_paths, missing_files_message
from dcf.stream.run import StreamRun
from runtime.connections import connect
from runtime.flow_runs import reconcile_stream
from tasks.stage import StageResult, pre_instance_stage


@pre_instance_stage("validate")
def validate(run: StreamRun) -> StageResult:
    """Check the stream can run; return what was checked (recorded on the validate stage row)."""
    loaded: LoadedStream = parse_stream_file(run.config_path)
    config = loaded.config
    with connect(run.warehouse_block) as conn:
        ensure_schema(conn)
        register_streams(conn, [loaded.record()])
        _close_orphans(run, conn)
        row = stream_row(conn, config.stream.id)
        if row is None or row["STRM_STATUS"] != StreamStatus.ACTIVE:
            raise RefusedError(f"stream {run.stream_name} is {row['STRM_STATUS'] if row else 'not registered'} in "
                               "DCF_T_STRM; only ACTIVE streams run")
        for other in running_instances(conn, config.stream.id):
            raise RefusedError(
                f"stream {run.stream_name} already has process instance {other['PRCS_INST_ID']} RUNNING "
                f"(flow run {other['FLOW_RUN_ID']}); one instance per stream at a time"
            )
        _check_profiles(run)
        checked = {"stream_status": StreamStatus.ACTIVE.value, "config_sha256": loaded.sha256}
        try:
            source = _source(run, conn)
        except NoSourceData as missing:  # the day's run fails (recorded, reported), it is not refused
            return StageResult(checked, error=str(missing))
    return StageResult({**checked, **source})


class NoSourceData(DcfError):
    """The day's source data is not there: the run fails like DataStage's file list would, with its instance."""


def _source(run: StreamRun, conn: Connection) -> dict[str, Any]:
    """What the day's source holds (landing files, or rows of the source relation for the date)."""
    config = run.config
    if config.source is None:
        return {}
    if config.source.landing:
        return _landing_source(run, conn)
    date_column = identifier(config.source.process_date_column)
    count = conn.scalar(f"SELECT COUNT(*) FROM {config.source.relation} WHERE {date_column} = :d",
                        {"d": run.process_date})
    if not count:
        raise NoSourceData(f"no source rows in {config.source.relation} for {run.process_date}")
    return {"source_rows": int(count)}


def _check_profiles(run: StreamRun) -> None:
    """A stream that names its own profiles dir must build into its own warehouse, not into a stray file."""
    dbt = run.config.dbt
    if dbt is None or dbt.profiles_path is None:
        return  # no dbt, or the build writes a profile for the warehouse
    warehouse = load_warehouse(run.warehouse_block)
    credentials = rendered_credentials(dbt.project_path, dbt.profiles_path, dbt.target, env=warehouse.dbt_env())
    problem = warehouse.dbt_destination_problem(credentials)
    if problem:
        raise RefusedError(f"{run.config_path}: dbt.profiles_dir: {dbt.profiles_path / 'profiles.yml'} target "
                           f"{dbt.target}: {problem}; fix the profile, or leave dbt.profiles_dir out to build with "
                           "the warehouse's own profile")


def _landing_source(run: StreamRun, conn: Connection) -> dict[str, Any]:
    """The day's landing files; or, when a crash came after the lifecycle stage had archived them, the
    archived files of the instance a NORMAL run resumes (its ingest is restored, not run again)."""
    config = run.config
    landing = config.source.landing
    # Presence is all validation needs: ingest hashes the files it loads.
    paths = landing_paths(landing, run.process_date)
    if paths:
        return {"landing_files": [path.name for path in paths]}
    archived = archived_by_latest_instance(conn, config.stream.id, run.process_date)
    if archived and archived[0]["PRCS_STATUS"] in RESUMABLE and not run.reset:
        return {"landing_files": [], "archived_files_of_resumed_instance": [a["SOURCE_FILE_NAME"] for a in archived]}
    hint = ""
    if archived:
        paths = ", ".join(a["ARCHIVE_PATH"] for a in archived)
        hint = (f"; process instance {archived[0]['PRCS_INST_ID']} ({archived[0]['PRCS_STATUS']}) archived this "
                f"day's files to {paths}: move them back to the landing folder to load the day again")
    raise NoSourceData(missing_files_message(landing, run.process_date) + hint)


def _close_orphans(run: StreamRun, conn: Connection) -> None:
    """Close instances and log rows a crashed run of this stream left RUNNING (see flows/reconcile.py)."""
    reconcile_stream(run.stream_name, conn=conn)
