"""dbt's events during a build, reduced to :class:`~dcf.execlog.facts.NodeEvent` records for the writer.

The one dbt callback runs on dbt's threads, so it only copies a few fields and queues them.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from dcf.build.operation import OperationEvents
from dcf.build.reuse import Decision
from dcf.execlog.facts import NodeEvent, ProjectFacts
from dcf.execlog.writer import ExecutionLogWriter
from dcf.store.clock import utcnow

#: dbt events forwarded to the run logger when running inside a flow (info level and up).
_FORWARDED_LEVELS = {"info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_NODE_EVENTS = frozenset({"NodeStart", "NodeFinished", "SQLQueryStatus"})
#: dbt colours its lines; the run log (the Prefect API, the UI) stores text, so the codes go.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def node_callback(facts: ProjectFacts, writer: ExecutionLogWriter | None, tasks: Any, prefect_logger: Any,
                  reused: Sequence[Decision] = (), operation: OperationEvents | None = None) -> Any:
    """The one dbt callback: runs on dbt's threads, so it only copies a few fields and queues them.

    ``reused`` nodes (not run) join the log with dbt's first event, in the writer's next batch; an
    ``operation`` (``dbt run-operation``) starts with it and hears of its error.
    """
    nodes = facts.nodes
    started = False
    # dbt calls back on its own threads, which start with an empty context: Prefect's logging would then see
    # default settings (no API URL) and start a server of its own. The lines go out in the caller's context.
    context = contextvars.copy_context()

    def callback(event: Any) -> None:
        nonlocal started
        info = event.info
        if prefect_logger is not None and info.level in _FORWARDED_LEVELS and info.msg:
            context.copy().run(prefect_logger.log, _FORWARDED_LEVELS[info.level], _ANSI.sub("", info.msg))
        if not started:
            started = True
            if writer is not None:
                _submit_start(writer, info.invocation_id, info.ts.ToDatetime(), reused)
            if operation is not None:
                operation.started(info.invocation_id, info.ts.ToDatetime())
        name = info.name
        if operation is not None:
            operation.event(name, event.data)
        if name not in _NODE_EVENTS:
            return
        data = event.data
        unique_id = data.node_info.unique_id
        if unique_id not in nodes:
            return
        node_event = _node_event(name, unique_id, info, data)
        if writer is not None:
            writer.submit(info.invocation_id, node_event, node_event.ts)
        if tasks is not None:
            if name == "NodeStart":
                tasks.started(nodes[unique_id])
            elif name == "NodeFinished":
                tasks.finished(unique_id, node_event.status or "error", node_event.message or "")

    return callback


def _submit_start(writer: ExecutionLogWriter, invocation_id: str, at: datetime, reused: Sequence[Decision]) -> None:
    writer.submit(invocation_id, None, at)
    for decision in reused:
        writer.submit(invocation_id, NodeEvent("reused", decision.unique_id, at, status="reused",
                                               message=decision.reason,
                                               detail={"built_by": decision.built_by, "rows": decision.rows}), at)


def reused_only(writer: ExecutionLogWriter | None, reused: Sequence[Decision]) -> Any:
    """Every selected node is reused: no dbt invocation; the log gets a job of its own (a fresh invocation id)."""
    if writer is not None:
        _submit_start(writer, str(uuid.uuid4()), utcnow(), reused)
    return SimpleNamespace(success=True, exception=None, result=None)


def _node_event(name: str, unique_id: str, info: Any, data: Any) -> NodeEvent:
    ts = info.ts.ToDatetime()
    if name == "NodeStart":
        return NodeEvent("start", unique_id, ts, thread=info.thread)
    if name == "SQLQueryStatus":
        return NodeEvent("query", unique_id, ts, status=data.status, elapsed=data.elapsed,
                         query_id=getattr(data, "query_id", "") or None)
    result = data.run_result
    from google.protobuf.json_format import MessageToDict

    response = MessageToDict(result.adapter_response) if result.HasField("adapter_response") else {}
    timing = {t.name: round((t.completed_at.ToDatetime() - t.started_at.ToDatetime()).total_seconds(), 6)
              for t in result.timing_info}
    return NodeEvent("finish", unique_id, ts, status=result.status or None, message=result.message or None,
                     execution_time=result.execution_time, adapter_response=response, timing=timing,
                     thread=result.thread or info.thread, failures=result.num_failures or None)
