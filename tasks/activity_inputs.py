"""An activity's inputs: its settings with every ``#reference#`` filled in, from the run's parameters (a
password from its Prefect Secret block), run values, loop variables and the outcomes of the activities that
have ended; a loop's items (dcf.stream.loops)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dcf.stream.activities import Activity
from dcf.stream.expressions import ExpressionError, render_template
from dcf.stream.loops import loop_items
from dcf.stream.run import StreamRun
from dcf.stream.sequence import Outcome, user_variables, value_resolver

#: What a log line or a DCF row shows in place of a password.
MASK = "********"


def resolver(run: StreamRun, loop_vars: dict[str, Any], visible: dict[str, Outcome], *,
             reveal: bool = True) -> Callable[[tuple[str, ...]], Any]:
    """How an expression of ``run`` reads a name: loop variables, parameters (secrets from their block), run
    values, then the outcomes of the activities that have ended (``visible``). ``reveal=False`` reads a
    password as :data:`MASK` (for what is logged and recorded)."""
    values = {**run.parameter_values(), **run.run_values()}
    secrets = {name: p.secret_block for name, p in run.config.all_parameters.items()
               if p.secret_block and name not in run.parameters}
    resolve_value = value_resolver(values, loop_vars, visible)

    def resolve(ref: tuple[str, ...]) -> Any:
        name = ".".join(ref)
        if name in secrets:
            return _secret(secrets[name]) if reveal else MASK
        return resolve_value(ref)

    return resolve


def _secret(block: str) -> str:
    """A password parameter's value: the Prefect Secret block that holds it, read when a value needs it."""
    from prefect.blocks.system import Secret

    try:
        return str(Secret.load(block).get())
    except ValueError as error:
        raise ExpressionError(f"secret block {block!r} cannot be read: {error}") from None


def resolve_inputs(run: StreamRun, loop_vars: dict[str, Any], relations: Callable[[], dict[str, str]],
                   activity: Activity, visible: dict[str, Outcome]) -> dict[str, Any]:
    """The activity's settings with every ``#reference#`` filled in, user variables evaluated; ``relations``:
    what the dbt activities built so far (a quality gate reads its model's)."""
    resolve = resolver(run, loop_vars, visible)

    def text(value: str) -> str:
        return render_template(value, resolve)

    if activity.command is not None:
        masked = resolver(run, loop_vars, visible, reveal=False)
        # "shown": the command line as logged and recorded, passwords masked
        return {"argv": [text(part) for part in activity.command.argv],
                "shown": [render_template(part, masked) for part in activity.command.argv]}
    if activity.wait_for_file is not None:
        return {"path": text(activity.wait_for_file.path)}
    if activity.notify is not None:
        return {"subject": text(activity.notify.subject), "body": text(activity.notify.body)}
    if activity.terminate is not None:
        return {"message": text(activity.terminate.message)}
    if activity.set_vars is not None:
        return {"vars": user_variables(activity, resolve)}
    if activity.dbt is not None:
        return {"vars": activity.passed(text)}
    if activity.quality_gate is not None:
        return {"relation": relations().get(activity.quality_gate.model)}
    if activity.compare is not None:  # a dbt model the run built -> its relation; a relation as it is
        built = {model.upper(): relation for model, relation in relations().items()}
        return {side: built.get(getattr(activity.compare, side), getattr(activity.compare, side))
                for side in ("legacy", "new")}
    if activity.stream is not None:
        return activity.passed(text)
    if activity.loop is not None:
        return {"items": loop_items(activity, text)}
    return {}
