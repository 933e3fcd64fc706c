"""The generic stream flow: one DataStage sequence, from a stream YAML.

    validate -> process_id -> the stream's activity graph -> [profile] -> metadata -> [lifecycle] -> report

The graph is the YAML's ``sequence:`` (dbt builds, child streams, commands, waits, loops, user variables,
notifications, the quality gate, a terminator, with DataStage's triggers; see ``dcf.stream.activities``), or
for a stream without one: ``ingest`` (when it has a ``source``) then ``dbt_build``. ``mode=VALIDATE`` checks
the stream and prints its plan without writing a row.

Run it locally with ``make run``, or ``python -m flows.stream_load --stream NAME --process-date D``, or from
a deployment (see prefect.yaml). A failed run re-run for the same stream and process date (or retried
with ``prefect flow-run retry``) resumes after its last good stage with the same PRCS_INST_ID.
"""

from __future__ import annotations

import argparse
from contextvars import ContextVar
from typing import Any

from prefect import flow
from prefect.states import Cancelled, Completed, Failed, State

from blocks.default_warehouse import load_warehouse
from dcf.errors import DcfError
from dcf.profiling.warm_up import warm_up_in_background
from dcf.store.instances import child_instance
from dcf.store.statuses import InstanceStatus
from dcf.stream.activities import Activity
from dcf.stream.run import StreamRun, prepare_run
from flows.parameters import OptionalBatchId, OptionalProcessDate, OptionalWarehouseBlock, RunMode, StreamName, run_form
from runtime.connections import connect
from runtime.flow_runs import CANCELLED_BY_OPERATOR, cancel_requested
from runtime.heartbeat import heartbeat
from runtime.locks import stream_slot
from runtime.process_exit import exit_process
from tasks.dry_run import ValidationProblems, publish_plan, validate_plan, what_if_plan
from tasks.lifecycle import lifecycle
from tasks.metadata import metadata
from tasks.process_id import process_id
from tasks.profile import profile
from tasks.report import close_instance, failure_report, report, status_board
from tasks.sequencer import run_graph
from tasks.stage import StageFailed, StageResult, close_instance_hook, describe
from tasks.validate import validate

#: The process instance of the stream whose activity runs this one as a subflow (a parameter would show in
#: the run form, where it means nothing to a user); unset for a stream run on its own.
_PARENT_INSTANCE: ContextVar[int | None] = ContextVar("dcf_parent_prcs_inst_id", default=None)


def _run_name() -> str:
    """``<stream>-<process date>``; a VALIDATE run is ``<stream>-VALIDATE`` (it loads no date)."""
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    if str(parameters.get("mode", "")) == RunMode.VALIDATE:
        return f"{parameters['stream']}-VALIDATE"
    return f"{parameters['stream']}-{parameters.get('process_date')}"


@run_form
@flow(
    name="stream-load",
    flow_run_name=_run_name,
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
    parameters: dict[str, str] | None = None,
    assume: dict[str, Any] | None = None,
) -> State:
    """Run one stream for one process date, stage by stage, recording every stage in DCF.

    Args:
        stream: Stream to run: stream.name of a configs/streams YAML.
        process_date: Business date to load; empty: today in the stream's schedule timezone.
        batch_id: ODS batch id passed to dbt (letters, digits, _ . : -); empty: the stream id, an underscore
            and the process date as YYYYMMDD, e.g. 1490_20240301.
        full_refresh: Rebuild the stream's incremental dbt models from scratch.
        mode: NORMAL resumes a failed run of this date after its last good stage (same process instance);
            RESET starts over with a new process instance; VALIDATE checks and plans, writing nothing.
        warehouse_block: DcfWarehouse block name; empty: the local DuckDB file under DCF_HOME.
        parameters: Values for the stream's own parameters (its YAML's parameters:); empty: their defaults.
        assume: VALIDATE: assumed outcomes ({activity: ok | warnings | failed}); adds the what-if plan.
    """
    if mode == RunMode.VALIDATE:
        return _validate_only(stream, warehouse_block, parameters, assume)
    run = prepare_run(stream, process_date, batch_id, full_refresh=full_refresh, reset=mode == RunMode.RESET,
                      warehouse_block=warehouse_block, parent_prcs_inst_id=_PARENT_INSTANCE.get(),
                      parameters=parameters)
    warehouse = load_warehouse(run.warehouse_block)
    if run.config.profiling.tables and not warehouse.single_writer:
        warm_up_in_background()  # a remote warehouse: GE imports while the run waits on it
    with stream_slot(run, warehouse):
        validated = validate(run)
        run = process_id(run, validated)
        try:
            _fail_without_source_data(validated)
            with heartbeat(run):
                build, activity_warnings = run_graph(run, child_runner=run_child_stream)
                if run.config.profiling.tables:
                    profile(run, build)
                statistics = metadata(run, build)
                if any(a.ingest is not None for a in run.config.all_activities()):  # archives what ingest loaded
                    lifecycle(run)
                warnings = [*statistics.warnings, *activity_warnings]
                status = InstanceStatus.COMPLETED_WITH_WARNINGS if warnings else InstanceStatus.SUCCEEDED
                report(run, status)
        except BaseException as error:
            cancelled = _end_abnormally(run, error)
            if cancelled is not None:
                return cancelled
            raise
        close_instance(run, status)
        status_board(run)
    message = f"{run.stream_name} {run.process_date}: process instance {run.prcs_inst_id} {status}"
    if warnings:
        return Completed(name="CompletedWithWarnings", message=f"{message}: {'; '.join(warnings)}")
    return Completed(message=message)


def _fail_without_source_data(validated: StageResult) -> None:
    """No source data for the day: recorded on the validate row (process_id wrote it), and the run fails."""
    if validated.error:
        raise StageFailed(f"validate: {validated.error}")


def _end_abnormally(run: StreamRun, error: BaseException) -> State | None:
    """DataStage's exception handler: record and report, then end aborted (and restartable) — FAILED, or
    CANCELLED with "cancelled by operator" when an operator cancelled the run. Returns the Cancelled state
    to end with when the cancel's signal surfaced as an ordinary error (dbt's, say); else the error goes on."""
    ended, why = ((InstanceStatus.CANCELLED, CANCELLED_BY_OPERATOR) if cancel_requested()
                  else (InstanceStatus.FAILED, describe(error)))
    failure_report(run, why, ended)
    close_instance(run, ended, why)
    status_board(run)
    if ended == InstanceStatus.CANCELLED and isinstance(error, Exception):
        return Cancelled(message=f"{run.stream_name} {run.process_date}: process instance {run.prcs_inst_id} "
                                 f"{CANCELLED_BY_OPERATOR}")
    return None


def _validate_only(stream: str, warehouse_block: str | None, parameters: dict[str, str] | None,
                   assume: dict[str, Any] | None) -> State:
    """mode=VALIDATE: the plan (and the what-if plan when given values or outcomes), or every problem on its
    own line; published as the run's artifact; no row is written."""
    try:
        lines = validate_plan(stream, warehouse_block)
        if parameters or assume:
            lines += what_if_plan(stream, parameters or {}, assume or {})
    except ValidationProblems as problems:
        publish_plan(stream, problems.lines, problems=True)
        return Failed(message=f"VALIDATE {stream}: " + str(problems))
    except DcfError as error:
        publish_plan(stream, [str(error)], problems=True)
        return Failed(message=f"VALIDATE {stream}: {error}")
    publish_plan(stream, lines, problems=False)
    return Completed(name="Validated", message="VALIDATE: no problems\n" + "\n".join(lines))


def run_child_stream(run: StreamRun, activity: Activity, inputs: dict[str, Any]) -> StageResult:
    """A ``stream:`` activity: the child stream for the same process date, as a subflow linked to this
    instance (DCF_T_PRCS_INST.PARENT_PRCS_INST_ID); its status is the activity's."""
    child = activity.stream.name
    passed = {name: inputs[name] for name in activity.stream.parameters if name != "batch_id"}
    linked = _PARENT_INSTANCE.set(run.prcs_inst_id)
    try:
        state = stream_load(stream=child, process_date=run.process_date, batch_id=inputs.get("batch_id"),
                            full_refresh=run.full_refresh, warehouse_block=run.warehouse_block,
                            parameters=passed or None, return_state=True)
    finally:
        _PARENT_INSTANCE.reset(linked)
    with connect(run.warehouse_block) as conn:
        instance = child_instance(conn, run.prcs_inst_id, child) or {}
    statistics = {"child_stream": child, "child_prcs_inst_id": instance.get("PRCS_INST_ID"),
                  "child_state": state.name, "child_message": state.message,
                  "outputs": {"$UserStatus": instance.get("ORCHESTRATION_STATUS") or instance.get("PRCS_STATUS", "")}}
    if not state.is_completed():
        raise StageFailed(f"child stream {child} ended {state.name}: {state.message}", statistics)
    warnings = [f"child stream {child}: {state.message}"] if state.name == "CompletedWithWarnings" else []
    return StageResult(statistics, warnings)


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
    exit_process(main())
