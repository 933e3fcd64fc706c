"""The optional profile stage: after the dbt build, profile the tables the stream's YAML lists.

Profiling observes the load; it does not gate it. A table that cannot be profiled makes the stage end
with warnings (its PROFILE_RUNS row says FAILED and why), never the stream fail.
"""

from __future__ import annotations

from dcf.stream.load_statistics import dbt_relation
from dcf.stream.run import StreamRun
from tasks.stage import StageResult, stage


@stage("profile")
def profile(run: StreamRun, build: StageResult) -> StageResult:
    from flows.profile_tables import profile_tables

    config = run.config
    if not build.statistics.get("target_loaded", True):
        # The quality gate skipped the load: nothing this run wrote is there to observe.
        return StageResult({"profiled": [], "skipped": "the quality gate skipped the load"})
    relations = build.statistics.get("relations", {})
    # dbt model names resolve to the relation the build just wrote; schema.table names pass through.
    tables = [dbt_relation(relations[name]) if name in relations else name for name in config.profiling.tables]
    state = profile_tables(tables=tables, stream=run.stream_name, warehouse_block=run.warehouse_block,
                           note=f"stream {run.stream_name} process instance {run.prcs_inst_id}", return_state=True)
    if state.is_completed():
        outcomes = state.result()
        return StageResult({"profiled": [{"table": o["table"], "run_id": o["run_id"], "rows": o["row_count"]}
                                         for o in outcomes]})
    return StageResult({"profiled": []}, [f"profiling did not complete: {state.message}"])
