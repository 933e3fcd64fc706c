"""The optional profile stage: after the dbt build, profile the tables the stream's YAML lists.

Profiling observes the load; it does not gate it. A table that cannot be profiled makes the stage end
with warnings (its PROFILE_RUNS row says FAILED and why), never the stream fail.
"""

from __future__ import annotations

from dcf.errors import DcfError
from dcf.profiling import ProfileOptions
from dcf.store.statuses import ProfileStatus
from dcf.stream.load_statistics import dbt_relation
from dcf.stream.run import StreamRun
from tasks.stage import StageResult, stage
from tasks.table_profiles import MAX_WORKERS, profile_many


@stage("profile")
def profile(run: StreamRun, build: StageResult) -> StageResult:
    config = run.config
    if not build.statistics.get("target_loaded", True):
        # The quality gate skipped the load: nothing this run wrote is there to observe.
        return StageResult({"profiled": [], "skipped": "the quality gate skipped the load"})
    relations = build.statistics.get("relations", {})
    # dbt model names resolve to the relation the build just wrote; schema.table names pass through.
    tables = [dbt_relation(relations[name]) if name in relations else name for name in config.profiling.tables]
    settings = config.profiling
    try:
        options = ProfileOptions.build(settings)
        outcomes = profile_many(tables, options, limit=min(settings.max_concurrency, MAX_WORKERS),
                                warehouse_block=run.warehouse_block, stream=run.stream_name,
                                note=f"stream {run.stream_name} process instance {run.prcs_inst_id}")
    except DcfError as error:  # an unknown table or a bad option: the load stands, the stage warns
        return StageResult({"profiled": []}, [f"profiling did not complete: {error}"])
    profiled = [{"table": o["table"], "run_id": o["run_id"], "rows": o["row_count"]} for o in outcomes]
    failed = [f"{o['table']}: {o['error']}" for o in outcomes if o["status"] != ProfileStatus.SUCCEEDED]
    return StageResult({"profiled": profiled}, [f"profiling failed for {'; '.join(failed)}"] if failed else [])
