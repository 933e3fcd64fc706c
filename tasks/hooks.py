"""State hooks: the second writer of DCF rows (the tasks write them first).

Prefect runs hooks in the same process and swallows their exceptions, and a SIGKILLed process runs
none, so hooks never carry a row alone; ``flows/reconcile.py`` closes what a crash leaves behind.
Hook signatures must be ``(task, task_run, state)`` / ``(flow, flow_run, state)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect.context import TaskRunContext

from dcf.store.instances import close_stages_of_ended_instances, update_instance
from dcf.store.stage_rows import write_stage
from dcf.stream.run import StreamRun
from runtime.connections import connect


def _run_of_task() -> StreamRun | None:
    context = TaskRunContext.get()
    run = context.parameters.get("run") if context else None
    return run if isinstance(run, StreamRun) and run.prcs_inst_id is not None else None


def stage_running_hook(stage: str) -> Callable[..., None]:
    def hook(task: Any, task_run: Any, state: Any) -> None:
        from tasks.stage import checkpoint

        run = _run_of_task()
        if run:
            with connect(run.warehouse_block) as conn:
                if checkpoint(conn, run, stage) is None:  # a restored stage does not run again
                    write_stage(conn, run.ref, stage, "RUNNING", task_run_id=str(task_run.id))

    hook.__name__ = f"dcf-{stage}-running"
    return hook


def stage_completed_hook(stage: str) -> Callable[..., None]:
    def hook(task: Any, task_run: Any, state: Any) -> None:
        run = _run_of_task()
        result = state.result(raise_on_failure=False) if state.is_completed() else None
        if run and result is not None and not getattr(result, "restored", False):
            with connect(run.warehouse_block) as conn:
                write_stage(conn, run.ref, stage, result.status, task_run_id=str(task_run.id),
                            statistics=result.statistics)

    hook.__name__ = f"dcf-{stage}-completed"
    return hook


def stage_failed_hook(stage: str) -> Callable[..., None]:
    def hook(task: Any, task_run: Any, state: Any) -> None:
        run = _run_of_task()
        if run:
            with connect(run.warehouse_block) as conn:
                write_stage(conn, run.ref, stage, "FAILED", task_run_id=str(task_run.id),
                            error=(state.message or "failed")[:4000])

    hook.__name__ = f"dcf-{stage}-failed"
    return hook


def close_instance_hook(status: str) -> Callable[..., None]:
    """Flow hook: end the flow run's process instance as ``status`` if it is still RUNNING."""

    def hook(flow: Any, flow_run: Any, state: Any) -> None:
        from blocks.warehouse import load_warehouse
        from dcf.store.instances import instances_of_flow_run

        block = (flow_run.parameters or {}).get("warehouse_block")
        warehouse = load_warehouse(block)
        if warehouse.kind == "duckdb" and not warehouse.database_path.exists():
            return  # refused before anything was written: do not create the warehouse now
        with connect(block) as conn:
            for prcs_inst_id in instances_of_flow_run(conn, str(flow_run.id)):
                update_instance(conn, prcs_inst_id, status=status,
                                error=f"flow run {flow_run.name} ended {state.name}: {state.message or ''}".strip())
            close_stages_of_ended_instances(conn, reason=f"flow run ended {state.name}")

    hook.__name__ = f"dcf-close-instance-{status.lower()}"
    return hook
