"""Terminator activity: ends the run FAILED with the activity's message (no exception handler runs)."""

from __future__ import annotations

from typing import Any

from dcf.stream.activities import Activity
from dcf.stream.run import StreamRun
from tasks.stage import SequenceStopped, StageResult


class Terminated(SequenceStopped):
    """The sequence was ended on purpose by a terminator activity."""


def run(run: StreamRun, activity: Activity, inputs: dict[str, Any]) -> StageResult:
    raise Terminated(f"terminated by {activity.name}: {inputs['message']}")
