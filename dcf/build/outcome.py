"""What a dbt build ended with: per-node outcomes, counts, the error line (:class:`DbtBuildOutcome`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dcf.build.reuse import ReusePlan
from dcf.execlog.facts import JobConfig, NodeEvent, ProjectFacts
from dcf.execlog.fold import JobState
from dcf.execlog.writer import ExecutionLogWriter
from dcf.store.clock import utcnow


@dataclass
class NodeOutcome:
    unique_id: str
    name: str
    resource_type: str
    status: str  # dbt's: success / error / skipped / pass / fail / warn / reused
    relation_name: str | None
    rows: int | None  # rows in the destination after the node (None: view, not counted, not run)
    execution_time: float | None
    message: str | None


@dataclass
class DbtBuildOutcome:
    success: bool
    invocation_id: str
    nodes: list[NodeOutcome]
    error: str | None  # one readable line: what failed
    relations: dict[str, str]  # model name -> relation name, every model of the manifest
    #: models_total/succeeded/failed/skipped/reused, tests_total/passed/failed/warned/skipped (+ tests_reused)
    counts: dict[str, int]
    #: control-store statements the execution log sent, and its last write error (None: all written)
    log_statements: int = 0
    log_error: str | None = None
    target_path: Path | None = None
    #: dbt's own log of the invocation (every statement and error in full)
    log_file: Path | None = None
    #: state-aware reuse: {"reused": n, "built": m, "build_reasons": {...}}; None when reuse was off
    reuse: dict[str, Any] | None = None


def build_outcome(result: Any, facts: ProjectFacts, job: JobState | None, writer: ExecutionLogWriter | None,
                  target_path: Path, plan: ReusePlan | None = None, log_file: Path | None = None) -> DbtBuildOutcome:
    rows = {m.facts.unique_id: m.rows for m in job.models.values()} if job else {}
    nodes: list[NodeOutcome] = []
    for node_result in getattr(result.result, "results", None) or []:
        # a run-operation's result names its macro only by id: the facts say the rest
        node = getattr(node_result, "node", None) or facts.nodes.get(node_result.unique_id)
        if node is None or node.resource_type not in ("model", "seed", "snapshot", "test", "operation"):
            continue
        response = getattr(node_result, "adapter_response", None) or {}
        logged = job.models.get(node.unique_id) if job else None
        nodes.append(NodeOutcome(
            unique_id=node.unique_id, name=node.name, resource_type=str(node.resource_type),
            status=str(node_result.status), relation_name=getattr(node, "relation_name", None),
            rows=rows.get(node.unique_id, _rows_from_response(node, response)),
            execution_time=node_result.execution_time,
            message=node_result.message or (logged.message if logged else None),
        ))
    for unique_id in plan.reused if plan else ():
        node, decision = facts.nodes[unique_id], plan.decisions[unique_id]
        nodes.append(NodeOutcome(unique_id=unique_id, name=node.name, resource_type=node.resource_type, status="reused",
                                 relation_name=node.relation_name, rows=decision.rows, execution_time=None,
                                 message=decision.reason))
    state = job or _state_from_nodes(nodes, facts)
    error = state.error_line() if not result.success else None
    if not result.success and not error:
        error = "dbt build failed"
    return DbtBuildOutcome(
        success=bool(result.success), invocation_id=state.invocation_id, nodes=nodes, error=error,
        relations=facts.relations(), counts={k: v for k, v in state.counts().items() if k != "errors_other"},
        log_statements=writer.conn.statements if writer else 0, log_error=writer.last_error if writer else None,
        target_path=target_path, log_file=log_file,
        reuse=plan.summary() if plan else None,
    )


def _rows_from_response(node: Any, response: Mapping[str, Any]) -> int | None:
    materialized = getattr(getattr(node, "config", None), "materialized", None)
    value = response.get("rows_affected") if materialized == "table" else None
    return int(value) if value is not None else None


def _state_from_nodes(nodes: list[NodeOutcome], facts: ProjectFacts) -> JobState:
    """Counts and the error line without an execution log: folded from the results the same way."""
    state = JobState(invocation_id=dbt_invocation_id() or "", started_at=utcnow(), project=facts,
                     config=JobConfig(target_name=""))
    for node in nodes:
        if node.unique_id in facts.nodes:
            at = datetime.min
            state.apply(NodeEvent("start", node.unique_id, at))
            state.apply(NodeEvent("finish", node.unique_id, at, status=node.status, message=node.message,
                                  execution_time=node.execution_time))
    return state


def dbt_invocation_id() -> str | None:
    try:
        from dbt_common.invocation import get_invocation_id

        return get_invocation_id()
    except ImportError:
        return None
