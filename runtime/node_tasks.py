"""Optional: one Prefect task run per dbt node (the stream option ``task_per_node``), via prefect-dbt's tracker.

prefect-dbt's ``PrefectDbtRunner`` does the same inside its own runner; we reuse its ``NodeTaskTracker`` and
``execute_dbt_node`` task body so our runner keeps its single callback. Each node's task starts on its
NodeStart, waits for its NodeFinished and fails when the node failed — visible in the Prefect UI, at a
cost of a task run per node (see ``bench/dbt_logging.py``). Only meaningful inside a flow or task run.

    tasks = NodeTasks.for_current_run()      # None outside a flow/task run
    tasks.started(facts)  /  tasks.finished(unique_id, "success")  /  tasks.close()
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from dcf.execlog.facts import NodeFacts

_RUNNABLE = frozenset({"model", "seed", "snapshot", "test"})


class NodeTasks:
    def __init__(self, context: dict[str, Any]) -> None:
        from prefect_dbt.core._tracker import NodeTaskTracker

        self._context = context
        self._tracker = NodeTaskTracker()
        self._started: set[str] = set()

    @classmethod
    def for_current_run(cls) -> NodeTasks | None:
        from prefect.context import FlowRunContext, TaskRunContext, serialize_context

        if FlowRunContext.get() is None and TaskRunContext.get() is None:
            return None
        return cls(serialize_context())

    def started(self, facts: NodeFacts) -> None:
        """NodeStart: create the node's task run in a thread of its own (it waits for the node to finish)."""
        if facts.resource_type not in _RUNNABLE or facts.unique_id in self._started:
            return
        from prefect import Task
        from prefect.cache_policies import NO_CACHE
        from prefect_dbt.core.runner import execute_dbt_node

        self._started.add(facts.unique_id)
        task = Task(fn=execute_dbt_node, name=f"{facts.resource_type} {facts.name}",
                    task_run_name=f"{facts.resource_type} {facts.name}", cache_policy=NO_CACHE)
        self._tracker.start_task(facts.unique_id, task)
        self._tracker.set_node_dependencies(facts.unique_id, [node_id for _, _, node_id in facts.depends_on])
        task_run_id = uuid.uuid4()
        self._tracker.set_task_run_id(facts.unique_id, task_run_id)
        self._tracker.run_task_in_thread(
            facts.unique_id, task, task_run_id=task_run_id,
            parameters={"task_state": self._tracker, "node_id": facts.unique_id, "asset_id": None},
            context=self._context,
        )

    def finished(self, unique_id: str, status: str, message: str = "") -> None:
        if unique_id in self._started:
            self._tracker.set_node_status(unique_id, {"node_info": {"node_status": status}}, message)

    def close(self, timeout: float = 60.0) -> None:
        """End every task: nodes that never finished count as errors; wait (bounded) for their final states."""
        for unique_id in self._started:
            if not self._tracker.is_node_complete(unique_id):
                self.finished(unique_id, "error", "the dbt invocation ended before this node finished")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(
            self._tracker.get_task_result(unique_id) is None for unique_id in self._started
        ):
            time.sleep(0.02)
