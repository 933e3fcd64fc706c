"""``dbt run-operation`` logged like a build: the macro is a node of its own in the execution log (a MODEL row
with execution type OPERATION under the invocation's JOB row), started when dbt starts and finished with the
operation's outcome.

dbt sends no node events for an operation, and its result carries no message: the error comes from the
``RunningOperationCaughtError`` event. :class:`OperationEvents` turns both into the node events the writer folds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dcf.build.manifest import plain_str
from dcf.errors import DcfError
from dcf.execlog.facts import NodeEvent, NodeFacts, ProjectFacts
from dcf.execlog.writer import ExecutionLogWriter
from dcf.store.clock import utcnow

OPERATION = "operation"
_ERROR_EVENTS = frozenset({"RunningOperationCaughtError", "RunningOperationUncaughtError"})


def with_operation(facts: ProjectFacts, manifest: Any, macro_name: str) -> ProjectFacts:
    """``facts`` plus the macro ``macro_name`` as an operation node; a macro the project lacks is a DcfError."""
    macro = manifest.find_macro_by_name(macro_name, facts.project_name, None)
    if macro is None:
        raise DcfError(f"dbt project {facts.project_name} has no macro {macro_name!r} to run as an operation")
    node = NodeFacts(unique_id=plain_str(macro.unique_id), name=macro_name, resource_type=OPERATION,
                     package=plain_str(macro.package_name), materialized=OPERATION, relation_name=None,
                     database=None, schema=None, alias=macro_name,
                     original_file_path=plain_str(macro.original_file_path))
    return replace(facts, nodes={**facts.nodes, node.unique_id: node})


class OperationEvents:
    """The operation's start and finish as node events (dbt's callback feeds it, the runner finishes it)."""

    def __init__(self, facts: ProjectFacts, macro_name: str, writer: ExecutionLogWriter | None) -> None:
        self.unique_id = next(unique_id for unique_id, node in facts.nodes.items()
                              if node.resource_type == OPERATION and node.name == macro_name)
        self.writer = writer
        self.invocation_id: str | None = None
        self.error: str | None = None

    def started(self, invocation_id: str, at: Any) -> None:
        """dbt's first event: the invocation (and with it the operation) has started."""
        self.invocation_id = invocation_id
        if self.writer is not None:
            self.writer.submit(invocation_id, NodeEvent("start", self.unique_id, at), at)

    def event(self, name: str, data: Any) -> None:
        if name in _ERROR_EVENTS and self.error is None:
            self.error = str(getattr(data, "exc", "")) or name

    def finished(self, result: Any) -> None:
        """The operation's outcome from dbt's result (``None``: it did not return)."""
        if self.writer is None or self.invocation_id is None:
            return
        runs = getattr(getattr(result, "result", None), "results", None) or []
        success = bool(result is not None and result.success)
        at = utcnow()
        self.writer.submit(self.invocation_id, NodeEvent(
            "finish", self.unique_id, at, status="success" if success else "error",
            message=None if success else (self.error or "the operation failed"),
            execution_time=runs[0].execution_time if runs else None), at)
