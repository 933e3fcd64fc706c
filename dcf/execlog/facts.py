"""The plain data of the dbt execution log: what the runner knows of a project, a job and a node event.

No database, no dbt import, no Prefect: :mod:`dcf.build.runner` turns dbt's objects into these records and
:mod:`dcf.execlog.fold` folds them. Also the spec's step ids, execution types and status mappings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dcf.store.statuses import LogStatus, ModelExecutionStatus

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
    "operation": "OPERATION",
}

#: dbt status of a model -> EXECUTION_STATUS_NAME.
MODEL_STATUSES = {"success": LogStatus.SUCCESS, "error": LogStatus.FAILED, "skipped": LogStatus.SKIPPED,
                  "reused": LogStatus.REUSED, "no-op": LogStatus.REUSED}
#: dbt status -> DBT_MODEL_EXECUTIONS.STATUS (the spec knows success / error / skipped / reused).
_OK, _ERROR = ModelExecutionStatus.SUCCESS, ModelExecutionStatus.ERROR
COST_STATUSES = {"success": _OK, "pass": _OK, "warn": _OK, "error": _ERROR, "fail": _ERROR, "runtime error": _ERROR,
                 "skipped": ModelExecutionStatus.SKIPPED, "reused": ModelExecutionStatus.REUSED,
                 "no-op": ModelExecutionStatus.REUSED}
TEST_STEP_TYPES = {"pass": ("TEST_PASSED", "Info"), "warn": ("TEST_WARNED", "Warn"),
                   "fail": ("TEST_FAILED", "Error"), "error": ("TEST_ERROR", "Error"),
                   "skipped": ("TEST_SKIPPED", "Warn"), "reused": ("TEST_REUSED", "Info")}
#: Materializations whose destination row count is worth a COUNT(*) (views would re-run their query).
COUNTABLE = frozenset({"table", "incremental", "snapshot", "seed"})
#: Nodes with a MODEL row of their own (an operation: a macro run by ``dbt run-operation``).
MODEL_TYPES = frozenset({"model", "seed", "snapshot", "operation"})
# Snowflake errors read "002003 (42S02): 01b2c3d4-0000-...: SQL compilation error ...": the id is the query's.
QUERY_ID_IN_ERROR = re.compile(r"\(\w+\):\s*([0-9a-f]{8}-[0-9a-f-]{20,})", re.IGNORECASE)


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
    #: count the rows of views too (a view's COUNT(*) runs its query: cheap on DuckDB, asked for on Snowflake)
    count_views: bool = False


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


def timeline_event(number: int, ts: datetime | None, level: str, step_type: str, title: str, *,
                   query_id: str | None = None, query_result: dict[str, Any] | None = None,
                   content: dict[str, Any] | None = None) -> dict[str, Any]:
    """One execution_timeline entry in the spec's shape."""
    return {"step_number": number, "timestamp": fmt_ts(ts), "level": level, "step_type": step_type, "title": title,
            "query_id": query_id, "query_result": query_result, "content": content or {}}



def as_int(value: Any) -> int | None:
    # protobuf-to-dict turns ints into floats (and drops zeros): take them back.
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    # dbt's first line is "Runtime Error in model x (path)"; the second one says what went wrong.
    return " ".join(lines[:2]) if lines else "(no message)"
