"""PROCESS_EXECUTION_LOG, DBT_MODEL_EXECUTIONS and DBT_PLATFORM_JOB_RUNS rows in the specs' shapes.

:class:`JobRows` is the row half of :class:`~dcf.execlog.fold.JobState` (which folds the events): the rows are
built from the folded state, so re-writing them never duplicates a row (they are keyed by PROCESS_STEP_ID).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from dcf.execlog.facts import (
    COST_STATUSES,
    JOB_EXECUTION_TYPE,
    NodeFacts,
    execution_type,
    fmt_ts,
    job_step_id,
    model_step_id,
    timeline_event,
)
from dcf.store.statuses import LogStatus, RecordType

if TYPE_CHECKING:
    from dcf.execlog.fold import ModelState


class JobRows:
    """Row builders of a folded job; mixed into :class:`~dcf.execlog.fold.JobState`."""

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
        ended = self.status != LogStatus.RUNNING
        counts = self.counts()
        timeline = [timeline_event(1, self.started_at, "Info", "JOB_START", f"Job Started: {self.project.project_name}",
                           content={"invocation_id": self.invocation_id, "target": self.config.target_name})]
        if ended:
            timeline.append(timeline_event(2, self.ended_at, "Info" if self.status == LogStatus.SUCCESS else "Error",
                                           "JOB_COMPLETE", f"Job Completed: {self.status}",
                                           query_result={"execution_status": self.status}, content=counts))
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
                # what the MODEL rows it parents add up to: one per model, seed and snapshot
                "model_rows": len(self.models),
                "by_resource_type": self.resource_type_counts(),
                "views_counted": self.config.count_views,
            }
        return self._row({
            "PROCESS_STEP_ID": job_step_id(self.invocation_id), "PARENT_STEP_ID": None,
            "RECORD_TYPE": RecordType.JOB.value, "EXECUTION_STATUS_NAME": self.status,
            "EXECUTION_TYPE_NAME": JOB_EXECUTION_TYPE,
            "SOURCE_OBJ": {"type": "DBT_JOB", "project_name": self.project.project_name,
                           "select": list(self.config.select), "exclude": list(self.config.exclude)},
            "DESTINATION_OBJ": {"target_name": self.config.target_name, "target_database": self.config.target_database,
                                "target_schema": self.config.target_schema, "adapter_type": self.project.adapter_type},
            "PROCESS_CONFIG_OBJ": self._process_config(job=True),
            "SOURCE_DATA_CNT": self.total_rows() if ended else None, "DESTINATION_DATA_CNT_OBJ": destination_counts,
            "ERROR_MESSAGE_OBJ": error_obj,
            "STEP_EXECUTION_OBJ": {"job_status": self.status, "status": self.status,
                                   "current_step": "JOB_COMPLETE" if ended else "JOB_START",
                                   "run_type": "FULL_REFRESH" if self.config.full_refresh else "BUILD",
                                   "execution_timeline": timeline},
        }, started=self.started_at, ended=self.ended_at, inserted=self.inserted_at or now, now=now)

    def resource_type_counts(self) -> dict[str, int]:
        """MODEL rows by resource type (model, seed, snapshot), and the tests that ran."""
        counts: dict[str, int] = {}
        for model in self.models.values():
            counts[model.facts.resource_type] = counts.get(model.facts.resource_type, 0) + 1
        tests = sum(1 for result in self.results.values() if result.facts.resource_type == "test")
        return {**dict(sorted(counts.items())), "test": tests}

    def model_row(self, model: ModelState, now: datetime) -> dict[str, Any]:
        facts = model.facts
        sources = {f"source_{i}": {"type": kind, "name": name, "node_id": node_id}
                   for i, (kind, name, node_id) in enumerate(facts.depends_on, start=1)}
        exec_type = execution_type(facts.materialized, full_refresh=self.config.full_refresh)
        current = {LogStatus.RUNNING: "MODEL_RUNNING", LogStatus.SUCCESS: "MODEL_COMPLETED",
                   LogStatus.FAILED: "MODEL_FAILED", LogStatus.SKIPPED: "MODEL_SKIPPED",
                   LogStatus.REUSED: "MODEL_REUSED", LogStatus.CANCELLED: "MODEL_CANCELLED"}[model.status]
        return self._row({
            "PROCESS_STEP_ID": model_step_id(self.invocation_id, facts.name),
            "PARENT_STEP_ID": job_step_id(self.invocation_id), "RECORD_TYPE": RecordType.MODEL.value,
            "EXECUTION_STATUS_NAME": model.status, "EXECUTION_TYPE_NAME": exec_type, "SOURCE_OBJ": sources or None,
            "DESTINATION_OBJ": {"database": facts.database, "schema": facts.schema, "table": facts.alias,
                                "materialization": facts.materialized, "execution_type": exec_type,
                                "full_name": ".".join(p for p in (facts.database, facts.schema, facts.alias) if p)},
            "PROCESS_CONFIG_OBJ": self._process_config(job=False), "SOURCE_DATA_CNT": model.rows,
            "DESTINATION_DATA_CNT_OBJ": None, "ERROR_MESSAGE_OBJ": model.error,
            "STEP_EXECUTION_OBJ": {"model_name": facts.name, "node_id": facts.unique_id, "current_step": current,
                                   "status": model.status,
                                   "query_id_start": model.query_ids[0] if model.query_ids else None,
                                   "query_id_end": model.query_ids[-1] if model.query_ids else None,
                                   "queries": model.queries, "execution_timeline": model.timeline},
        }, started=model.started_at, ended=model.ended_at, inserted=model.inserted_at or now, now=now)

    @staticmethod
    def _row(values: dict[str, Any], *, started: datetime, ended: datetime | None, inserted: datetime,
             now: datetime) -> dict[str, Any]:
        """A PROCESS_EXECUTION_LOG row: ``values`` (the columns that differ between JOB and MODEL rows) plus
        the columns every row fills the same way."""
        return {
            "PROCESS_CONFIG_SK": None,
            **values,
            "EXECUTION_COMPLETED_IND": "N" if values["EXECUTION_STATUS_NAME"] == LogStatus.RUNNING else "Y",
            "EXECUTION_START_TWSTP": started,
            "EXECUTION_END_TWSTP": ended,
            "EXTRACT_START_TWSTP": started,
            "EXTRACT_END_TWSTP": ended,
            "INSERT_TWSTP": inserted,
            "UPDATE_TWSTP": now,
            "DELETED_IND": "N",
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

