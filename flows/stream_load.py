"""The generic stream flow: one DataStage sequence, stage by stage, from a stream YAML.

    validate -> process_id -> ingest -> dbt_build -> [profile] -> metadata -> lifecycle -> report

Run it locally with ``make run``, or ``python -m flows.stream_load --stream NAME --process-date D``, or from
a deployment (see prefect.yaml). A failed run re-run for the same stream and process date (or retried
with ``prefect flow-run retry``) resumes after its last good stage with the same PRCS_INST_ID.
"""

from __future__ import annotations

import argparse
import sys

from prefect import flow
from prefect.states import Completed, State

from dcf.store.statuses import InstanceStatus
from dcf.stream.run import prepare_run
from flows.parameters import OptionalBatchId, OptionalProcessDate, OptionalWarehouseBlock, RunMode, StreamName
from runtime.locks import stream_slot
from tasks.dbt_build import dbt_build
from tasks.ingest import ingest
from tasks.lifecycle import lifecycle
from tasks.metadata import metadata
from tasks.process_id import process_id
from tasks.profile import profile
from tasks.report import close_instance, failure_report, report, status_board
from tasks.stage import close_instance_hook, describe
from tasks.validate import validate


@flow(
    name="stream-load",
    flow_run_name="{stream}-{process_date}",
    on_failure=[close_instance_hook(InstanceStatus.FAILED)],
    on_crashed=[close_instance_hook(InstanceStatus.CRASHED)],
    on_cancellation=[close_instance_hook(InstanceStatus.CANCELLED)],
)
def stream_load(
    stream: StreamName,
    process_date: OptionalProcessDate = None,
    batch_id: OptionalBatchId = None,
    full_refresh: bool = False,
    mode: RunMode = RunMode.NORMAL,
    warehouse_block: OptionalWarehouseBlock = None,
) -> State:
    """Run one stream for one process date, stage by stage, recording every stage in DCF.

    Args:
        stream: Stream to run: stream.name of a configs/streams YAML.
        process_date: Business date to load; empty: today in the stream's schedule timezone.
        batch_id: ODS batch id passed to dbt (letters, digits, _ . : -); empty: the stream id, an underscore
            and the process date as YYYYMMDD, e.g. 1490_20240301.
        full_refresh: Rebuild the stream's incremental dbt models from scratch.
        mode: NORMAL resumes a failed run of this date after its last good stage (same process instance);
            RESET starts over with a new process instance.
        warehouse_block: DcfWarehouse block name; empty: the local DuckDB file under DCF_HOME.
    """
    run = prepare_run(stream, process_date, batch_id, full_refresh=full_refresh, reset=mode == RunMode.RESET,
                      warehouse_block=warehouse_block)
    with stream_slot(run):
        validated = validate(run)
        run = process_id(run, validated)
        try:
            if run.config.source is not None:
                ingest(run)
            build = dbt_build(run)
            if run.config.profiling.tables:
                profile(run, build)
            statistics = metadata(run, build)
            if run.config.source is not None:  # archives what ingest loaded
                lifecycle(run)
            status = InstanceStatus.COMPLETED_WITH_WARNINGS if statistics.warnings else InstanceStatus.SUCCEEDED
            report(run, status)
        except BaseException as error:
            # DataStage's exception handler: record and report, then end aborted (and restartable).
            failure_report(run, describe(error))
            close_instance(run, InstanceStatus.FAILED, describe(error))
            status_board(run)
            raise
        close_instance(run, status)
        status_board(run)
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
    parser.add_argument("--mode", choices=[m.value for m in RunMode], default=RunMode.NORMAL.value)
    parser.add_argument("--warehouse-block")
    args = parser.parse_args(argv)
    state = stream_load(stream=args.stream, process_date=args.process_date, batch_id=args.batch_id,
                        full_refresh=args.full_refresh, mode=args.mode, warehouse_block=args.warehouse_block,
                        return_state=True)
    print(f"{state.name}: {state.message}")
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(main())
