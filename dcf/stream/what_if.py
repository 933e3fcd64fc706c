"""What-if plans: the activities a stream would start, in order, and how the run would end, for given parameter
values and assumed outcomes of its activities. Nothing runs; the triggers are decided by the same functions as
a real run's (``dcf.stream.sequence``, ``dcf.stream.loops``).

    plan = what_if(config, Assumptions(parameters={"LEVEL": "5"}, outcomes={"JA_DIM": [3]}))
    plan.runs    # ['JA_STG', 'JA_DIM']      (loop iterations as 'name#2'; the handler's as 'on_failure:…')
    plan.final   # 'finished with warnings'

Activities start in waves, as on a real run with enough slots: every activity whose trigger is decided when a
wave begins starts in it (in the stream's order), and the wave ends when they all have. An activity's outcome
is its assumption (one per run of it: a loop body's activity takes the next one each iteration), else OK.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from dcf.errors import DcfError
from dcf.store.statuses import StageStatus
from dcf.stream.activities import STRUCTURAL_KINDS, Activity
from dcf.stream.definition import StreamConfig
from dcf.stream.expressions import render_template
from dcf.stream.loops import LoopError, loop_goes_on, loop_items
from dcf.stream.run import run_values
from dcf.stream.sequence import (
    Outcome,
    TriggerDecision,
    decide,
    evaluator,
    failure_handled,
    outgoing,
    user_variables,
    value_resolver,
)

FINISHED_OK, FINISHED_WARNINGS = "finished OK", "finished with warnings"
TERMINATED, HANDLED, ABORTED = ("aborted by terminator", "aborted with handler run",
                                "aborted (unhandled failure, no exception handler)")
#: DataStage job statuses as a stream activity ends.
_STATUSES = {1: StageStatus.COMPLETED, 2: StageStatus.COMPLETED_WITH_WARNINGS, 3: StageStatus.FAILED}
_WORDS = {"ok": 1, "warnings": 2, "failed": 3}


@dataclass
class Assumed:
    """How one run of an activity ends: a job status (1, 2, 3) or a reply (0 OK, else failed), and what it
    leaves for the expressions that follow (``$CommandOutput``, ``$ReturnValue``, variables)."""

    status: int = 1
    outputs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, value: Any) -> Assumed:
        """``3`` (or ``ok``, ``warnings``, ``failed``), or ``{status: 2}``, ``{reply: 0, output: "a|b"}``,
        ``{returns: 0, sets: {var: value}}``."""
        if isinstance(value, Assumed):
            return value
        if isinstance(value, str) and value.strip().lower() in _WORDS:
            return cls(_WORDS[value.strip().lower()])
        if not isinstance(value, dict):
            return cls(int(value))
        reply = value.get("reply", value.get("returns"))
        outputs: dict[str, Any] = {}
        if "output" in value:
            outputs["$CommandOutput"] = value["output"]
        if reply is not None:
            outputs["$ReturnValue"] = reply
        if value.get("sets"):
            outputs["vars"] = dict(value["sets"])
        status = int(value["status"]) if "status" in value else (1 if not reply else 3)
        return cls(status, outputs)


@dataclass
class Assumptions:
    parameters: dict[str, str] = field(default_factory=dict)
    #: Activity name -> its outcome, or a list of them (one per run, a loop's iterations in order).
    outcomes: dict[str, Any] = field(default_factory=dict)
    started: datetime = field(default_factory=lambda: datetime(2024, 2, 1, 6, 0, 0))
    process_date: date = date(2024, 1, 31)

    def describe(self) -> str:
        """``what if LEVEL=5; assumed JA_DIM = 3``."""
        given = ", ".join(f"{k}={v}" for k, v in self.parameters.items()) or "the defaults"
        assumed = ", ".join(f"{k} = {v}" for k, v in self.outcomes.items())
        return f"what if {given}" + (f"; assumed {assumed}" if assumed else "")


@dataclass
class WhatIf:
    runs: list[str] = field(default_factory=list)
    final: str = FINISHED_OK
    warnings: list[str] = field(default_factory=list)
    #: Per run of a dbt or child-stream activity (as named in ``runs``): the values it is handed.
    passed: dict[str, dict[str, Any]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [*(f"{n}. {name}" for n, name in enumerate(self.runs, start=1)), f"final: {self.final}",
                *(f"warning: {w}" for w in self.warnings)]


class _Stopped(Exception):
    def __init__(self, final: str, row: str) -> None:
        super().__init__(row)
        self.final, self.row = final, row


class _Planner:
    def __init__(self, config: StreamConfig, assumptions: Assumptions) -> None:
        self.config, self.assumed = config, assumptions
        self.result = WhatIf()
        self.runs_of: dict[str, int] = {}
        self.values = {**config.parameter_values(), **assumptions.parameters,
                       **run_values(config, process_date=assumptions.process_date, batch_id="what-if",
                                    prcs_inst_id=None, started=assumptions.started)}

    def resolver(self, loop_vars: dict[str, Any], visible: dict[str, Outcome]) -> Callable[[tuple[str, ...]], Any]:
        return value_resolver(self.values, loop_vars, visible)

    def evaluate(self, loop_vars: dict[str, Any], visible: dict[str, Outcome]) -> Callable[[str], bool]:
        return evaluator(self.resolver(loop_vars, visible))

    def level(self, activities: list[Activity], loop_vars: dict[str, Any], outer: dict[str, Outcome],
              suffix: str = "", prefix: str = "") -> dict[str, Outcome]:
        """One level to its end; raises :class:`_Stopped` when the run stops (a terminator, a failure no
        trigger handles with ``unhandled_failure: abort``)."""
        links, outcomes, pending = outgoing(activities), {}, list(activities)
        while pending:
            visible = {**outer, **outcomes}
            evaluate = self.evaluate(loop_vars, visible)
            wave: list[Activity] = []
            for activity in list(pending):
                decision, _why = decide(activity, visible, links, evaluate)
                if decision == TriggerDecision.RUN and activity.when and not evaluate(activity.when):
                    decision = TriggerDecision.SKIP
                if decision != TriggerDecision.WAIT:
                    pending.remove(activity)
                    if decision == TriggerDecision.SKIP:
                        outcomes[activity.name] = visible[activity.name] = Outcome(StageStatus.SKIPPED)
                    else:
                        wave.append(activity)
            if not wave:
                break
            stop: _Stopped | None = None
            for activity in wave:
                if activity.kind not in STRUCTURAL_KINDS and activity.loop is None:
                    self.result.runs.append(f"{prefix}{activity.name}{suffix}")
            for activity in wave:
                resolve = self.resolver(loop_vars, visible)  # what had ended when the wave began
                passed = activity.passed(lambda text: render_template(text, resolve))  # noqa: B023 (used at once)
                if activity.dbt is not None or activity.stream is not None:
                    self.result.passed[f"{prefix}{activity.name}{suffix}"] = passed
                try:
                    outcomes[activity.name] = self.run(activity, loop_vars, {**outer, **outcomes})
                except _Stopped as stopped:
                    stop = stop or stopped
                    outcomes[activity.name] = Outcome(StageStatus.FAILED)
                    continue
                outcomes[activity.name].outputs.setdefault("$JobName", activity.job_name(passed))
                ended = outcomes[activity.name]
                if ended.status == StageStatus.COMPLETED_WITH_WARNINGS:
                    self.result.warnings.append(f"{activity.name}{suffix} ended with warnings")
                if ended.status == StageStatus.FAILED and not failure_handled(activity.name, links):
                    if self.config.unhandled_failure == "warn":
                        self.result.warnings.append(f"{activity.name}{suffix} failed (unhandled_failure: warn)")
                    else:
                        stop = stop or _Stopped(ABORTED, activity.name + suffix)
            if stop is not None:
                raise stop
        return outcomes

    def run(self, activity: Activity, loop_vars: dict[str, Any], visible: dict[str, Outcome]) -> Outcome:
        if activity.terminate is not None:
            raise _Stopped(TERMINATED, activity.name)
        if activity.loop is not None:
            return self.loop(activity, loop_vars, visible)
        if activity.kind in STRUCTURAL_KINDS:
            return Outcome(StageStatus.COMPLETED)
        if activity.set_vars is not None:
            return Outcome(StageStatus.COMPLETED, {"vars": user_variables(activity, self.resolver(loop_vars, visible))})
        assumed = self.next_outcome(activity.name)
        return Outcome(_STATUSES.get(assumed.status, StageStatus.FAILED), assumed.outputs)

    def next_outcome(self, name: str) -> Assumed:
        given = self.assumed.outcomes.get(name, 1)
        number = self.runs_of.get(name, 0)
        self.runs_of[name] = number + 1
        if isinstance(given, list):
            return Assumed.read(given[number] if number < len(given) else 1)
        return Assumed.read(given)

    def loop(self, activity: Activity, loop_vars: dict[str, Any], visible: dict[str, Outcome]) -> Outcome:
        loop = activity.loop
        resolve = self.resolver(loop_vars, visible)
        try:
            items = loop_items(activity, lambda text: render_template(text, resolve))
        except LoopError:
            return Outcome(StageStatus.FAILED)
        warned = False
        for number, item in enumerate(items, start=1):
            inner = {**loop_vars, loop.as_: item}
            try:
                ended = self.level(loop.do, inner, visible, suffix=f"#{number}")
            except _Stopped as stopped:
                if stopped.final == TERMINATED:
                    raise
                return Outcome(StageStatus.FAILED)
            warned = warned or any(o.status == StageStatus.COMPLETED_WITH_WARNINGS for o in ended.values())
            if not loop_goes_on(loop, ended, self.evaluate(inner, {**visible, **ended})):
                self.result.warnings.append(f"loop {activity.name} stopped after iteration {number}")
                return Outcome(StageStatus.COMPLETED_WITH_WARNINGS, {"$ReturnValue": number})
        status = StageStatus.COMPLETED_WITH_WARNINGS if warned else StageStatus.COMPLETED
        return Outcome(status, {"$ReturnValue": len(items)})


def what_if(config: StreamConfig, assumptions: Assumptions) -> WhatIf:
    """The activities ``config``'s graph would start under ``assumptions``, in order, and how it would end."""
    planner = _Planner(config, assumptions)
    try:
        planner.level(config.activities, {}, {})
    except _Stopped as stopped:
        planner.result.final = stopped.final
        if stopped.final == ABORTED and config.on_failure:
            planner.result.runs.append("on_failure")
            errors = {"error_source": stopped.row, "error_number": 1, "error_message": f"{stopped.row} failed"}
            with contextlib.suppress(_Stopped):  # the handler's own terminator: the run aborts either way
                planner.level(config.on_failure, errors, {}, prefix="on_failure:")
            planner.result.final = HANDLED
        return planner.result
    if planner.result.warnings:
        planner.result.final = FINISHED_WARNINGS
    return planner.result


def checked_assumptions(config: StreamConfig, parameters: dict[str, Any], outcomes: Any) -> Assumptions:
    """What a user asked to assume, checked against ``config``: every name an activity or a parameter of the
    stream, every outcome readable (:class:`DcfError` names the first that is not)."""
    if not isinstance(outcomes, dict) or not isinstance(parameters, dict):
        raise DcfError("assume is a mapping of activity -> outcome, parameters a mapping of name -> value")
    activities = {a.name for a in config.all_activities()}
    unknown = sorted(set(outcomes) - activities)
    if unknown:
        raise DcfError(f"assume: {', '.join(unknown)}: no such activity in {config.stream.name} "
                       f"(its activities: {', '.join(sorted(activities))})")
    unknown = sorted(set(parameters) - set(config.all_parameters))
    if unknown:
        raise DcfError(f"parameters: {', '.join(unknown)}: no such parameter of {config.stream.name} "
                       f"(its parameters: {', '.join(sorted(config.all_parameters)) or 'none'})")
    for name, value in outcomes.items():
        for one in value if isinstance(value, list) else [value]:
            try:
                Assumed.read(one)
            except (TypeError, ValueError):
                raise DcfError(f"assume.{name}: {one!r} is not an outcome (ok, warnings, failed, a job status "
                               "1-3, or {status, reply, output, sets})") from None
    return Assumptions(parameters={k: str(v) for k, v in parameters.items()}, outcomes=outcomes)
