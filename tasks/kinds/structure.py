"""Sequencer and nested condition: DataStage activities that run nothing; their row records that the graph
passed through them (the triggers around them are decided by the executor)."""

from __future__ import annotations

from typing import Any

from dcf.stream.activities import Activity
from dcf.stream.run import StreamRun
from tasks.stage import StageResult


def run(run: StreamRun, activity: Activity, inputs: dict[str, Any]) -> StageResult:
    return StageResult({"kind": activity.kind})
