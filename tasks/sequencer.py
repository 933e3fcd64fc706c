"""The executor of a stream's activity graph: DataStage's sequencer, on threads, bounded by ``max_parallel``.

    outcome = run_sequence(SequenceContext(run, max_parallel=4, child_runner=...), run.config.activities)
    outcome.failure    # (row, error) of the first failure no trigger handled; None: the graph ended well

Every activity whose trigger is satisfied is started at once (up to ``max_parallel``); each ends OK, with
warnings or failed, and its followers' triggers are decided then (``dcf.stream.sequence.decide``). An activity
whose trigger cannot fire gets a SKIPPED row saying why. After a failure no trigger handles, nothing new
starts; what runs finishes, and the caller runs the exception handler. Every activity but a loop runs as the
Prefect ``activity`` task (tasks.activity); a loop runs its body here, once per item, each iteration's rows
named ``loop[N].activity`` and carrying the item.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Any

from blocks.default_warehouse import load_warehouse
from dcf.store.stage_rows import write_stage
from dcf.store.statuses import StageStatus
from dcf.stream.activities import Activity
from dcf.stream.expressions import ExpressionError
from dcf.stream.loops import loop_goes_on
from dcf.stream.run import StreamRun
from dcf.stream.sequence import Outcome, TriggerDecision, decide, evaluator, failure_handled, outgoing
from runtime.connections import connect
from runtime.log import flow_logger
from tasks.activity import activity_task
from tasks.activity_inputs import resolve_inputs, resolver
from tasks.stage import (
    SequenceStopped,
    StageFailed,
    StageResult,
    describe,
    ended_abnormally,
    run_checkpointed,
)

#: ``child_runner(run, activity, inputs) -> StageResult``: runs a ``stream:`` activity's child stream (the
#: flow layer provides it: a child stream is a subflow).
ChildRunner = Callable[[StreamRun, Activity, dict[str, Any]], StageResult]


@dataclass
class Built:
    """What every level of the graph shares: results by row, and the relations dbt activities built."""

    results: dict[str, StageResult] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, row: str, result: StageResult) -> None:
        with self.lock:
            self.results[row] = result

    def relations(self) -> dict[str, str]:
        with self.lock:
            merged: dict[str, str] = {}
            for result in self.results.values():
                merged.update(result.statistics.get("relations") or {})
            return merged


@dataclass
class SequenceContext:
    run: StreamRun
    max_parallel: int = 4
    child_runner: ChildRunner | None = None
    #: Row-name prefix of a loop body's iteration (``load[2].``).
    prefix: str = ""
    loop_vars: dict[str, Any] = field(default_factory=dict)
    #: Outcomes of the enclosing levels (what a loop body's ``when`` may read).
    outer: dict[str, Outcome] = field(default_factory=dict)
    row_statistics: dict[str, Any] = field(default_factory=dict)
    built: Built = field(default_factory=Built)


@dataclass
class SequenceOutcome:
    outcomes: dict[str, Outcome]
    #: The first failure no trigger handled: (row name, error).
    failure: tuple[str, BaseException] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def terminated(self) -> bool:
        return self.failure is not None and isinstance(self.failure[1], SequenceStopped)


def run_sequence(ctx: SequenceContext, activities: list[Activity]) -> SequenceOutcome:
    """Run one level of the graph (the sequence, a loop body, the exception handler) to its end."""
    links = outgoing(activities)
    outcome = SequenceOutcome({})
    pending = list(activities)
    running: dict[Future, Activity] = {}
    pool = ThreadPoolExecutor(max_workers=ctx.max_parallel, thread_name_prefix="activity")
    try:
        while True:
            if outcome.failure is None:
                _start_ready(ctx, pending, running, outcome, links, pool)
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                activity = running.pop(future)
                ended, error = future.result()
                outcome.outcomes[activity.name] = ended
                _note(ctx, activity, ended, error, links, outcome)
    except BaseException:
        # A cancel's signal (or Ctrl-C) lands on this thread: end now, without waiting for activities that
        # may never return (a dbt model blocked in the warehouse); their rows are closed as the run ends.
        pool.shutdown(wait=False, cancel_futures=True)
        _close_running(ctx, running)
        raise
    pool.shutdown(wait=True)
    if outcome.failure is None:
        for activity in pending:  # waits for something that never ends (a when: on a later level, say)
            _skip(ctx, activity, "its trigger's inputs never ended", outcome)
    return outcome


def _close_running(ctx: SequenceContext, running: dict[Future, Activity]) -> None:
    """The rows of activities still running when the sequence was interrupted: CANCELLED or FAILED."""
    if not running:
        return
    status, message = ended_abnormally("interrupted: the run ended while this activity ran")
    with connect(ctx.run.warehouse_block) as conn:
        for activity in running.values():
            write_stage(conn, ctx.run.ref, ctx.prefix + activity.name, status, error=message)


def _start_ready(ctx: SequenceContext, pending: list[Activity], running: dict[Future, Activity],
                 outcome: SequenceOutcome, links: dict[str, list[str]], pool: ThreadPoolExecutor) -> None:
    """Decide every pending activity that can be decided; start those that run (while slots are free)."""
    progressed = True
    while progressed:
        progressed = False
        visible = {**ctx.outer, **outcome.outcomes}
        for activity in list(pending):
            if len(running) >= ctx.max_parallel:
                return
            try:
                decision, why = decide(activity, visible, links, _evaluator(ctx, visible))
                if decision == TriggerDecision.RUN and activity.when and not _when_holds(ctx, activity, visible):
                    decision, why = TriggerDecision.SKIP, f"when {activity.when!r} is false"
            except ExpressionError as error:  # a value it reads cannot be had: the activity fails, recorded
                pending.remove(activity)
                progressed = True
                _record_failure(ctx, ctx.prefix + activity.name, error)
                outcome.outcomes[activity.name] = Outcome(StageStatus.FAILED)
                _note(ctx, activity, outcome.outcomes[activity.name], error, links, outcome)
                return
            if decision == TriggerDecision.WAIT:
                continue
            pending.remove(activity)
            progressed = True
            if decision == TriggerDecision.SKIP:
                _skip(ctx, activity, why, outcome)
                visible[activity.name] = outcome.outcomes[activity.name]
            else:
                context = contextvars.copy_context()  # the flow run's context, for the Prefect task
                running[pool.submit(context.run, _execute, ctx, activity, dict(visible))] = activity


def _when_holds(ctx: SequenceContext, activity: Activity, visible: dict[str, Outcome]) -> bool:
    return _evaluator(ctx, visible)(activity.when)


def _evaluator(ctx: SequenceContext, visible: dict[str, Outcome]) -> Callable[[str], bool]:
    """A custom trigger's (or ``when``'s) expression, read with the run's values as they are now."""
    return evaluator(resolver(ctx.run, ctx.loop_vars, visible))


def _note(ctx: SequenceContext, activity: Activity, ended: Outcome, error: BaseException | None,
          links: dict[str, list[str]], outcome: SequenceOutcome) -> None:
    row = ctx.prefix + activity.name
    logger = flow_logger()
    if ended.status == StageStatus.COMPLETED_WITH_WARNINGS:
        outcome.warnings.append(f"{row} ended with warnings")
    if ended.status != StageStatus.FAILED:
        return
    handled = failure_handled(activity.name, links)
    if not handled and not isinstance(error, SequenceStopped) and ctx.run.config.unhandled_failure == "warn":
        logger.warning("activity %s failed; no trigger handles it, the sequence goes on (unhandled_failure: "
                       "warn): %s", row, describe(error) if error else "")
        outcome.warnings.append(f"{row} failed (unhandled_failure: warn)")
    elif isinstance(error, SequenceStopped) or not handled:
        logger.error("activity %s failed: %s", row, describe(error) if error else "failed")
        if outcome.failure is None or isinstance(error, SequenceStopped):
            outcome.failure = (row, error or StageFailed(f"activity {row} failed"))
    else:
        logger.warning("activity %s failed; a trigger handles it: %s", row, describe(error) if error else "")
        outcome.warnings.append(f"{row} failed (handled by a trigger)")


def _skip(ctx: SequenceContext, activity: Activity, why: str, outcome: SequenceOutcome) -> None:
    row = ctx.prefix + activity.name
    flow_logger().info("activity %s: SKIPPED (%s)", row, why)
    with connect(ctx.run.warehouse_block) as conn:
        write_stage(conn, ctx.run.ref, row, StageStatus.SKIPPED, error=why, statistics=ctx.row_statistics or None)
    outcome.outcomes[activity.name] = Outcome(StageStatus.SKIPPED)


def _execute(ctx: SequenceContext, activity: Activity,
             visible: dict[str, Outcome]) -> tuple[Outcome, BaseException | None]:
    """Run one activity to its end; never raises (the outcome says how it ended)."""
    row = ctx.prefix + activity.name
    try:
        inputs = {**resolve_inputs(ctx.run, ctx.loop_vars, ctx.built.relations, activity, visible),
                  "row_name": row, "row_statistics": ctx.row_statistics}
    except Exception as error:  # a parameter that cannot be resolved: the activity fails before it starts
        _record_failure(ctx, row, error)
        return Outcome(StageStatus.FAILED), error
    job_name = {"$JobName": activity.job_name(inputs.get("vars") or {})}
    try:
        if activity.loop is not None:
            result = run_loop(ctx, activity, row, inputs["items"], visible)
        elif activity.stream is not None:
            if ctx.child_runner is None:
                raise StageFailed("stream activities need the stream flow's child runner")
            result = run_checkpointed(ctx.run, row, lambda: ctx.child_runner(ctx.run, activity, inputs),
                                      always_rerun=activity.always_rerun, stop_on_warnings=activity.stop_on_warnings,
                                      statistics=ctx.row_statistics)
        else:
            result = activity_task(ctx.run, activity, row, inputs)
    except BaseException as error:
        statistics = getattr(error, "statistics", None) or {}
        return Outcome(StageStatus.FAILED, {**job_name, **(statistics.get("outputs") or {})}), error
    ctx.built.add(row, result)
    return Outcome(StageStatus(result.status), {**job_name, **(result.statistics.get("outputs") or {})}), None


def _record_failure(ctx: SequenceContext, row: str, error: BaseException) -> None:
    """An activity that failed before its task started (a parameter that cannot be resolved)."""
    with connect(ctx.run.warehouse_block) as conn:
        write_stage(conn, ctx.run.ref, row, StageStatus.RUNNING)
        write_stage(conn, ctx.run.ref, row, StageStatus.FAILED, error=describe(error),
                    statistics=ctx.row_statistics or None)


def run_loop(ctx: SequenceContext, activity: Activity, row: str, items: list[str],
             visible: dict[str, Outcome]) -> StageResult:
    """The loop's body once per item, in order; a completed iteration is restored on a restart."""
    loop = activity.loop

    def body() -> StageResult:
        warnings: list[str] = []
        for number, item in enumerate(items, start=1):
            flow_logger().info("loop %s: iteration %d of %d (%s = %r)", row, number, len(items), loop.as_, item)
            iteration = replace(ctx, prefix=f"{row}[{number}].", loop_vars={**ctx.loop_vars, loop.as_: item},
                                outer=dict(visible), row_statistics={"loop": row, "iteration": number, "item": item})
            ended = run_sequence(iteration, loop.do)
            warnings += ended.warnings
            if ended.failure is not None:
                failed_row, error = ended.failure
                if isinstance(error, SequenceStopped):
                    raise error
                raise StageFailed(f"iteration {number} ({loop.as_} = {item!r}) failed in {failed_row}: "
                                  f"{describe(error)}", {"items": items, "iterations_completed": number - 1})
            if not loop_goes_on(loop, ended.outcomes, _evaluator(iteration, {**visible, **ended.outcomes})):
                warnings.append(f"loop {row} stopped after iteration {number} of {len(items)}: its continue_after "
                                f"trigger did not fire")
                return StageResult({"items": items, "iterations": number, "outputs": {"$ReturnValue": number}},
                                   warnings)
        return StageResult({"items": items, "iterations": len(items), "outputs": {"$ReturnValue": len(items)}},
                           warnings)

    return run_checkpointed(ctx.run, row, body, always_rerun=activity.always_rerun,
                            stop_on_warnings=activity.stop_on_warnings, statistics=ctx.row_statistics)


# -- the graph of a stream run ----------------------------------------------------------------------------
def run_graph(run: StreamRun, child_runner: ChildRunner | None = None) -> tuple[StageResult, list[str]]:
    """Run the stream's activities; return what its dbt activities built (for profile and metadata) and the
    warnings to report. An unhandled failure runs the exception handler (``on_failure``; not after a
    terminator) and is raised again, so the run ends FAILED and a restart resumes it."""
    ctx = SequenceContext(run, max_parallel=run.config.max_parallel, child_runner=child_runner)
    # Held open while activities open and close their own on threads (dbt-duckdb's included): DuckDB keeps
    # the file's instance cached while one connection is open, so no two threads ever create it at once.
    with ExitStack() as keep_open:
        if load_warehouse(run.warehouse_block).single_writer:
            keep_open.enter_context(connect(run.warehouse_block))
        outcome = run_sequence(ctx, run.config.activities)
    if outcome.failure is not None:
        row, error = outcome.failure
        if run.config.on_failure and not outcome.terminated:
            flow_logger().error("%s failed: running the exception handler (%s)", row,
                                ", ".join(a.name for a in run.config.on_failure))
            # The handler runs on every failure, restart or not: never restored from a checkpoint.
            handler = [a.model_copy(update={"always_rerun": True}) for a in run.config.on_failure]
            # what DataStage's handler reads as $ErrSource, $ErrNumber, $ErrMessage
            errors = {"error_source": row, "error_number": 1, "error_message": describe(error)}
            run_sequence(replace(ctx, built=Built(), loop_vars={**ctx.loop_vars, **errors}), handler)
        raise ActivityFailed(row, error) from error
    return combined_build(ctx.built), outcome.warnings


class ActivityFailed(StageFailed):
    """The sequence stopped: activity ``row`` failed and no trigger handled it (or a terminator ended it)."""

    def __init__(self, row: str, error: BaseException) -> None:
        lines = str(error).strip().splitlines()
        super().__init__(f"activity {row}: {lines[0] if lines else type(error).__name__}",
                         getattr(error, "statistics", None))
        self.row = row


def combined_build(built: Built) -> StageResult:
    """The dbt activities' statistics as one build (one activity: its own statistics, unchanged)."""
    builds = [r for r in built.results.values() if "invocation_ids" in r.statistics]
    if len(builds) == 1:
        return builds[0]
    counts: dict[str, int] = {}
    relations: dict[str, str] = {}
    gate = None
    for result in builds:
        for key, value in (result.statistics.get("counts") or {}).items():
            counts[key] = counts.get(key, 0) + value
        relations.update(result.statistics.get("relations") or {})
        gate = gate or result.statistics.get("quality_gate")
    statistics = {
        "invocation_ids": [i for r in builds for i in r.statistics.get("invocation_ids", [])],
        "success": all(r.statistics.get("success", True) for r in builds),
        "counts": counts, "relations": relations, "quality_gate": gate,
        "target_loaded": bool(builds) and all(r.statistics.get("target_loaded", True) for r in builds),
    }
    return StageResult(statistics, [w for r in builds for w in r.warnings])
