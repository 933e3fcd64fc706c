"""The dbt activity (a DataStage job activity): build a dbt selection in-process, logging every node live.

A ``dbt:`` activity builds its own ``select``/``exclude`` with the stream's ``dbt:`` settings for the rest.
One that builds the stream's own selection (no ``select`` of its own — the shorthand stream's ``dbt_build``)
carries the stream's ``quality:`` gate when the stream has one, where the DataStage sequences have it: unless
the stream says
``quality.on_quality_issues: load_with_warning``, the build is two dbt invocations — everything selected
upstream of ``target.model`` first, then the quality model's verdict, then ``target.model`` and its
children only when the day is READY_FOR_LOADING. A QUALITY_ISSUES or NO_DATA_AVAILABLE day leaves the
target untouched (load SKIPPED); the metadata stage decides what that means for the run. Each invocation
has its own JOB row in the execution log.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from blocks.default_warehouse import load_warehouse
from blocks.local_warehouse import Warehouse
from dcf.build.manifest import project_fingerprint
from dcf.build.profiles import warehouse_profiles_dir
from dcf.build.request import BuildRequest
from dcf.build.runner import DbtBuildOutcome, RunContext, run_dbt_build
from dcf.paths import dcf_home
from dcf.store.connection import Connection
from dcf.stream.activities import Activity
from dcf.stream.load_statistics import READY, quality_statistics, withdraw_day
from dcf.stream.run import StreamRun
from dcf.stream.settings import DbtSettings
from runtime.build_observer import PrefectBuildObserver
from runtime.connections import connect
from tasks.stage import StageFailed, StageResult

#: The vars DCF sets that change every run: the manifest is parsed without them (dbt's partial parse then holds).
RUN_VARS = frozenset({"run_stream_process_date", "ods_batch_id", "prcs_inst_id"})


def project_changed(run: StreamRun, statistics: dict[str, Any]) -> str | None:
    """Why a completed build of this instance is stale: its dbt project changed since (a fixed model)."""
    built_from = statistics.get("project_fingerprint")
    if built_from and built_from != project_fingerprint(run.config.dbt.project_path):
        return f"dbt project {run.config.dbt.project_dir} changed since it was built"
    return None


def run(run: StreamRun, activity: Activity, inputs: dict[str, Any]) -> StageResult:
    config = run.config
    step = activity.dbt
    warehouse = load_warehouse(run.warehouse_block)
    # Snowflake: the profile's secrets come from the warehouse block, set only while dbt runs.
    env = warehouse.dbt_env()
    dbt_vars = {
        **config.dbt.vars,
        **inputs.get("vars", {}),
        "stream_name": run.stream_name,
        "stream_id": config.stream.id,
        "run_stream_process_date": run.process_date.isoformat(),
        "ods_batch_id": run.batch_id,
        "prcs_inst_id": run.prcs_inst_id,
    }
    # The observer fills in the Prefect flow run, deployment and parameters.
    request = BuildRequest(
        project_dir=config.dbt.project_path,
        profiles_dir=profiles_dir(run, warehouse),
        target=config.dbt.target,
        vars=dbt_vars,
        run_vars=RUN_VARS,
        full_refresh=run.full_refresh or step.full_refresh,
        threads=step.threads or config.dbt.threads,
        env=env,
        context=RunContext(stream_name=run.stream_name, prcs_inst_id=run.prcs_inst_id),
        reuse=config.dbt.reuse if step.reuse is None else step.reuse,
        count_views=config.dbt.count_views,
        operation=step.operation,
        operation_args=step.args,
    )
    observer = PrefectBuildObserver(task_per_node=config.dbt.task_per_node)
    fingerprint = project_fingerprint(config.dbt.project_path)  # before the build: what it is built from
    if step.operation is not None:
        return _run_operation(run, request, observer, fingerprint)
    with connect(run.warehouse_block) as conn:
        def build(*, select: list[str], exclude: list[str]) -> DbtBuildOutcome:
            return run_dbt_build(request.narrowed(select=select, exclude=exclude), log_to=conn, observer=observer)

        stream_selection = step.select is None
        if not stream_selection or config.quality is None or config.quality.on_quality_issues == "load_with_warning":
            phases = {"build": build(select=step.select or config.dbt.select,
                                     exclude=[*config.dbt.exclude, *step.exclude])}
            gate = None
        else:
            phases, gate = _gated_build(run, build, conn)
        failed = next((outcome for outcome in phases.values() if not outcome.success), None)
        withdrawn = _withdraw_failed_day(run, failed, conn) if failed is not None else ""
    statistics = {**_statistics(run, phases, gate), "project_fingerprint": fingerprint}
    if failed is not None:
        raise StageFailed(f"dbt build failed: {failed.error}{withdrawn} (full log: {failed.log_file})", statistics)
    if stream_selection:
        _require_named_models(run, list(phases.values())[-1], statistics)
    warned = _warned_tests(phases)
    if warned:
        statistics["warned_tests"] = warned
    if warned and (step.test_warnings or config.dbt.test_warnings) == "finish_with_warnings":
        return StageResult(statistics, [_warned_line(warned)])
    return StageResult(statistics)


def _run_operation(run: StreamRun, request: BuildRequest, observer: PrefectBuildObserver,
                   fingerprint: str) -> StageResult:
    """``dbt run-operation``: the macro's JOB and MODEL rows in the execution log, its error as the stage's."""
    with connect(run.warehouse_block) as conn:
        outcome = run_dbt_build(request, log_to=conn, observer=observer)
    # the shape of a build's statistics (metadata and the combined build read them): an operation builds nothing
    statistics = {"invocation_ids": [outcome.invocation_id], "operation": request.operation,
                  "success": outcome.success, "counts": outcome.counts, "relations": {},
                  "target_loaded": outcome.success, "project_fingerprint": fingerprint}
    if not outcome.success:
        raise StageFailed(f"dbt operation {request.operation} failed: {outcome.error} (full log: {outcome.log_file})",
                          statistics)
    return StageResult(statistics)


#: How many warned tests the stage's message names (all of them are in its statistics).
NAMED_WARNINGS = 10


def _warned_tests(phases: dict[str, DbtBuildOutcome]) -> list[dict[str, str]]:
    """Every test that warned, with dbt's message ("Got 8 results, configured to warn if != 0")."""
    return [{"test": node.name, "message": node.message or ""}
            for outcome in phases.values() for node in outcome.nodes
            if node.resource_type == "test" and node.status == "warn"]


def _warned_line(warned: list[dict[str, str]]) -> str:
    named = "; ".join(f"{test['test']} ({test['message']})" for test in warned[:NAMED_WARNINGS])
    more = f"; and {len(warned) - NAMED_WARNINGS} more" if len(warned) > NAMED_WARNINGS else ""
    return f"{len(warned)} dbt test(s) warned: {named}{more}"


def profiles_dir(run: StreamRun, warehouse: Warehouse) -> Path:
    """The stream's own profiles dir (validate checked it writes to the warehouse), else one written for it."""
    return stream_profiles_dir(run.stream_name, run.config.dbt, warehouse)


def stream_profiles_dir(stream_name: str, dbt: DbtSettings, warehouse: Warehouse) -> Path:
    """:func:`profiles_dir` from the stream's ``dbt:`` settings."""
    if dbt.profiles_path is not None:
        return dbt.profiles_path
    return warehouse_profiles_dir(dcf_home() / "dbt" / "profiles" / stream_name, dbt.project_path, dbt.target,
                                  warehouse.dbt_profile_output(dbt.threads))


def _require_named_models(run: StreamRun, outcome: DbtBuildOutcome, statistics: dict[str, Any]) -> None:
    config = run.config
    named = [settings.model for settings in (config.quality, config.target) if settings is not None]
    missing = [name for name in named if name not in outcome.relations]
    if missing:
        raise StageFailed(f"dbt project {config.dbt.project_dir} has no model(s) {missing} named in the stream YAML",
                          statistics)


def _withdraw_failed_day(run: StreamRun, failed: DbtBuildOutcome, conn: Connection) -> str:
    """A build that wrote the target and then failed (a test of the target, a child) takes the day back out.

    The upstream models and their tests run before the target is touched, so most failures never reach it;
    this covers the rest: readers never see a day whose checks failed. The resume rebuilds it.
    """
    target = run.config.target
    written = target is not None and any(
        node.name == target.model and node.resource_type == "model" and node.status == "success"
        for node in failed.nodes)
    if not written:
        return ""
    try:
        rows = withdraw_day(conn, target=target, target_relation=failed.relations[target.model],
                            process_date=run.process_date)
    except Exception as error:  # the build's own failure stays the message; this one is added to it
        return f"; its day could NOT be taken back out of {target.model}: {str(error).splitlines()[0][:300]}"
    return f"; the day's {rows} rows were taken back out of {target.model} (not published)"


def _gated_build(run: StreamRun, build: Callable[..., DbtBuildOutcome],
                 conn: Connection) -> tuple[dict[str, DbtBuildOutcome], dict[str, Any] | None]:
    """Upstream of the target, the quality verdict, then the target and its children if the day may load."""
    config = run.config
    downstream = f"{config.target.model}+"
    upstream = build(select=config.dbt.select, exclude=[*config.dbt.exclude, downstream])
    phases = {"upstream": upstream}
    if not upstream.success:
        return phases, None
    _require_named_models(run, upstream, {"invocation_ids": [upstream.invocation_id]})
    built = {node.name for node in upstream.nodes if node.resource_type == "model"}
    if config.quality.model not in built:
        raise StageFailed(
            f"quality.model {config.quality.model} is not built before target.model {config.target.model}: the "
            "quality gate needs it upstream of the target and in dbt.select (or set quality.on_quality_issues: "
            "load_with_warning to assess after the load)",
            {"invocation_ids": [upstream.invocation_id]},
        )
    gate = quality_statistics(conn, quality=config.quality,
                              quality_relation=upstream.relations[config.quality.model])
    if gate["orchestration_status"] == READY:
        # "a,b" is dbt's intersection: the stream's own selection, restricted to the target and its children.
        select = [f"{selector},{downstream}" for selector in config.dbt.select] or [downstream]
        phases["load"] = build(select=select, exclude=config.dbt.exclude)
    return phases, gate


def _statistics(run: StreamRun, phases: dict[str, DbtBuildOutcome], gate: dict[str, Any] | None) -> dict[str, Any]:
    """The stage row's PRCS_STATISTICS: every invocation, counts over all of them, and the gate's verdict."""
    config = run.config
    last = list(phases.values())[-1]
    wanted = {name.lower() for name in config.named_models()}
    counts: dict[str, int] = {}
    for outcome in phases.values():
        for key, value in outcome.counts.items():
            counts[key] = counts.get(key, 0) + value
    success = all(outcome.success for outcome in phases.values())
    return {
        "invocation_ids": [outcome.invocation_id for outcome in phases.values()],
        "invocations": {phase: {"invocation_id": outcome.invocation_id, "success": outcome.success,
                                "counts": outcome.counts} for phase, outcome in phases.items()},
        "success": success,
        "counts": counts,
        "relations": {name: rel for name, rel in last.relations.items() if name.lower() in wanted},
        # the target was built: by the single build, or by the gated build's load phase
        "target_loaded": success and ("load" in phases or "build" in phases),
        "quality_gate": None if gate is None else {
            "orchestration_status": gate["orchestration_status"],
            "quality_score_avg": gate["quality_score_avg"],
            "records_processed": gate["records_processed"],
            "load_threshold": config.quality.load_threshold if config.quality else None,
            "load": "EXECUTED" if "load" in phases else "SKIPPED",
        },
    }
