"""GDWUtilProcessMetaDataFL: load statistics into DCF_T_PRCS_EXEC_LOG and the orchestration status.

The quality gate itself ran in the dbt stage (which skipped the target's load on a bad day); here its
verdict becomes the run's outcome: QUALITY_ISSUES fails the run with ``on_quality_issues: fail`` and
completes it with warnings otherwise.
"""

from __future__ import annotations

from blocks.default_warehouse import load_warehouse
from dcf.store.clock import utcnow
from dcf.store.instances import instance_row, update_instance
from dcf.stream.load_statistics import NO_DATA, QUALITY_ISSUES, build_statistics, load_statistics
from dcf.stream.run import StreamRun
from runtime.connections import connect
from tasks.stage import StageFailed, StageResult, stage


@stage("metadata")
def metadata(run: StreamRun, build: StageResult) -> StageResult:
    config = run.config
    relations = build.statistics["relations"]
    warehouse = load_warehouse(run.warehouse_block)
    with connect(run.warehouse_block) as conn:
        if config.quality is not None and config.target is not None and config.quality.model in relations:
            statistics = load_statistics(
                conn,
                quality=config.quality,
                quality_relation=relations[config.quality.model],
                target=config.target,
                target_relation=relations[config.target.model],
                process_date=run.process_date,
                target_loaded=build.statistics.get("target_loaded", True),
            )
        else:  # no quality gate: the build's own counts (and the target's rows, when the stream names one)
            statistics = build_statistics(conn, build.statistics, target=config.target,
                                          target_relation=relations.get(config.target.model) if config.target else None,
                                          process_date=run.process_date)
        started = instance_row(conn, run.prcs_inst_id)["PRCS_START_TS"]
        statistics.update({
            "load_duration_seconds": round((utcnow() - started).total_seconds(), 3),
            "warehouse_used": warehouse.describe(),
            "processing_date": run.process_date.isoformat(),
            "batch_id": run.batch_id,
            "dbt_invocation_ids": build.statistics.get("invocation_ids", []),
        })
        status = statistics.get("orchestration_status")
        if status:
            update_instance(conn, run.prcs_inst_id, orchestration_status=status)
    warnings = []
    outcome = "" if statistics["target_loaded"] or config.target is None else f"; {config.target.model} was not loaded"
    if status == QUALITY_ISSUES:
        message = (f"QUALITY_ISSUES: average data quality score {statistics['quality_score_avg']} is below "
                   f"{config.quality.load_threshold}{outcome}")
        if config.quality.on_quality_issues == "fail":
            raise StageFailed(message, statistics)
        warnings.append(message)
    elif status == NO_DATA:
        warnings.append(f"NO_DATA_AVAILABLE: the quality model holds no records for this run{outcome}")
    return StageResult(statistics, warnings)
