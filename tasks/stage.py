"""The stage machinery: checkpointed stage tasks that write their own DCF_T_PRCS_EXEC_LOG row.

``@stage("ingest")`` turns ``fn(run) -> StageResult`` into a Prefect task that

* restores the stage's result instead of running it when a previous attempt of the same process
  instance completed it (DataStage checkpoint/restart), unless the stream says the stage always reruns;
* writes the stage row RUNNING, then COMPLETED / COMPLETED_WITH_WARNINGS with the result as
  PRCS_STATISTICS, or FAILED with the error; and moves the instance's LAST_GOOD_STAGE.

The task's state hooks (below) write the same row too: the task body is the first writer, the hooks the
second line, since Prefect runs hooks in the same process and swallows their exceptions, and a SIGKILLed
process runs none — ``flows/reconcile.py`` closes what a crash leaves behind. Hook signatures must be
``(task, task_run, state)`` / ``(flow, flow_run, state)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prefect import Task, task
from prefect.context import TaskRunContext

from blocks.default_warehouse import load_warehouse
from dcf.errors import DcfError
from dcf.store.clock import utcnow
from dcf.store.connection import Connection
from dcf.store.instances import (
    close_instance,
    close_stages_of_ended_instances,
    instance_row,
    instances_of_flow_run,
    update_instance,
)
from dcf.store.stage_rows import stage_rows, write_stage
from dcf.store.statuses import STAGE_DONE, InstanceStatus, StageStatus
from dcf.stream.run import StreamRun
from runtime.connections import connect
from runtime.flow_runs import CANCELLED_BY_OPERATOR, cancel_requested
from runtime.log import flow_logger

COMPLETED, WARNINGS = StageStatus.COMPLETED, StageStatus.COMPLETED_WITH_WARNINGS


@dataclass
class StageResult:
    """What a stage returns: JSON-ready statistics (stored as PRCS_STATISTICS) and whether it warned."""

    statistics: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    restored: bool = False
    #: A stage that ran before its instance existed and failed there (validate: no source data for the day):
    #: the run records it once the instance is allocated, then fails like any other run.
    error: str | None = None

    @property
    def status(self) -> str:
        if self.error:
            return StageStatus.FAILED
        return WARNINGS if self.warnings else COMPLETED


class StageFailed(DcfError):
    """A stage ends in failure on purpose (a failed dbt build, QUALITY_ISSUES set to fail the run).

    ``statistics`` are recorded on the FAILED stage row, so the failure report can show them.
    """

    def __init__(self, message: str, statistics: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.statistics = statistics or {}


class SequenceStopped(StageFailed):
    """The sequence ends now, without its exception handler: a terminator activity, or an operator's cancel."""


class RunCancelled(SequenceStopped):
    """An operator cancelled the run (the stage is recorded CANCELLED; a restart runs it again)."""


def ended_abnormally(error_text: str) -> tuple[StageStatus, str]:
    """The status and message of a stage that did not finish: CANCELLED when an operator cancelled the run
    (whatever the error looks like: a cancel's signal can surface as anything), else FAILED."""
    if cancel_requested():
        return StageStatus.CANCELLED, CANCELLED_BY_OPERATOR
    return StageStatus.FAILED, error_text


def _instance_cancelled(conn: Connection, run: StreamRun) -> bool:
    row = instance_row(conn, run.prcs_inst_id)
    return row is not None and row["PRCS_STATUS"] == InstanceStatus.CANCELLED


def current_task_run_id() -> str | None:
    context = TaskRunContext.get()
    return str(context.task_run.id) if context else None


#: ``changed(run, statistics) -> reason | None``: why a stage's checkpointed result no longer holds.
ChangedSince = Callable[[StreamRun, dict[str, Any]], str | None]


def stage(name: str, *, changed_since: ChangedSince | None = None,
          stale_since: ChangedSince | None = None) -> Callable[[Callable[..., StageResult]], Task]:
    """Wrap a stage function ``fn(run: StreamRun, ...) -> StageResult`` as a checkpointed Prefect task.

    Both are asked before a completed stage is restored. ``changed_since``: a reason fails the stage instead
    (a resumed run must not carry on from a result its *input* no longer matches), telling to RESET.
    ``stale_since``: a reason runs the stage again (the *code* it ran changed — a fixed dbt model — so its
    result would be stale; rebuilding it is the resume an operator means).
    """

    def decorate(fn: Callable[..., StageResult]) -> Task:
        @functools.wraps(fn)
        def run_stage(run: StreamRun, *args: Any, **kwargs: Any) -> StageResult:
            options = run.config.stage_options(name)
            return run_checkpointed(run, name, lambda: fn(run, *args, **kwargs), changed_since=changed_since,
                                    stale_since=stale_since, always_rerun=options.always_rerun,
                                    stop_on_warnings=options.stop_on_warnings)

        return stage_task(name, run_stage, on_running=[stage_running_hook(name)],
                          on_completion=[stage_completed_hook(name)], on_failure=[stage_failed_hook(name)])

    return decorate


def run_checkpointed(run: StreamRun, name: str, body: Callable[[], StageResult], *,
                     changed_since: ChangedSince | None = None, stale_since: ChangedSince | None = None,
                     always_rerun: bool = False, stop_on_warnings: bool = False,
                     statistics: dict[str, Any] | None = None) -> StageResult:
    """Run ``body`` as the stage (or activity) ``name`` of ``run``: restored from a completed earlier attempt,
    else its row written RUNNING, then with its result or its error. ``statistics`` are merged into the row."""
    logger = flow_logger()
    task_run_id = current_task_run_id()
    # One connection for the stage's own writes (the stage body opens what it needs itself).
    with connect(run.warehouse_block) as conn:
        previous = checkpoint(conn, run, name, always_rerun=always_rerun)
        restored = (previous["PRCS_STATISTICS"] or {}) if previous else {}
        changed = changed_since(run, restored) if previous and changed_since else None
        stale = stale_since(run, restored) if previous and stale_since and not changed else None
        if stale:
            logger.info("stage %s: runs again although it completed before: %s", name, stale)
        if previous and not changed and not stale:
            logger.info("stage %s: restored from checkpoint (completed in an earlier attempt)", name)
            return StageResult(restored, ["restored with warnings"] if previous["PRCS_STATUS"] == WARNINGS else [],
                               restored=True)
        write_stage(conn, run.ref, name, StageStatus.RUNNING, task_run_id=task_run_id)
        try:
            if changed:
                raise StageFailed(f"stage {name} of process instance {run.prcs_inst_id} cannot be resumed: "
                                  f"{changed}; run with mode=RESET to start over on the new input", restored)
            result = body()
        except BaseException as error:
            failed = {**(statistics or {}), **(getattr(error, "statistics", None) or {})}
            status, message = ended_abnormally(describe(error))
            write_stage(conn, run.ref, name, status, task_run_id=task_run_id, error=message,
                        statistics=failed or None)
            if status == StageStatus.CANCELLED and isinstance(error, Exception):
                raise RunCancelled(f"stage {name}: {message}", failed) from error
            raise
        result.statistics = {**(statistics or {}), **result.statistics}
        if _instance_cancelled(conn, run):  # cancelled while the body ran on: its result is not the run's
            write_stage(conn, run.ref, name, StageStatus.CANCELLED, task_run_id=task_run_id,
                        error=CANCELLED_BY_OPERATOR, statistics=result.statistics)
            raise RunCancelled(f"stage {name}: {CANCELLED_BY_OPERATOR}", result.statistics)
        write_stage(conn, run.ref, name, result.status, task_run_id=task_run_id,
                    statistics=result.statistics, error="; ".join(result.warnings) or None)
        update_instance(conn, run.prcs_inst_id, last_good_stage=name)
    for warning in result.warnings:
        logger.warning("stage %s: %s", name, warning)
    if result.warnings and stop_on_warnings:
        # A plain DataStage OK trigger does not fire on warnings.
        raise StageFailed(f"stage {name} ended with warnings and the stream stops on them: "
                          + "; ".join(result.warnings), result.statistics)
    return result


def stage_task(name: str, fn: Callable[..., Any], **hooks: Any) -> Task:
    """The Prefect task of a stage: named after it (its flow run names the stream and the day), never skipped
    by Prefect's result cache (DCF checkpoints decide what reruns)."""
    return task(name=name, task_run_name=name, cache_policy=None, persist_result=False,
                **hooks)(fn)


def pre_instance_stage(name: str) -> Callable[[Callable[..., StageResult]], Task]:
    """A stage that runs before its process instance exists (validate): the same task and result as any stage.

    Its row cannot be written yet — a refused run must leave no row anywhere — so the result carries its start
    (``statistics["started_at"]``) and :func:`record_pre_instance_stage` writes the row once the instance is
    allocated (process_id does).
    """

    def decorate(fn: Callable[..., StageResult]) -> Task:
        @functools.wraps(fn)
        def run_stage(run: StreamRun, *args: Any, **kwargs: Any) -> StageResult:
            started = utcnow()
            result = fn(run, *args, **kwargs)
            result.statistics = {"started_at": started.isoformat(sep=" "), **result.statistics}
            return result

        return stage_task(name, run_stage)

    return decorate


def record_pre_instance_stage(conn: Connection, run: StreamRun, name: str, result: StageResult) -> None:
    """Write the row of a stage that ran before ``run``'s instance existed, with its real start."""
    write_stage(conn, run.ref, name, result.status, task_run_id=current_task_run_id(), statistics=result.statistics,
                error=result.error, started_at=datetime.fromisoformat(result.statistics["started_at"]))


def checkpoint(conn: Connection, run: StreamRun, name: str, *, always_rerun: bool | None = None
               ) -> dict[str, Any] | None:
    """The stage's row when a resumed run restores the stage instead of running it again, else None."""
    if always_rerun is None:
        always_rerun = name in run.config.stages and run.config.stages[name].always_rerun
    if not run.resumed or always_rerun:
        return None
    previous = stage_rows(conn, run.prcs_inst_id).get(name)
    return previous if previous and previous["PRCS_STATUS"] in STAGE_DONE else None


def describe(error: BaseException) -> str:
    """One readable line for an error row: the type and the first line of the message."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:4000]


# -- state hooks: the second writer ---------------------------------------------------------------------
def _row_of_task(stage: str | None) -> tuple[StreamRun | None, str, bool | None]:
    """The run, the row name and the activity's always_rerun of the running task (``stage``: a fixed name;
    None: the activity task's ``row_name`` parameter)."""
    context = TaskRunContext.get()
    parameters = context.parameters if context else {}
    run = parameters.get("run")
    name = stage or parameters.get("row_name") or ""
    always_rerun = getattr(parameters.get("activity"), "always_rerun", None)
    if isinstance(run, StreamRun) and run.prcs_inst_id is not None and name:
        return run, name, always_rerun
    return None, name, always_rerun


def stage_running_hook(stage: str | None = None) -> Callable[..., None]:
    def hook(task: Any, task_run: Any, state: Any) -> None:
        run, name, always_rerun = _row_of_task(stage)
        if run:
            with connect(run.warehouse_block) as conn:
                if checkpoint(conn, run, name, always_rerun=always_rerun) is None:  # a restored stage stays
                    write_stage(conn, run.ref, name, StageStatus.RUNNING, task_run_id=str(task_run.id))

    hook.__name__ = f"dcf-{stage or 'activity'}-running"
    return hook


def stage_completed_hook(stage: str | None = None) -> Callable[..., None]:
    def hook(task: Any, task_run: Any, state: Any) -> None:
        run, name, _ = _row_of_task(stage)
        result = state.result(raise_on_failure=False) if state.is_completed() else None
        if run and result is not None and not getattr(result, "restored", False):
            with connect(run.warehouse_block) as conn:
                write_stage(conn, run.ref, name, result.status, task_run_id=str(task_run.id),
                            statistics=result.statistics)

    hook.__name__ = f"dcf-{stage or 'activity'}-completed"
    return hook


def stage_failed_hook(stage: str | None = None) -> Callable[..., None]:
    def hook(task: Any, task_run: Any, state: Any) -> None:
        run, name, _ = _row_of_task(stage)
        if run:
            status, message = ended_abnormally((state.message or "failed")[:4000])
            with connect(run.warehouse_block) as conn:
                write_stage(conn, run.ref, name, status, task_run_id=str(task_run.id), error=message)

    hook.__name__ = f"dcf-{stage or 'activity'}-failed"
    return hook


def close_instance_hook(status: InstanceStatus) -> Callable[..., None]:
    """Flow hook: end the flow run's process instance as ``status`` if it is still RUNNING."""

    def hook(flow: Any, flow_run: Any, state: Any) -> None:
        block = (flow_run.parameters or {}).get("warehouse_block")
        warehouse = load_warehouse(block)
        if not warehouse.exists():
            return  # refused before anything was written: do not create the warehouse now
        with connect(block) as conn:
            for prcs_inst_id in instances_of_flow_run(conn, str(flow_run.id)):
                close_instance(conn, prcs_inst_id, status,
                               f"flow run {flow_run.name} ended {state.name}: {state.message or ''}".strip())
            close_stages_of_ended_instances(conn, reason=f"flow run ended {state.name}")

    hook.__name__ = f"dcf-close-instance-{status.lower()}"
    return hook
