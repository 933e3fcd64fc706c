"""The quality gate as an activity: the day's verdict from the quality model an earlier dbt activity built.

``$UserStatus`` is the orchestration status (also set on the process instance). READY_FOR_LOADING ends OK;
QUALITY_ISSUES and NO_DATA_AVAILABLE end with warnings — so the load behind an ``ok`` trigger is skipped —
or, with ``on_quality_issues: fail``, QUALITY_ISSUES fails the activity.
"""

from __future__ import annotations

from typing import Any

from dcf.store.instances import update_instance
from dcf.stream.activities import Activity
from dcf.stream.load_statistics import QUALITY_ISSUES, READY, quality_statistics
from dcf.stream.run import StreamRun
from runtime.connections import connect
from tasks.stage import StageFailed, StageResult


def run(run: StreamRun, activity: Activity, inputs: dict[str, Any]) -> StageResult:
    gate = activity.quality_gate
    relation = inputs.get("relation")
    if relation is None:
        raise StageFailed(f"quality_gate.model {gate.model} was not built by a dbt activity before {activity.name}; "
                          "put the dbt activity that builds it in this activity's after")
    with connect(run.warehouse_block) as conn:
        statistics = quality_statistics(conn, quality=gate, quality_relation=relation)
        verdict = statistics["orchestration_status"]
        update_instance(conn, run.prcs_inst_id, orchestration_status=verdict)
    statistics["outputs"] = {"$UserStatus": str(verdict)}
    if verdict == READY:
        return StageResult(statistics)
    message = f"{verdict}: average quality score {statistics['quality_score_avg']} (load threshold " \
              f"{gate.load_threshold}, {statistics['records_processed']} records)"
    if verdict == QUALITY_ISSUES and gate.on_quality_issues == "fail":
        raise StageFailed(message, statistics)
    return StageResult(statistics, [message])
