"""The parallel run as an activity: the legacy relation against the migrated one, for the run's process date.

``$UserStatus`` is MATCH or MISMATCH. MATCH ends OK; a MISMATCH within the thresholds ends with warnings,
beyond them it fails (``on_mismatch: warn``: warnings). The comparison is recorded in COMPARE_RUNS /
COMPARE_COLUMNS (a restart replaces its rows) and published as a markdown artifact.
"""

from __future__ import annotations

from typing import Any

from dcf.compare.markdown import comparison_markdown
from dcf.compare.verdict import CompareContext, compare_and_record
from dcf.errors import ConfigError
from dcf.store.statuses import StageStatus
from dcf.stream.activities import Activity
from dcf.stream.run import StreamRun
from runtime.connections import connect
from tasks.report import artifact_slug
from tasks.stage import StageFailed, StageResult


def run(run: StreamRun, activity: Activity, inputs: dict[str, Any]) -> StageResult:
    spec = activity.compare
    row_name = inputs.get("row_name", activity.name)
    with connect(run.warehouse_block) as conn:
        try:
            result, outcome = compare_and_record(
                conn, spec, f"{run.prcs_inst_id}:{row_name}",
                CompareContext(run.stream_name, run.prcs_inst_id, row_name, run.process_date),
                legacy=inputs["legacy"], new=inputs["new"])
        except ConfigError as error:
            raise StageFailed(f"{activity.name}: {error}") from None
    publish(f"{run.stream_name}-{row_name}", comparison_markdown(result, outcome, spec))
    statistics = {"verdict": result.verdict, "decided_by": result.decided_by, "rows_legacy": result.rows_legacy,
                  "rows_new": result.rows_new, "statements": result.statements,
                  "outputs": {"$UserStatus": result.verdict}}
    if outcome.status == StageStatus.FAILED:
        raise StageFailed(outcome.why, statistics)
    return StageResult(statistics, [outcome.why] if outcome.status == StageStatus.COMPLETED_WITH_WARNINGS else [])


def publish(name: str, markdown: str) -> None:
    """The comparison as a markdown artifact of the run (key ``compare-<name>``)."""
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(markdown=markdown, key=f"compare-{artifact_slug(name)}",
                             description=f"parallel run {name}")
