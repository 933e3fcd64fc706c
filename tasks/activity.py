"""The activity task: one Prefect task run per activity of a stream's sequence, checkpointed like a stage.

``activity_task(run, activity, row_name, inputs)`` writes the activity's DCF_T_PRCS_EXEC_LOG row (PRCS_NAME
``row_name``: the activity's name, ``loop[2].name`` inside a loop) RUNNING, then COMPLETED /
COMPLETED_WITH_WARNINGS / FAILED, or restores it from a completed earlier attempt of the same instance; the
state hooks write the same row as the second line. The work is the kind module's ``run`` (``tasks.kinds``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import task

from dcf.stream.activities import Activity
from dcf.stream.run import StreamRun
from tasks.kinds import (
    command,
    compare,
    dbt_build,
    files,
    ingest,
    notify,
    quality_gate,
    structure,
    terminate,
    variables,
)
from tasks.stage import (
    ChangedSince,
    StageResult,
    run_checkpointed,
    stage_completed_hook,
    stage_failed_hook,
    stage_running_hook,
)

#: The kind modules' ``run``; ``loop`` and ``stream`` are run by the executor (tasks.sequencer).
KIND_RUNNERS: dict[str, Callable[[StreamRun, Activity, dict[str, Any]], StageResult]] = {
    "dbt": dbt_build.run, "command": command.run, "wait_for_file": files.run, "set_vars": variables.run,
    "notify": notify.run, "terminate": terminate.run, "ingest": ingest.run, "quality_gate": quality_gate.run,
    "compare": compare.run, "sequencer": structure.run, "nested_condition": structure.run,
}


def _changed_since(activity: Activity) -> ChangedSince | None:
    """An ingest's landing files that changed since it ran fail a resume (the build would use old rows)."""
    if activity.ingest is None:
        return None
    return lambda run, statistics: ingest.landing_changed(ingest.source_of(run, activity), run, statistics)


def _stale_since(activity: Activity) -> ChangedSince | None:
    """A dbt activity whose project changed since it ran is built again on a resume."""
    return dbt_build.project_changed if activity.dbt is not None else None


@task(name="activity", task_run_name="{row_name}", cache_policy=None, persist_result=False,
      on_running=[stage_running_hook()], on_completion=[stage_completed_hook()], on_failure=[stage_failed_hook()])
def activity_task(run: StreamRun, activity: Activity, row_name: str, inputs: dict[str, Any]) -> StageResult:
    """Run one activity of the sequence (its inputs' ``#references#`` already filled in)."""
    runner = KIND_RUNNERS[activity.kind]
    return run_checkpointed(run, row_name, lambda: runner(run, activity, inputs),
                            changed_since=_changed_since(activity), stale_since=_stale_since(activity),
                            always_rerun=activity.always_rerun, stop_on_warnings=activity.stop_on_warnings,
                            statistics=inputs.get("row_statistics"))
