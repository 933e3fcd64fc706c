"""The event fold of the dbt execution log: dbt node events + manifest facts -> job and model state.

No database, no dbt import, no Prefect: :mod:`dcf.build.runner` turns dbt's objects into the plain data of
:mod:`dcf.execlog.facts`, this module folds them, :mod:`dcf.execlog.rows` shapes the rows and
:mod:`dcf.execlog.writer` writes them. Shapes follow ``process_execution_log_hierarchical.md`` (JOB row
``JOB_<invocation_id>``, MODEL rows ``JOB_<invocation_id>_MODEL_<model>``) and ``model_cost_calculator.md``.

    job = JobState(invocation_id="abc", started_at=t0, project=ProjectFacts(...), config=JobConfig(...))
    job.apply(NodeEvent("start", "model.p.m1", t1, ...))      # from dbt's NodeStart
    job.apply(NodeEvent("finish", "model.p.m1", t2, status="success", ...))
    job.finish(t3)
    rows = [job.job_row(now), *(job.model_row(m, now) for m in job.models.values())]

Applying the same event twice changes nothing (events are keyed), so a re-delivery never duplicates a
timeline step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dcf.execlog.facts import (
    COUNTABLE,
    MODEL_STATUSES,
    MODEL_TYPES,
    QUERY_ID_IN_ERROR,
    TEST_STEP_TYPES,
    JobConfig,
    NodeEvent,
    NodeFacts,
    ProjectFacts,
    as_int,
    first_line,
    timeline_event,
)
from dcf.execlog.rows import JobRows
from dcf.store.statuses import LogStatus


@dataclass
class ModelState:
    """A model (or seed/snapshot) of the current invocation, as far as events have told."""

    facts: NodeFacts
    started_at: datetime
    status: str = LogStatus.RUNNING
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
        return self.status != LogStatus.RUNNING

    def needs_count(self, count_views: bool = False) -> bool:
        countable = self.facts.materialized in COUNTABLE or (count_views and self.facts.materialized == "view")
        return self.status == LogStatus.SUCCESS and self.rows is None and countable and bool(self.facts.relation_name)


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
class JobState(JobRows):
    """Everything known about one dbt invocation; turns into JOB / MODEL / cost rows on demand."""

    invocation_id: str
    started_at: datetime
    project: ProjectFacts
    config: JobConfig
    status: str = LogStatus.RUNNING
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
        model = ModelState(facts, started_at=event.ts, status=LogStatus.REUSED, ended_at=event.ts, rows=rows,
                           dbt_status="reused", message=event.message)
        self.models[facts.unique_id] = model
        self._step(model, event.ts, "Info", "MODEL_REUSED", f"Model Reused: {facts.name}",
                   query_result={"rows_in_destination": rows, "execution_status": LogStatus.REUSED},
                   content={"reason": event.message, "reused_from_invocation": detail.get("built_by"),
                            "materialized": facts.materialized, "relation": facts.relation_name})
        self._dirty.add(facts.unique_id)

    def _finish_model(self, model: ModelState, event: NodeEvent, status: str, query_id: str | None) -> None:
        facts = model.facts
        model.status = MODEL_STATUSES.get(status, LogStatus.FAILED)
        model.dbt_status = status
        model.ended_at = event.ts
        model.message = event.message
        model.execution_time = event.execution_time
        response = event.adapter_response or {}
        model.rows_affected = as_int(response.get("rows_affected"))
        # Snowflake's CTAS reports the rows it inserted, i.e. the rows now in the table; anything else
        # (incremental merges, DuckDB, which reports none) is counted by the writer.
        if model.status == LogStatus.SUCCESS and facts.materialized == "table" and model.rows_affected is not None:
            model.rows = model.rows_affected
        level, step_type, title = {
            LogStatus.SUCCESS: ("Info", "MODEL_COMPLETE", "Model Completed"),
            LogStatus.FAILED: ("Error", "MODEL_FAILED", "Model Failed"),
            LogStatus.SKIPPED: ("Warn", "MODEL_SKIPPED", "Model Skipped"),
            LogStatus.REUSED: ("Info", "MODEL_REUSED", "Model Reused"),
        }[model.status]
        content: dict[str, Any] = {"dbt_status": status, "message": event.message, "timing": event.timing,
                                   "adapter_response": response or None}
        if model.status == LogStatus.SKIPPED:
            content["reason"] = "an upstream node failed or was skipped"
            content["upstream_not_successful"] = [
                node_id for _, _, node_id in facts.depends_on
                if node_id in self.results and self.results[node_id].status not in ("success", "pass", "warn")
            ]
        if model.status == LogStatus.FAILED:
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

    def finish(self, at: datetime, *, failure: str | None = None, cancelled: bool = False) -> None:
        """The invocation ended. ``failure``: it was interrupted or broke (models still running are FAILED);
        ``cancelled``: an operator cancelled the run (the job and the models still running are CANCELLED)."""
        self.failure = failure
        unfinished = LogStatus.CANCELLED if cancelled else LogStatus.FAILED
        for model in self.models.values():
            if not model.ended:
                model.status, model.ended_at = unfinished, at
                message = "cancelled by operator" if cancelled else (
                    failure or "the dbt invocation ended before this model finished")
                model.error = {"error_type": "CANCELLED" if cancelled else "INTERRUPTED", "message": message,
                               "node_id": model.facts.unique_id,
                               "model_name": model.facts.name, "compiled_path": self._compiled_path(model.facts),
                               "query_id": model.query_ids[-1] if model.query_ids else None}
                step = "MODEL_CANCELLED" if cancelled else "MODEL_FAILED"
                title = "Model Cancelled" if cancelled else "Model Interrupted"
                self._step(model, at, "Error", step, f"{title}: {model.facts.name}",
                           query_result={"execution_status": unfinished}, content={"message": message})
                self._dirty.add(model.facts.unique_id)
        counts = self.counts()
        failed = failure or counts["models_failed"] or counts["tests_failed"] or counts["errors_other"]
        self.status = LogStatus.CANCELLED if cancelled else LogStatus.FAILED if failed else LogStatus.SUCCESS
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
                            if m.status == LogStatus.FAILED and m.facts.resource_type == "model")
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
        parts = [f"{e['resource_type']} {e['name']} {e['status']}: {first_line(e['message'])}" for e in errors[:3]]
        if len(errors) > 3:
            parts.append(f"and {len(errors) - 3} more")
        if self.failure:
            parts.insert(0, self.failure)
        return "; ".join(parts) or None

    def total_rows(self) -> int | None:
        rows = [m.rows for m in self.models.values() if m.rows is not None]
        return sum(rows) if rows else None

    @staticmethod
    def _step(model: ModelState, ts: datetime, level: str, step_type: str, title: str, *, query_id: str | None = None,
              query_result: dict[str, Any] | None = None, content: dict[str, Any] | None = None) -> None:
        model.timeline.append(timeline_event(len(model.timeline) + 1, ts, level, step_type, title, query_id=query_id,
                                     query_result=query_result, content=content))



def _response_query_id(event: NodeEvent) -> str | None:
    value = (event.adapter_response or {}).get("query_id")
    return str(value) if value else None


def _query_id_in(message: str | None) -> str | None:
    match = QUERY_ID_IN_ERROR.search(message or "")
    return match.group(1) if match else None


