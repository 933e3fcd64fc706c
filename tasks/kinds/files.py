"""Wait for file: poll a glob under DCF_HOME until a file appears (or all disappear); fail on timeout."""

from __future__ import annotations

import time
from typing import Any

from dcf.paths import dcf_home
from dcf.stream.activities import Activity
from dcf.stream.run import StreamRun
from runtime.log import flow_logger
from tasks.stage import StageFailed, StageResult


def run(run: StreamRun, activity: Activity, inputs: dict[str, Any]) -> StageResult:
    step = activity.wait_for_file
    pattern: str = inputs["path"]
    home = dcf_home()
    deadline = time.monotonic() + step.timeout_s
    logger = flow_logger()
    logger.info("%s: waiting up to %ss for %s to %s", activity.name, f"{step.timeout_s:g}", pattern, step.mode)
    while True:
        # Only files inside DCF_HOME count, whatever the glob expands to.
        found = sorted(str(p.relative_to(home)) for p in home.glob(pattern) if p.resolve().is_relative_to(home))
        if (step.mode == "appear") == bool(found):
            return StageResult({"path": pattern, "mode": step.mode, "files": found[:100],
                                "outputs": {"$CommandOutput": "\n".join(found[:100])}})
        if time.monotonic() >= deadline:
            raise StageFailed(f"{pattern} did not {step.mode} within {step.timeout_s:g} s",
                              {"path": pattern, "mode": step.mode})
        time.sleep(min(step.poll_s, max(0.0, deadline - time.monotonic())))
