"""The activity graph of a stream: its checks, its triggers and its plan (no Prefect; the executor is
``tasks.sequencer``).

    problems = check_sequence(config)        # [(["sequence", "2", "after"], "unknown activity 'x'"), ...]
    decide(activity, outcomes, links)        # RUN, SKIP (with why) or WAIT
    plan_lines(config)                       # VALIDATE's plan: activities in order and what triggers each

Triggers are DataStage's: an activity without ``after`` starts with the sequence; ``after`` names its inputs
and the condition each must meet (``ok`` for a plain list); ``wait_for: all`` needs every input's condition,
``any`` one of them (the sequencer); ``when`` is a custom trigger read once the inputs allow the activity.
An activity whose trigger cannot fire is skipped, and so is anything that waits for it with ``ok``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from dcf.store.statuses import StageStatus
from dcf.stream.activities import Activity, Condition, CustomTrigger, NumericRange
from dcf.stream.expressions import (
    ACTIVITY_FIELDS,
    Expression,
    ExpressionError,
    parse_expression,
    template_references,
    truthy,
)

#: Names of the bookkeeping stages around the graph: no activity may take one.
BOOKKEEPING = ("validate", "process_id", "profile", "metadata", "lifecycle", "report")
#: What a stream run's expressions may read by bare name, besides loop variables.
PARAMETERS = ("process_date", "batch_id", "stream_name", "stream_id", "prcs_inst_id",
              # DataStage's macros, as a run has them
              "DSJobStartDate", "DSJobStartTimestamp", "DSProjectName", "DSJobName",
              # the exception handler's $ErrSource, $ErrNumber and $ErrMessage (empty outside on_failure)
              "error_source", "error_number", "error_message")
JOB_STATUS = {StageStatus.COMPLETED: 1, StageStatus.COMPLETED_WITH_WARNINGS: 2, StageStatus.FAILED: 3}
Problem = tuple[list[str], str]


@dataclass
class Outcome:
    """How an activity ended, and the values its followers' expressions read."""

    status: StageStatus
    outputs: dict[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        if name == "$JobStatus":
            return JOB_STATUS.get(self.status, 0)
        if name in ACTIVITY_FIELDS:
            return self.outputs.get(name, "")
        return self.outputs.get("vars", {}).get(name, "")


def value_resolver(values: dict[str, Any], loop_vars: dict[str, Any],
                   visible: dict[str, Outcome]) -> Callable[[tuple[str, ...]], Any]:
    """How an expression reads a name: loop variables, then ``values`` (parameters, a set's members, run
    values), then the outcomes of the activities that have ended (``visible``)."""

    def resolve(ref: tuple[str, ...]) -> Any:
        name = ".".join(ref)
        if len(ref) == 1:
            if name in loop_vars:
                return loop_vars[name]
            if name in values:
                return values[name]
            raise ExpressionError(f"{name!r} is neither a loop variable nor a parameter")
        if name in values:  # a parameter set's member, PS_DB.server
            return values[name]
        if ref[0] not in visible:
            raise ExpressionError(f"activity {ref[0]!r} has not ended yet; name it in after")
        return visible[ref[0]].value(ref[1])

    return resolve


def evaluator(resolve: Callable[[tuple[str, ...]], Any]) -> Evaluate:
    """Custom triggers and ``when:`` texts read with ``resolve``'s values: whether each holds."""
    return lambda text: truthy(parse_expression(text).evaluate(resolve))


def user_variables(activity: Activity, resolve: Callable[[tuple[str, ...]], Any]) -> dict[str, Any]:
    """A ``set_vars`` activity's values, each expression evaluated."""
    return {name: parse_expression(value).evaluate(resolve) if isinstance(value, str) else value
            for name, value in (activity.set_vars or {}).items()}


class TriggerDecision(Enum):
    RUN = "run"
    SKIP = "skip"
    WAIT = "wait"


#: ``evaluate(expression_text) -> bool``: a custom trigger's expression, read with the run's values.
Evaluate = Callable[[str], bool]


def _no_custom(text: str) -> bool:
    raise ExpressionError(f"custom trigger {text!r} read without the run's values")


def holds(condition: Condition, outcome: Outcome, siblings: Iterable[Condition] = (),
          evaluate: Evaluate = _no_custom) -> bool:
    """Whether a trigger of ``condition`` fires on ``outcome``; ``siblings``: the source's other triggers."""
    status = outcome.status
    if status == StageStatus.SKIPPED:
        return False
    if isinstance(condition, CustomTrigger):
        return evaluate(condition.custom)
    if condition == "otherwise":
        return not any(holds(other, outcome, (), evaluate) for other in siblings if other != "otherwise")
    return {
        "ok": status == StageStatus.COMPLETED,
        "warnings": status == StageStatus.COMPLETED_WITH_WARNINGS,
        "ok_or_warnings": status in (StageStatus.COMPLETED, StageStatus.COMPLETED_WITH_WARNINGS),
        "failed": status == StageStatus.FAILED,
        "always": True,
    }[condition]


def outgoing(activities: list[Activity]) -> dict[str, list[Condition]]:
    """For every activity, the conditions of the triggers leaving it."""
    links: dict[str, list[Condition]] = {a.name: [] for a in activities}
    for activity in activities:
        for source, condition in activity.inputs.items():
            links.setdefault(source, []).append(condition)
    return links


def failure_handled(name: str, links: dict[str, list[Condition]]) -> bool:
    """Whether the failure of activity ``name`` is handled by its triggers (then it is not the run's): it
    has an ``otherwise`` trigger, or one that fires on a failure (``failed``, ``always``). A custom trigger
    does not handle a failure, as in DataStage."""
    failed = Outcome(StageStatus.FAILED)
    conditions = [c for c in links.get(name, []) if not isinstance(c, CustomTrigger)]
    return "otherwise" in conditions or any(holds(condition, failed) for condition in conditions)


def decide(activity: Activity, outcomes: dict[str, Outcome], links: dict[str, list[Condition]],
           evaluate: Evaluate = _no_custom) -> tuple[TriggerDecision, str]:
    """Whether ``activity`` can run now, will never run (and why), or waits for an input."""
    inputs = activity.inputs
    reads = activity.read_activities() - set(inputs)
    if any(name not in outcomes for name in reads):
        return TriggerDecision.WAIT, ""
    fired = {name: holds(c, outcomes[name], links.get(name, []), evaluate) for name, c in inputs.items()
             if name in outcomes}
    pending = [name for name in inputs if name not in outcomes]
    if activity.wait_for == "any" and inputs:
        if not any(fired.values()):
            return (TriggerDecision.WAIT, "") if pending else (TriggerDecision.SKIP, _why_not(inputs, outcomes))
    elif pending:
        return TriggerDecision.WAIT, ""
    elif not all(fired.values()):
        return TriggerDecision.SKIP, _why_not({n: c for n, c in inputs.items() if not fired[n]}, outcomes)
    return TriggerDecision.RUN, ""


def _why_not(inputs: dict[str, Condition], outcomes: dict[str, Outcome]) -> str:
    return "trigger did not fire: " + ", ".join(f"{name} ended {outcomes[name].status}, needs "
                                                 f"{condition_text(condition)}"
                                                 for name, condition in inputs.items() if name in outcomes)


def condition_text(condition: Condition) -> str:
    return f"custom {condition.custom!r}" if isinstance(condition, CustomTrigger) else condition


# -- checks ------------------------------------------------------------------------------------------------
def check_sequence(activities: list[Activity], on_failure: list[Activity], *, stream_name: str = "",
                   parameters: tuple[str, ...] = ()) -> list[Problem]:
    """Everything wrong with a graph that can be told without running it, each with its field path."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path, activity in walk_activities(activities, ["sequence"]):
        _check_name(activity, path, seen, problems)
    for path, activity in walk_activities(on_failure, ["on_failure"]):
        _check_name(activity, path, seen, problems)
    # The stream's own parameters are read by bare name, like loop variables.
    problems += _check_level(activities, ["sequence"], outer=set(), loop_vars=parameters)
    problems += _check_level(on_failure, ["on_failure"], outer=set(), loop_vars=parameters)
    for path, activity in [*walk_activities(activities, ["sequence"]), *walk_activities(on_failure, ["on_failure"])]:
        child = activity.stream
        if child is not None and child.name.upper() == stream_name.upper():
            problems.append(([*path, "stream"], f"activity {activity.name}: stream {child.name} cannot run itself"))
    return problems


def walk_activities(activities: list[Activity], prefix: list[str]) -> Iterator[tuple[list[str], Activity]]:
    """Every activity with its field path (``["sequence", "2", "loop", "do", "0"]``), loop bodies included."""
    for index, activity in enumerate(activities):
        path = [*prefix, str(index)]
        yield path, activity
        if activity.loop is not None:
            yield from walk_activities(activity.loop.do, [*path, "loop", "do"])


def _check_name(activity: Activity, path: list[str], seen: dict[str, str], problems: list[Problem]) -> None:
    if activity.name in BOOKKEEPING:
        problems.append(([*path, "name"], f"{activity.name!r} is a DCF bookkeeping stage; choose another name"))
    elif activity.name in seen:
        problems.append(([*path, "name"], f"{activity.name!r} is already the name of {seen[activity.name]}"))
    seen[activity.name] = ".".join(path)


def _check_level(activities: list[Activity], prefix: list[str], *, outer: set[str],
                 loop_vars: tuple[str, ...]) -> list[Problem]:
    """Triggers and expressions of one level (the sequence, a loop body, the exception handler)."""
    problems: list[Problem] = []
    names = {a.name for a in activities}
    for index, activity in enumerate(activities):
        path = [*prefix, str(index)]
        for source in activity.inputs:
            if source not in names:
                where = "names an activity outside its loop body (a body's triggers name only its own " \
                    "activities):" if source in outer else "names unknown activity"
                problems.append(([*path, "after"], f"activity {activity.name}: after {where} {source!r}"))
        for key, texts in _expression_texts(activity):
            for text, template in texts:
                try:
                    expressions = template_references(text) if template else [parse_expression(text)]
                except ExpressionError as error:
                    problems.append(([*path, key], f"activity {activity.name}: {key} {text!r}: {error}"))
                    continue
                problems += [([*path, key], f"activity {activity.name}: {message}") for message in
                             _reference_problems(expressions, names | outer, loop_vars, activities)]
        if activity.loop is not None:
            problems += _check_level(activity.loop.do, [*path, "loop", "do"], outer=outer | names,
                                     loop_vars=(*loop_vars, activity.loop.as_))
            body = {a.name for a in activity.loop.do}
            problems += [([*path, "loop", "continue_after"], f"activity {activity.name}: continue_after names "
                          f"{source!r}, which is not in the loop's body") for source in activity.loop.continue_after
                         if source not in body]
    problems += [([*prefix, str(index), "after"], f"activity {activities[index].name}: {message}")
                 for index, message in _cycles(activities)]
    return problems


def _expression_texts(activity: Activity) -> Iterator[tuple[str, list[tuple[str, bool]]]]:
    """Each field's expressions: (text, whether it is a ``#...#`` template rather than one expression)."""
    if activity.when:
        yield "when", [(activity.when, False)]
    customs = [c.custom for c in activity.inputs.values() if isinstance(c, CustomTrigger)]
    if customs:
        yield "after", [(text, False) for text in customs]
    if activity.set_vars:
        yield "set_vars", [(v, False) for v in activity.set_vars.values() if isinstance(v, str)]
    templates: list[tuple[str, str]] = []
    if activity.command is not None:
        templates += [("command", part) for part in activity.command.argv]
    if activity.wait_for_file is not None:
        templates.append(("wait_for_file", activity.wait_for_file.path))
    if activity.notify is not None:
        templates += [("notify", activity.notify.subject), ("notify", activity.notify.body)]
    if activity.terminate is not None:
        templates.append(("terminate", activity.terminate.message))
    if activity.loop is not None and isinstance(activity.loop.over, str):
        templates.append(("loop", activity.loop.over))
    elif activity.loop is not None and isinstance(activity.loop.over, NumericRange):
        over = activity.loop.over
        templates += [("loop", bound) for bound in (over.from_, over.to, over.step) if isinstance(bound, str)]
    if activity.stream is not None:
        templates += [("stream", value) for value in activity.stream.parameters.values()]
    if activity.dbt is not None:
        templates += [("dbt", value) for value in activity.dbt.vars.values() if isinstance(value, str)]
    for key, text in templates:
        yield key, [(text, True)]


def _reference_problems(expressions: list[Expression], names: set[str], loop_vars: tuple[str, ...],
                        level: list[Activity]) -> Iterator[str]:
    variables = {a.name: set(a.set_vars or {}) for a in level if a.set_vars is not None}
    for expression in expressions:
        for ref in expression.references():
            if ".".join(ref) in loop_vars:  # a parameter set's member, PS_DB.server
                continue
            if len(ref) == 2 and any(v.startswith(f"{ref[0]}.") for v in loop_vars):
                yield f"{expression.text!r}: parameter set {ref[0]} has no parameter {ref[1]!r}"
                continue
            if len(ref) == 1 and ref[0] not in loop_vars and ref[0] not in PARAMETERS:
                yield f"{ref[0]!r} in {expression.text!r} is neither a loop variable nor a parameter " \
                      f"({', '.join(PARAMETERS)})"
            elif len(ref) == 2 and ref[0] not in names:
                yield f"{expression.text!r} reads unknown activity {ref[0]!r}"
            elif len(ref) == 2 and not ref[1].startswith("$") and ref[1] not in variables.get(ref[0], {ref[1]}):
                yield f"{expression.text!r}: activity {ref[0]!r} sets no variable {ref[1]!r}"


def _cycles(activities: list[Activity]) -> list[tuple[int, str]]:
    """Activities on a cycle of triggers (``after`` and what ``when`` reads), each with the cycle."""
    index = {a.name: i for i, a in enumerate(activities)}
    edges = {a.name: [n for n in (*a.inputs, *a.read_activities()) if n in index] for a in activities}
    state: dict[str, int] = {}
    found: list[tuple[int, str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for source in edges[name]:
            if state.get(source) == 1:
                cycle = [*trail[trail.index(source):], source] if source in trail else [name, source]
                found.append((index[name], "cycle of triggers: " + " -> ".join(reversed(cycle))))
            elif source not in state:
                visit(source, [*trail, source])
        state[name] = 2

    for activity in activities:
        if activity.name not in state:
            visit(activity.name, [activity.name])
    return found


# -- the plan VALIDATE prints ------------------------------------------------------------------------------
def order(activities: list[Activity]) -> list[Activity]:
    """The activities in an order that respects their triggers (a topological order, stable)."""
    done: set[str] = set()
    ordered: list[Activity] = []
    remaining = list(activities)
    while remaining:
        ready = [a for a in remaining if all(n in done for n in (*a.inputs, *a.read_activities())
                                             if n in {x.name for x in activities})]
        if not ready:  # a cycle: check_sequence reports it
            ready = remaining[:1]
        for activity in ready:
            ordered.append(activity)
            done.add(activity.name)
            remaining.remove(activity)
    return ordered


def trigger_text(activity: Activity) -> str:
    inputs = activity.inputs
    if not inputs:
        text = "starts with the sequence"
    else:
        joined = (" or " if activity.wait_for == "any" else " and ").join(
            f"{name} {condition_text(condition)}" for name, condition in inputs.items())
        text = f"after {joined}"
    return f"{text}, when {activity.when}" if activity.when else text


def plan_lines(activities: list[Activity], on_failure: list[Activity], indent: str = "") -> list[str]:
    """One line per activity: what it is and what triggers it, loop bodies indented under their loop."""
    lines: list[str] = []
    for number, activity in enumerate(order(activities), start=1):
        lines.append(f"{indent}{number}. {activity.name} [{activity.kind}] {trigger_text(activity)}")
        if activity.loop is not None:
            over = activity.loop.over
            items = f"{over.from_}..{over.to} step {over.step}" if isinstance(over, NumericRange) else repr(over)
            lines.append(f"{indent}   for each {activity.loop.as_} in {items}:")
            lines += plan_lines(activity.loop.do, [], indent + "     ")
    if on_failure:
        lines.append(f"{indent}on an unhandled failure: " + ", ".join(a.name for a in order(on_failure)))
    return lines
