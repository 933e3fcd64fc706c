"""The Prefect side of a dbt build: the flow run's ids, dbt's lines in the run log, a task run per node.

    outcome = run_dbt_build(request, log_to=conn, observer=PrefectBuildObserver(task_per_node=False))

Outside a flow or task run it observes nothing, so the same call works from a plain script.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging import get_run_logger

from dcf.build.request import BuildObserver, NodeTaskSink
from dcf.execlog.facts import RunContext
from runtime.flow_runs import cancel_requested
from runtime.node_tasks import NodeTasks

log = logging.getLogger("dcf.dbt")


class PrefectBuildObserver(BuildObserver):
    def __init__(self, *, task_per_node: bool = False) -> None:
        self._task_per_node = task_per_node

    def run_context(self, context: RunContext) -> RunContext:
        """Fill the Prefect ids the caller left out from the current flow run, if there is one."""
        if context.flow_run_id:
            return context
        run_context = FlowRunContext.get()
        flow_run = getattr(run_context, "flow_run", None)
        if flow_run is None:
            return context
        return RunContext(
            stream_name=context.stream_name, prcs_inst_id=context.prcs_inst_id, flow_run_id=str(flow_run.id),
            flow_id=context.flow_id or str(flow_run.flow_id),
            deployment_id=context.deployment_id or (str(flow_run.deployment_id) if flow_run.deployment_id else None),
            work_pool=context.work_pool or flow_run.work_pool_name,
            parameters=context.parameters or json.loads(json.dumps(flow_run.parameters or {}, default=str)),
        )

    def logger(self) -> Any:
        if FlowRunContext.get() is None and TaskRunContext.get() is None:
            return None
        return get_run_logger()

    def cancel_requested(self) -> bool:
        return cancel_requested()

    def node_tasks(self) -> NodeTaskSink | None:
        if not self._task_per_node:
            return None
        tasks = NodeTasks.for_current_run()
        if tasks is None:
            log.warning("task_per_node needs a Prefect flow or task run; running without node tasks")
        return tasks
