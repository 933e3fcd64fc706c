"""Pure record building for the dbt execution log: dbt node events + manifest facts -> rows in the spec's shape.

No database, no dbt import, no Prefect: :mod:`dcf.build.runner` turns dbt's objects into the plain data below,
:mod:`dcf.execlog.writer` writes the rows. Shapes follow ``process_execution_log_hierarchical.md`` (JOB row
``JOB_<invocation_id>``, MODEL rows ``JOB_<invocation_id>_MODEL_<model>``) and ``model_cost_calculator.md``.

    job = JobState(invocation_id="abc", started_at=t0, info=ProjectFacts(...), config=JobConfig(...))
    job.apply(NodeEvent("start", "model.p.m1", t1, ...))      # from dbt's NodeStart
    job.apply(NodeEvent("finish", "model.p.m1", t2, status="success", ...))
    job.finish(t3)
    rows = [job.job_row(now), *(job.model_row(m, now) for m in job.models.values())]

Applying the same event twice changes nothing (events are keyed), so a re-delivery never duplicates a
timeline step; rows are keyed by PROCESS_STEP_ID, so re-writing them never duplicates a row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JOB_EXECUTION_TYPE = "DBT_JOB_RUN"

#: dbt materialization -> EXECUTION_TYPE_NAME (a full refresh of an incremental reloads it from scratch).
EXECUTION_TYPES = {
    "incremental": "INCREMENTAL_LOAD",
    "table": "TRUNCATE_FULL_LOAD",
    "view": "VIEW_REFRESH",
    "ephemeral": "EPHEMERAL",
    "snapshot": "SNAPSHOT_LOAD",
    "seed": "SEED_LOAD",
    "materialized_view": "MATERIALIZED_VIEW_REFRESH",
    "dynamic_table": "DYNAMIC_TABLE_REFRESH",
}

#: dbt status of a model -> EXECUTION_STATUS_NAME.
MODEL_STATUSES = {"success": "SUCCESS", "error": "FAILED", "skipped": "SKIPPED", "reused": "REUSED",
                  "no-op": "REUSED"}
#: dbt status -> DBT_MODEL_EXECUTIONS.STATUS (the spec knows success / error / skipped / reused).
COST_STATUSES = {"success": "success", "pass": "success", "warn": "success", "error": "error", "fail": "error",
                 "runtime error": "error", "skipped": "skipped", "reused": "reused", "no-op": "reused"}
TEST_STEP_TYPES = {"pass": ("TEST_PASSED", "Info"), "warn": ("TEST_WARNED", "Warn"),
                   "fail": ("TEST_FAILED", "Error"), "error": ("TEST_ERROR", "Error"),
                   "skipped": ("TEST_SKIPPED", "Warn"), "reused": ("TEST_REUSED", "Info")}
#: Materializations whose destination row count is worth a COUNT(*) (views would re-run their query).
COUNTABLE = frozenset({"table", "incremental", "snapshot", "seed"})
MODEL_TYPES = frozenset({"model", "seed", "snapshot"})
# Snowflake errors read "002003 (42S02): 01b2c3d4-0000-...: SQL compilation error ...": the id is the query's.
_QUERY_ID_IN_ERROR = re.compile(r"\(\w+\):\s*([0-9a-f]{8}-[0-9a-f-]{20,})", re.IGNORECASE)


def job_step_id(invocation_id: str) -> str:
    return f"JOB_{invocation_id}"


def model_step_id(invocation_id: str, model_name: str) -> str:
    return f"JOB_{invocation_id}_MODEL_{model_name}"


def execution_type(materialized: str | None, *, full_refresh: bool = False) -> str:
    if materialized == "incremental" and full_refresh:
        return "TRUNCATE_FULL_LOAD"
    return EXECUTION_TYPES.get(materialized or "", (materialized or "UNKNOWN").upper() + "_LOAD")


def fmt_ts(value: datetime | None) -> str | None:
    """The spec's timestamp text: ``2025-12-11 10:30:00.123``."""
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}" if value else None


@dataclass(frozen=True)
class RunContext:
    """What leads a log row back to its stream run; all optional (filled from Prefect when inside a run)."""

    stream_name: str | None = None
    prcs_inst_id: int | None = None
    flow_run_id: str | None = None
    flow_id: str | None = None
    deployment_id: str | None = None
    work_pool: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


# -- what the manifest tells us ------------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeFacts:
    """One manifest node, reduced to what the log needs."""

    unique_id: str
    name: str
    resource_type: str
    package: str
    materialized: str | None
    relation_name: str | None
    database: str | None
    schema: str | None
    alias: str | None
    original_file_path: str
    #: direct dependencies: (type "source" | "ref", name, node_id)
    depends_on: tuple[tuple[str, str, str], ...] = ()
    #: tests: the models whose timeline the result joins
    tested_models: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class ProjectFacts:
    project_name: str
    adapter_type: str
    dbt_version: str
    nodes: dict[str, NodeFacts] = field(hash=False, compare=False)

    def relations(self) -> dict[str, str]:
        """Model name -> relation name for every model (root package wins a name clash)."""
        out: dict[str, str] = {}
        for node in sorted(self.nodes.values(), key=lambda n: n.package == self.project_name):
            if node.resource_type == "model" and node.relation_name:
                out[node.name] = node.relation_name
        return out


@dataclass(frozen=True)
class JobConfig:
    """Job-level facts that end up in PROCESS_CONFIG_OBJ / DESTINATION_OBJ / DBT_PLATFORM_JOB_RUNS."""

    target_name: str
    target_database: str | None = None
    target_schema: str | None = None
    threads: int | None = None
    warehouse: str | None = None
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    full_refresh: bool = False
    compiled_root: str | None = None  # <target-path>/compiled, for the compiled path of a failing model
    run: RunContext = field(default_factory=RunContext)
    #: where the build runs: reconcile uses host + pid (+ start) to tell a killed process from a live one
    host: str | None = None
    pid: int | None = None
    pid_start: str | None = None
    git_branch: str | None = None
    git_commit: str | None = None
    #: state-aware reuse of this build (None: off): reused / built counts and the reasons to build
    reuse: dict[str, Any] | None = None


# -- what dbt's events tell us -------------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeEvent:
    """The part of one dbt event we keep. kind: start (NodeStart), query (SQLQueryStatus), finish (NodeFinished),
    or reused (not from dbt: the node was reused, see :mod:`dcf.build.reuse`; ``detail`` has built_by and rows)."""

    kind: str
    unique_id: str
    ts: datetime
    status: str | None = None
    message: str | None = None
    execution_time: float | None = None
    query_id: str | None = None
    elapsed: float | None = None
    adapter_response: dict[str, Any] | None = None
    timing: dict[str, float] | None = None
    thread: str | None = None
    failures: int | None = None
    detail: dict[str, Any] | None = None

    @property
    def key(self) -> tuple:
        return (self.kind, self.unique_id, self.ts, self.query_id, self.status)


@dataclass
class ModelState:
    """A model (or seed/snapshot) of the current invocation, as far as events have told."""

    facts: NodeFacts
    started_at: datetime
    status: str = "RUNNING"
    ended_at: datetime | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)
    query_ids: list[str] = field(default_factory=list)
    queries: int = 0
    rows: int | None = None
    rows_affected: int | None = None
    dbt_status: str | None = None
    message: str | None = None
    execution_time: float | None = None
    error: dict[str, Any] | None = None
    inserted_at: datetime | None = None

    @property
    def ended(self) -> bool:
        return self.status != "RUNNING"

    def needs_count(self) -> bool:
        return self.status == "SUCCESS" and self.rows is None and self.facts.materialized in COUNTABLE \
            and bool(self.facts.relation_name)


@dataclass
class NodeResult:
    """A finished node of any type (tests included): feeds DBT_MODEL_EXECUTIONS and the outcome."""

    facts: NodeFacts
    status: str
    finished_at: datetime
    execution_time: float | None
    message: str | None
    query_id: str | None
    rows: int | None = None


@dataclass
class JobState:
    """Everything known about one dbt invocation; turns into JOB / MODEL / cost rows on demand."""

    invocation_id: str
    started_at: datetime
    project: ProjectFacts
    config: JobConfig
    status: str = "RUNNING"
    ended_at: datetime | None = None
    models: dict[str, ModelState] = field(default_factory=dict)
    results: dict[str, NodeResult] = field(default_factory=dict)
    failure: str | None = None
    inserted_at: datetime | None = None
    _seen: set[tuple] = field(default_factory=set)
    _dirty: set[str] = field(default_factory=set)
    _query_ids: dict[str, list[str]] = field(default_factory=dict)

    # -- events ------------------------------------------------------------------------------------------
    def apply(self, event: NodeEvent) -> None:
        """Fold one event into the state; a repeated event is ignored."""
        if event.key in self._seen:
            return
        self._seen.add(event.key)
        facts = self.project.nodes.get(event.unique_id)
        if facts is None:  # hooks / operations, or a node the manifest does not know
            return
        if event.kind == "query":
            self._on_query(facts, event)
        elif event.kind == "start" and facts.resource_type in MODEL_TYPES:
            self._on_model_start(facts, event)
        elif event.kind == "finish":
            self._on_finish(facts, event)
        elif event.kind == "reused":
            self._on_reused(facts, event)

    def _on_query(self, facts: NodeFacts, event: NodeEvent) -> None:
        if event.query_id:
            self._query_ids.setdefault(facts.unique_id, []).append(event.query_id)
        model = self.models.get(facts.unique_id)
        if model is None:
            return
        model.queries += 1
        if event.query_id:
            model.query_ids.append(event.query_id)
            self._step(model, event.ts, "Debug", "QUERY_EXECUTED", f"Query executed: {facts.name}",
                       query_id=event.query_id,
                       query_result={"status": event.status, "elapsed_seconds": event.elapsed})
            self._dirty.add(facts.unique_id)

    def _on_model_start(self, facts: NodeFacts, event: NodeEvent) -> None:
        if facts.unique_id in self.models:
            return
        model = ModelState(facts, started_at=event.ts)
        self.models[facts.unique_id] = model
        self._step(model, event.ts, "Info", "MODEL_START", f"Model Started: {facts.name}",
                   content={"node_id": facts.unique_id, "materialized": facts.materialized,
                            "relation": facts.relation_name, "thread": event.thread})
        self._dirty.add(facts.unique_id)

    def _on_finish(self, facts: NodeFacts, event: NodeEvent) -> None:
        status = event.status or "error"
        query_ids = self._query_ids.get(facts.unique_id, [])
        query_id = _response_query_id(event) or (query_ids[-1] if query_ids else None)
        self.results[facts.unique_id] = NodeResult(facts, status, event.ts, event.execution_time,
                                                   event.message, query_id)
        if facts.resource_type == "test":
            for model_id in facts.tested_models:
                if model_id in self.models:
                    self._on_test(self.models[model_id], facts, event, query_id)
            return
        model = self.models.get(facts.unique_id)
        if model is None:  # a finish without a start (re-delivery into a fresh writer): start it now
            self._on_model_start(facts, NodeEvent("start", facts.unique_id, event.ts, thread=event.thread))
            model = self.models[facts.unique_id]
        self._finish_model(model, event, status, query_id)

    def _on_reused(self, facts: NodeFacts, event: NodeEvent) -> None:
        """A node that did not run because its last result stands: one MODEL_REUSED step, no query."""
        detail = event.detail or {}
        rows = detail.get("rows")
        self.results[facts.unique_id] = NodeResult(facts, "reused", event.ts, None, event.message, None, rows)
        if facts.resource_type == "test":
            for model_id in facts.tested_models:
                if model_id in self.models:
                    self._on_test(self.models[model_id], facts, event, None)
            return
        if facts.resource_type not in MODEL_TYPES or facts.unique_id in self.models:
            return
        model = ModelState(facts, started_at=event.ts, status="REUSED", ended_at=event.ts, rows=rows,
                           dbt_status="reused", message=event.message)
        self.models[facts.unique_id] = model
        self._step(model, event.ts, "Info", "MODEL_REUSED", f"Model Reused: {facts.name}",
                   query_result={"rows_in_destination": rows, "execution_status": "REUSED"},
                   content={"reason": event.message, "reused_from_invocation": detail.get("built_by"),
                            "materialized": facts.materialized, "relation": facts.relation_name})
        self._dirty.add(facts.unique_id)

    def _finish_model(self, model: ModelState, event: NodeEvent, status: str, query_id: str | None) -> None:
        facts = model.facts
        model.status = MODEL_STATUSES.get(status, "FAILED")
        model.dbt_status = status
        model.ended_at = event.ts
        model.message = event.message
        model.execution_time = event.execution_time
        response = event.adapter_response or {}
        model.rows_affected = _int(response.get("rows_affected"))
        # Snowflake's CTAS reports the rows it inserted, i.e. the rows now in the table; anything else
        # (incremental merges, DuckDB, which reports none) is counted by the writer.
        if model.status == "SUCCESS" and facts.materialized == "table" and model.rows_affected is not None:
            model.rows = model.rows_affected
        level, step_type, title = {
            "SUCCESS": ("Info", "MODEL_COMPLETE", "Model Completed"),
            "FAILED": ("Error", "MODEL_FAILED", "Model Failed"),
            "SKIPPED": ("Warn", "MODEL_SKIPPED", "Model Skipped"),
            "REUSED": ("Info", "MODEL_REUSED", "Model Reused"),
        }[model.status]
        content: dict[str, Any] = {"dbt_status": status, "message": event.message, "timing": event.timing,
                                   "adapter_response": response or None}
        if model.status == "SKIPPED":
            content["reason"] = "an upstream node failed or was skipped"
            content["upstream_not_successful"] = [
                node_id for _, _, node_id in facts.depends_on
                if node_id in self.results and self.results[node_id].status not in ("success", "pass", "warn")
            ]
        if model.status == "FAILED":
            model.error = {
                "error_type": "MODEL_ERROR",
                "message": event.message,
                "node_id": facts.unique_id,
                "model_name": facts.name,
                "compiled_path": self._compiled_path(facts),
                "query_id": _query_id_in(event.message) or query_id,
            }
        self._step(model, event.ts, level, step_type, f"{title}: {facts.name}", query_id=query_id,
                   query_result={"rows_in_destination": model.rows, "rows_affected": model.rows_affected,
                                 "execution_status": model.status, "execution_time_seconds": event.execution_time},
                   content=content)
        self._dirty.add(facts.unique_id)

    def _on_test(self, model: ModelState, test: NodeFacts, event: NodeEvent, query_id: str | None) -> None:
        step_type, level = TEST_STEP_TYPES.get(event.status or "error", ("TEST_ERROR", "Error"))
        self._step(model, event.ts, level, step_type, f"Test {event.status}: {test.name}", query_id=query_id,
                   query_result={"test_status": event.status, "failures": event.failures},
                   content={"test_id": test.unique_id, "message": event.message})
        self._dirty.add(model.facts.unique_id)

    def set_rows(self, unique_id: str, rows: int | None) -> None:
        """A destination count arrived (from the writer's batched COUNT): it joins the completion step."""
        model = self.models[unique_id]
        model.rows = rows
        for step in reversed(model.timeline):
            if step["step_type"] == "MODEL_COMPLETE":
                step["query_result"]["rows_in_destination"] = rows
                break
        self._dirty.add(unique_id)

    def finish(self, at: datetime, *, failure: str | None = None) -> None:
        """The invocation ended. ``failure``: it was interrupted or broke (models still running are FAILED)."""
        self.failure = failure
        for model in self.models.values():
            if not model.ended:
                model.status, model.ended_at = "FAILED", at
                model.error = {"error_type": "INTERRUPTED", "message": failure or "the dbt invocation ended "
                               "before this model finished", "node_id": model.facts.unique_id,
                               "model_name": model.facts.name, "compiled_path": self._compiled_path(model.facts),
                               "query_id": model.query_ids[-1] if model.query_ids else None}
                self._step(model, at, "Error", "MODEL_FAILED", f"Model Interrupted: {model.facts.name}",
                           query_result={"execution_status": "FAILED"}, content={"message": failure})
                self._dirty.add(model.facts.unique_id)
        counts = self.counts()
        failed = failure or counts["models_failed"] or counts["tests_failed"] or counts["errors_other"]
        self.status = "FAILED" if failed else "SUCCESS"
        self.ended_at = at
        self._dirty.add("")

    def take_dirty(self) -> tuple[bool, list[ModelState]]:
        """(job row changed, model rows changed) since the last call; the writer writes exactly these."""
        dirty, self._dirty = self._dirty, set()
        return ("" in dirty or self.inserted_at is None), [self.models[d] for d in dirty if d in self.models]

    def mark_dirty(self, job: bool, models: list[ModelState]) -> None:
        """Put rows back (a write failed): the next flush retries them."""
        if job:
            self._dirty.add("")
        self._dirty.update(m.facts.unique_id for m in models)

    # -- summaries ---------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Model and test counts of the invocation (the outcome's ``counts``)."""
        models = [r for r in self.results.values() if r.facts.resource_type == "model"]
        tests = [r for r in self.results.values() if r.facts.resource_type == "test"]
        other = [r for r in self.results.values() if r.facts.resource_type not in ("model", "test")]
        running = [m for m in self.models.values() if not m.ended and m.facts.resource_type == "model"]
        failed_models = sum(1 for m in self.models.values()
                            if m.status == "FAILED" and m.facts.resource_type == "model")
        # tests_reused only when some were (state-aware reuse): the shape of a plain build's counts stays as it was
        tests_reused = sum(1 for r in tests if r.status == "reused")
        return {
            "models_total": len({*(r.facts.unique_id for r in models), *(m.facts.unique_id for m in running)}),
            "models_succeeded": sum(1 for r in models if r.status == "success"),
            "models_failed": failed_models,
            "models_skipped": sum(1 for r in models if r.status == "skipped"),
            "models_reused": sum(1 for r in models if r.status in ("reused", "no-op")),
            "tests_total": len(tests),
            "tests_passed": sum(1 for r in tests if r.status == "pass"),
            "tests_failed": sum(1 for r in tests if r.status in ("fail", "error")),
            "tests_warned": sum(1 for r in tests if r.status == "warn"),
            "tests_skipped": sum(1 for r in tests if r.status == "skipped"),
            "errors_other": sum(1 for r in other if r.status == "error"),
            **({"tests_reused": tests_reused} if tests_reused else {}),
        }

    def errors(self) -> list[dict[str, Any]]:
        out = []
        for result in self.results.values():
            if result.status in ("error", "fail"):
                out.append({"node_id": result.facts.unique_id, "name": result.facts.name,
                            "resource_type": result.facts.resource_type, "status": result.status,
                            "message": result.message})
        return out

    def error_line(self) -> str | None:
        """One readable line: what failed (the outcome's ``error``)."""
        errors = self.errors()
        parts = [f"{e['resource_type']} {e['name']} {e['status']}: {_first_line(e['message'])}" for e in errors[:3]]
        if len(errors) > 3:
            parts.append(f"and {len(errors) - 3} more")
        if self.failure:
            parts.insert(0, self.failure)
        return "; ".join(parts) or None

    def total_rows(self) -> int | None:
        rows = [m.rows for m in self.models.values() if m.rows is not None]
        return sum(rows) if rows else None

    # -- rows -------------------------------------------------------------------------------------------
    def _process_config(self, *, job: bool) -> dict[str, Any]:
        c, run = self.config, self.config.run
        base = {"invocation_id": self.invocation_id, "project_name": self.project.project_name,
                "stream_name": run.stream_name, "prcs_inst_id": run.prcs_inst_id, "flow_run_id": run.flow_run_id,
                "host": c.host, "pid": c.pid, "pid_start": c.pid_start}
        if not job:
            return base
        return {**base, "target_name": c.target_name, "threads": c.threads, "dbt_version": self.project.dbt_version,
                "adapter_type": self.project.adapter_type, "warehouse": c.warehouse, "flow_id": run.flow_id,
                "deployment_id": run.deployment_id, "work_pool": run.work_pool, "select": list(c.select),
                "exclude": list(c.exclude), "full_refresh": c.full_refresh, "reuse": c.reuse}

    def job_row(self, now: datetime) -> dict[str, Any]:
        ended = self.status != "RUNNING"
        counts = self.counts()
        timeline = [_event(1, self.started_at, "Info", "JOB_START", f"Job Started: {self.project.project_name}",
                           content={"invocation_id": self.invocation_id, "target": self.config.target_name})]
        if ended:
            timeline.append(_event(2, self.ended_at, "Info" if self.status == "SUCCESS" else "Error", "JOB_COMPLETE",
                                   f"Job Completed: {self.status}", query_result={"execution_status": self.status},
                                   content=counts))
        errors = self.errors()
        error_obj = None
        if ended and (errors or self.failure):
            error_obj = {"message": self.error_line(), "error_count": len(errors), "errors": errors,
                         "interrupted": self.failure}
        destination_counts = None
        if ended:
            destination_counts = {
                "total_models": counts["models_total"], "successful_models": counts["models_succeeded"],
                "failed_models": counts["models_failed"], "skipped_models": counts["models_skipped"],
                "reused_models": counts["models_reused"], "tests_total": counts["tests_total"],
                "tests_passed": counts["tests_passed"], "tests_failed": counts["tests_failed"],
                "tests_warned": counts["tests_warned"], "tests_skipped": counts["tests_skipped"],
                **({"tests_reused": counts["tests_reused"]} if "tests_reused" in counts else {}),
                "total_rows": self.total_rows(),
            }
        return self._row(
            step_id=job_step_id(self.invocation_id), parent=None, record_type="JOB", status=self.status,
            started=self.started_at, ended=self.ended_at, inserted=self.inserted_at or now, now=now,
            execution_type=JOB_EXECUTION_TYPE,
            source={"type": "DBT_JOB", "project_name": self.project.project_name,
                    "select": list(self.config.select), "exclude": list(self.config.exclude)},
            destination={"target_name": self.config.target_name, "target_database": self.config.target_database,
                         "target_schema": self.config.target_schema, "adapter_type": self.project.adapter_type},
            config=self._process_config(job=True),
            rows=self.total_rows() if ended else None, destination_counts=destination_counts, error=error_obj,
            steps={"job_status": self.status, "status": self.status,
                   "current_step": "JOB_COMPLETE" if ended else "JOB_START",
                   "run_type": "FULL_REFRESH" if self.config.full_refresh else "BUILD",
                   "execution_timeline": timeline},
        )

    def model_row(self, model: ModelState, now: datetime) -> dict[str, Any]:
        facts = model.facts
        sources = {f"source_{i}": {"type": kind, "name": name, "node_id": node_id}
                   for i, (kind, name, node_id) in enumerate(facts.depends_on, start=1)}
        exec_type = execution_type(facts.materialized, full_refresh=self.config.full_refresh)
        current = {"RUNNING": "MODEL_RUNNING", "SUCCESS": "MODEL_COMPLETED", "FAILED": "MODEL_FAILED",
                   "SKIPPED": "MODEL_SKIPPED", "REUSED": "MODEL_REUSED"}[model.status]
        return self._row(
            step_id=model_step_id(self.invocation_id, facts.name), parent=job_step_id(self.invocation_id),
            record_type="MODEL", status=model.status, started=model.started_at, ended=model.ended_at,
            inserted=model.inserted_at or now, now=now, execution_type=exec_type,
            source=sources or None,
            destination={"database": facts.database, "schema": facts.schema, "table": facts.alias,
                         "materialization": facts.materialized, "execution_type": exec_type,
                         "full_name": ".".join(p for p in (facts.database, facts.schema, facts.alias) if p)},
            config=self._process_config(job=False), rows=model.rows, destination_counts=None, error=model.error,
            steps={"model_name": facts.name, "node_id": facts.unique_id, "current_step": current,
                   "status": model.status, "query_id_start": model.query_ids[0] if model.query_ids else None,
                   "query_id_end": model.query_ids[-1] if model.query_ids else None, "queries": model.queries,
                   "execution_timeline": model.timeline},
        )

    @staticmethod
    def _row(*, step_id: str, parent: str | None, record_type: str, status: str, started: datetime,
             ended: datetime | None, inserted: datetime, now: datetime, execution_type: str, source: Any,
             destination: Any, config: Any, rows: int | None, destination_counts: Any, error: Any,
             steps: Any) -> dict[str, Any]:
        return {
            "PROCESS_CONFIG_SK": None,
            "PROCESS_STEP_ID": step_id,
            "EXECUTION_STATUS_NAME": status,
            "EXECUTION_COMPLETED_IND": "N" if status == "RUNNING" else "Y",
            "EXECUTION_START_TWSTP": started,
            "EXECUTION_END_TWSTP": ended,
            "SOURCE_OBJ": source,
            "DESTINATION_OBJ": destination,
            "PROCESS_CONFIG_OBJ": config,
            "SOURCE_DATA_CNT": rows,
            "DESTINATION_DATA_CNT_OBJ": destination_counts,
            "EXECUTION_TYPE_NAME": execution_type,
            "EXTRACT_START_TWSTP": started,
            "EXTRACT_END_TWSTP": ended,
            "ERROR_MESSAGE_OBJ": error,
            "STEP_EXECUTION_OBJ": steps,
            "INSERT_TWSTP": inserted,
            "UPDATE_TWSTP": now,
            "DELETED_IND": "N",
            "PARENT_STEP_ID": parent,
            "RECORD_TYPE": record_type,
        }

    def model_execution_rows(self, now: datetime) -> list[dict[str, Any]]:
        """DBT_MODEL_EXECUTIONS: one row per node result (tests included: their queries cost too)."""
        run = self.config.run
        rows = []
        for result in self.results.values():
            facts = result.facts
            model = self.models.get(facts.unique_id)
            rows.append({
                "INVOCATION_ID": self.invocation_id,
                "NODE_ID": facts.unique_id,
                "MODEL_NAME": facts.name,
                "RELATION_NAME": facts.relation_name,
                "MODEL_PACKAGE": facts.package,
                "MODEL_TYPE": facts.materialized or facts.resource_type,
                "STATUS": COST_STATUSES.get(result.status, result.status),
                "EXECUTION_TIME": result.execution_time if result.status not in ("skipped", "reused") else None,
                "QUERY_ID": (model.query_ids[-1] if model and model.query_ids else None) or result.query_id,
                "INSERT_TIMESTAMP": now,
                "PREFECT_FLOW_RUN_ID": run.flow_run_id,
                "PREFECT_DEPLOYMENT_ID": run.deployment_id,
                "PREFECT_FLOW_ID": run.flow_id,
                "STREAM_NAME": run.stream_name,
                "PRCS_INST_ID": run.prcs_inst_id,
                "DBT_VERSION": self.project.dbt_version,
                "RUN_STARTED_AT": self.started_at,
                "NODE_CONFIG": facts.config or None,
            })
        return rows

    def platform_job_run_row(self, now: datetime) -> dict[str, Any]:
        """DBT_PLATFORM_JOB_RUNS: the run context of the invocation as JSON."""
        c, run = self.config, self.config.run
        context = {
            "invocation_id": self.invocation_id, "project_name": self.project.project_name,
            "dbt_version": self.project.dbt_version, "adapter_type": self.project.adapter_type,
            "target_name": c.target_name, "threads": c.threads, "warehouse": c.warehouse,
            "run_started_at": fmt_ts(self.started_at), "select": list(c.select), "exclude": list(c.exclude),
            "full_refresh": c.full_refresh, "reuse": c.reuse, "flow_run_id": run.flow_run_id, "flow_id": run.flow_id,
            "deployment_id": run.deployment_id, "work_pool": run.work_pool, "parameters": run.parameters,
            "stream_name": run.stream_name, "prcs_inst_id": run.prcs_inst_id, "git_branch": c.git_branch,
            "git_commit": c.git_commit, "host": c.host, "pid": c.pid,
        }
        return {"INVOCATION_ID": self.invocation_id, "PREFECT_FLOW_RUN_ID": run.flow_run_id,
                "PREFECT_DEPLOYMENT_ID": run.deployment_id, "PREFECT_FLOW_ID": run.flow_id,
                "PREFECT_WORK_POOL": run.work_pool, "DBT_RUN_CONTEXT": context, "INSERT_TIMESTAMP": now}

    # -- helpers ----------------------------------------------------------------------------------------
    def _compiled_path(self, facts: NodeFacts) -> str | None:
        if not self.config.compiled_root:
            return None
        return f"{self.config.compiled_root}/{facts.package}/{facts.original_file_path}"

    @staticmethod
    def _step(model: ModelState, ts: datetime, level: str, step_type: str, title: str, *, query_id: str | None = None,
              query_result: dict[str, Any] | None = None, content: dict[str, Any] | None = None) -> None:
        model.timeline.append(_event(len(model.timeline) + 1, ts, level, step_type, title, query_id=query_id,
                                     query_result=query_result, content=content))


def _event(number: int, ts: datetime | None, level: str, step_type: str, title: str, *, query_id: str | None = None,
           query_result: dict[str, Any] | None = None, content: dict[str, Any] | None = None) -> dict[str, Any]:
    """One execution_timeline entry in the spec's shape."""
    return {"step_number": number, "timestamp": fmt_ts(ts), "level": level, "step_type": step_type, "title": title,
            "query_id": query_id, "query_result": query_result, "content": content or {}}


def _response_query_id(event: NodeEvent) -> str | None:
    value = (event.adapter_response or {}).get("query_id")
    return str(value) if value else None


def _query_id_in(message: str | None) -> str | None:
    match = _QUERY_ID_IN_ERROR.search(message or "")
    return match.group(1) if match else None


def _int(value: Any) -> int | None:
    # protobuf-to-dict turns ints into floats (and drops zeros): take them back.
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    # dbt's first line is "Runtime Error in model x (path)"; the second one says what went wrong.
    return " ".join(lines[:2]) if lines else "(no message)"
