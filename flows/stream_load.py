"""The generic stream flow: one DataStage sequence, stage by stage, from a stream YAML.

    validate -> process_id -> ingest -> dbt_build -> [profile] -> metadata -> lifecycle -> report

Run it locally with ``make run``, or ``python -m flows.stream_load --stream NAME --process-date D``, or from
a deployment (see prefect.yaml). A failed run re-run for the same stream and process date (or retried
with ``prefect flow-run retry``) resumes after its last good stage with the same PRCS_INST_ID.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from prefect import flow
from prefect.states import Completed, State

from dcf.run import prepare_run
from tasks.dbt_build import dbt_build
from tasks.guard import stream_slot
from tasks.hooks import close_instance_hook
from tasks.ingest import ingest
from tasks.lifecycle import lifecycle
from tasks.metadata import metadata
from tasks.process_id import process_id
from tasks.report import close_instance, failure_report, report
from tasks.stage import describe
from tasks.validate import validate


@flow(
    name="stream-load",
    flow_run_name="{stream}-{process_date}",
    on_failure=[close_instance_hook("FAILED")],
    on_crashed=[close_instance_hook("CRASHED")],
    on_cancellation=[close_instance_hook("CANCELLED")],
)
def stream_load(
    stream: str,
    process_date: date | None = None,
    batch_id: str | None = None,
    full_refresh: bool = False,
    reset: bool = False,
    warehouse_block: str | None = None,
) -> State:
    """Run one stream for one process date, stage by stage, recording every stage in DCF.

    Args:
        stream: Stream name, as in a configs/streams YAML (stream.name).
        process_date: Business date to load (YYYY-MM-DD); default today in the stream's timezone.
        batch_id: ODS batch id passed to dbt; default <stream id>_<YYYYMMDD>.
        full_refresh: Rebuild incremental models from scratch.
        reset: Start over with a new process instance instead of resuming a failed one for this date.
        warehouse_block: DcfWarehouse block name; default the local DuckDB file under DCF_HOME.
    """
    run = prepare_run(stream, process_date, batch_id, full_refresh=full_refresh, reset=reset,
                      warehouse_block=warehouse_block)
    with stream_slot(run):
        validated = validate(run)
        run = process_id(run, validated)
        try:
            ingest(run)
            build = dbt_build(run)
            statistics = metadata(run, build)
            lifecycle(run)
            status = "COMPLETED_WITH_WARNINGS" if statistics.warnings else "SUCCEEDED"
            report(run, status)
        except BaseException as error:
            # DataStage's exception handler: record and report, then end aborted (and restartable).
            failure_report(run, describe(error))
            close_instance(run, "FAILED", describe(error))
            raise
        close_instance(run, status)
    message = f"{run.stream_name} {run.process_date}: process instance {run.prcs_inst_id} {status}"
    if statistics.warnings:
        return Completed(name="CompletedWithWarnings", message=f"{message}: {'; '.join(statistics.warnings)}")
    return Completed(message=message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.stream_load", description=__doc__.splitlines()[0])
    parser.add_argument("--stream", required=True)
    parser.add_argument("--process-date")
    parser.add_argument("--batch-id")
    parser.add_argument("--full-refresh", action="store_true")
    parser.add_argument("--reset", action="store_true")
    parser.add_argument("--warehouse-block")
    args = parser.parse_args(argv)
    state = stream_load(stream=args.stream, process_date=args.process_date, batch_id=args.batch_id,
                        full_refresh=args.full_refresh, reset=args.reset, warehouse_block=args.warehouse_block,
                        return_state=True)
    print(f"{state.name}: {state.message}")
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(main())
