"""What a loop iterates over, and whether it goes on after an iteration (no Prefect: the executor is
``tasks.sequencer.run_loop``, VALIDATE's what-if plan is ``dcf.stream.what_if``).

    loop_items(activity, render)                                                   # the items, in order
    numeric_items("days", NumericRange(**{"from": 1, "to": "#PM_DAYS#"}), render)   # ['1', '2', '3']
    loop_goes_on(loop, outcomes_of_the_iteration, evaluate)                        # DataStage's end loop
"""

from __future__ import annotations

from collections.abc import Callable

from dcf.errors import DcfError
from dcf.stream.activities import Activity, Loop, NumericRange
from dcf.stream.sequence import Evaluate, Outcome, holds, outgoing

MAX_LOOP_ITEMS = 10_000


class LoopError(DcfError):
    """A loop that cannot start (DataStage: "cannot execute"): bounds that are no numbers, start past end."""


def loop_items(activity: Activity, text: Callable[[str], str]) -> list[str]:
    """What a loop activity iterates over: its list, its numeric range or its delimited string (``text``
    fills in the ``#references#``), empty items left out."""
    loop = activity.loop
    if isinstance(loop.over, list):
        items = [str(item) for item in loop.over]
    elif isinstance(loop.over, NumericRange):
        items = numeric_items(activity.name, loop.over, text)
    else:
        items = [part.strip() for part in text(loop.over).split(loop.delimiter.replace("\\n", "\n"))]
        items = [item for item in items if item]
    if len(items) > MAX_LOOP_ITEMS:
        raise LoopError(f"loop {activity.name} has {len(items):,} items; at most {MAX_LOOP_ITEMS:,}")
    return items


def numeric_items(name: str, over: NumericRange, text: Callable[[str], str]) -> list[str]:
    """``from``..``to`` by ``step`` (each may be a ``#parameter#``), as DataStage counts: the end included; a
    start past the end, or a step of 0, cannot execute."""
    try:
        start, end, step = (int(text(v).strip()) if isinstance(v, str) else int(v)
                            for v in (over.from_, over.to, over.step))
    except ValueError as error:
        raise LoopError(f"loop {name}: its bounds are not whole numbers ({error})") from None
    if step == 0 or (step > 0 and start > end) or (step < 0 and start < end):
        raise LoopError(f"loop {name}: from {start} to {end} step {step} cannot execute")
    count = (end - start) // step + 1
    if count > MAX_LOOP_ITEMS:
        raise LoopError(f"loop {name} has {count:,} items; at most {MAX_LOOP_ITEMS:,}")
    return [str(start + i * step) for i in range(count)]


def loop_goes_on(loop: Loop, outcomes: dict[str, Outcome], evaluate: Evaluate) -> bool:
    """Whether the iteration that ended with ``outcomes`` reached the loop's end (its ``continue_after``
    triggers fired; all of them, as DataStage's end loop waits for each of its inputs)."""
    if not loop.continue_after:
        return True
    links = outgoing(loop.do)
    return all(name in outcomes and holds(condition, outcomes[name], links.get(name, []), evaluate)
               for name, condition in loop.continue_after.items())
