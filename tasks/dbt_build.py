"""The load job of the sequence: build the stream's dbt selection in-process, logging every node live."""

from __future__ import annotations

from blocks.snowflake_env import snowflake_env
from blocks.warehouse import load_warehouse
from dcf.dbt_runner import RunContext, run_dbt_build
from dcf.run import StreamRun
from tasks.stage import StageFailed, StageResult, stage
from tasks.warehouse import connect


@stage("dbt_build")
def dbt_build(run: StreamRun) -> StageResult:
    config = run.config
    warehouse = load_warehouse(run.warehouse_block)
    # Snowflake: the profile's secrets come from the warehouse block, set only while dbt runs.
    env = {"DCF_WAREHOUSE_PATH": str(warehouse.database_path)} if warehouse.kind == "duckdb" \
        else snowflake_env(warehouse)
    dbt_vars = {
        **config.dbt.vars,
        "stream_name": run.stream_name,
        "stream_id": config.stream.id,
        "run_stream_process_date": run.process_date.isoformat(),
        "ods_batch_id": run.batch_id,
        "prcs_inst_id": run.prcs_inst_id,
    }
    # The runner fills in the Prefect flow run, deployment and parameters itself.
    context = RunContext(stream_name=run.stream_name, prcs_inst_id=run.prcs_inst_id)
    with connect(run.warehouse_block) as conn:
        outcome = run_dbt_build(
            project_dir=config.dbt.project_path,
            profiles_dir=config.dbt.profiles_path,
            target=config.dbt.target,
            select=config.dbt.select,
            exclude=config.dbt.exclude,
            vars=dbt_vars,
            full_refresh=run.full_refresh,
            threads=config.dbt.threads,
            env=env,
            log_to=conn,
            context=context,
            task_per_node=config.dbt.task_per_node,
            reuse=config.dbt.reuse,
        )
    wanted = {config.quality.model, config.target.model, *config.profiling.tables}
    statistics = {
        "invocation_id": outcome.invocation_id,
        "success": outcome.success,
        "counts": outcome.counts,
        "relations": {name: rel for name, rel in outcome.relations.items() if name in wanted},
    }
    if not outcome.success:
        raise StageFailed(f"dbt build failed: {outcome.error}", statistics)
    missing = [name for name in (config.quality.model, config.target.model) if name not in outcome.relations]
    if missing:
        raise StageFailed(f"dbt project {config.dbt.project_dir} has no model(s) {missing} named in the stream YAML",
                          statistics)
    return StageResult(statistics)
