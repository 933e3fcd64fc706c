"""User variables activity: the values the executor evaluated, recorded so later activities (and a restart)
read them as ``<activity>.<variable>``."""

from __future__ import annotations

from typing import Any

from dcf.stream.activities import Activity
from dcf.stream.run import StreamRun
from tasks.stage import StageResult


def run(run: StreamRun, activity: Activity, inputs: dict[str, Any]) -> StageResult:
    return StageResult({"outputs": {"vars": inputs["vars"]}})
