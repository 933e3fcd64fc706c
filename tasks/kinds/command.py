"""Execute command: an executable and its arguments, without a shell; exit code and stdout for triggers."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

from dcf.paths import dcf_home
from dcf.stream.activities import Activity
from dcf.stream.run import StreamRun
from runtime.log import flow_logger
from tasks.stage import StageFailed, StageResult

#: $CommandOutput keeps at most this much of stdout (the rest is cut, and said so in the log).
OUTPUT_LIMIT = 64 * 1024


def run(run: StreamRun, activity: Activity, inputs: dict[str, Any]) -> StageResult:
    argv: list[str] = inputs["argv"]
    shown: list[str] = inputs.get("shown", argv)  # passwords masked
    step = activity.command
    executable = shutil.which(argv[0])
    if executable is None:
        raise StageFailed(f"command {shown[0]!r} is not found on PATH")
    logger = flow_logger()
    logger.info("%s: running %s (timeout %ss)", activity.name, " ".join(shown), f"{step.timeout_s:g}")
    try:
        done = subprocess.run([executable, *argv[1:]], capture_output=True, timeout=step.timeout_s,
                              env={**os.environ, **step.env}, cwd=dcf_home(), check=False)
    except subprocess.TimeoutExpired:
        raise StageFailed(f"command {shown[0]} did not finish within {step.timeout_s:g} s",
                          {"outputs": {"$ReturnValue": -1, "$CommandOutput": ""}}) from None
    stdout = done.stdout[:OUTPUT_LIMIT].decode("utf-8", errors="replace").rstrip("\n")
    if len(done.stdout) > OUTPUT_LIMIT:
        logger.warning("%s: stdout cut to %d bytes for $CommandOutput", activity.name, OUTPUT_LIMIT)
    outputs = {"$ReturnValue": done.returncode, "$CommandOutput": stdout}
    statistics = {"argv": shown, "outputs": outputs}
    if done.returncode != 0:
        stderr = done.stderr[-2000:].decode("utf-8", errors="replace").strip().splitlines()
        raise StageFailed(f"command {shown[0]} exited {done.returncode}" + (f": {stderr[-1]}" if stderr else ""),
                          statistics)
    return StageResult(statistics)
