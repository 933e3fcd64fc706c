"""GetODSProcId: allocate the process instance, or re-attach the one a restart resumes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import task
from prefect.runtime import deployment, flow_run

from dcf.store.clock import utcnow
from dcf.store.instances import allocate_instance
from dcf.store.stage_rows import write_stage
from dcf.store.status import StageStatus
from dcf.stream.run import StreamRun
from runtime.connections import connect
from tasks.stage import current_task_run_id


@task(name="process_id", task_run_name="process_id-{run.stream_name}", cache_policy=None, persist_result=False)
def process_id(run: StreamRun, validated: dict[str, Any]) -> StreamRun:
    """Allocate PRCS_INST_ID (RUNNING) and record the validate and process_id stage rows."""
    started = utcnow()
    config = run.config
    with connect(run.warehouse_block) as conn:
        allocation = allocate_instance(
            conn,
            strm_id=config.stream.id,
            strm_name=run.stream_name,
            process_date=run.process_date,
            batch_id=run.batch_id,
            flow_run_id=flow_run.get_id(),
            deployment_id=deployment.get_id(),
            reset=run.reset,
        )
        attached = run.model_copy(update={"prcs_inst_id": allocation.prcs_inst_id, "resumed": allocation.resumed})
        task_run_id = current_task_run_id()
        # Both rows only now: a refused run must not leave a process instance or its rows behind.
        write_stage(conn, attached.ref, "validate", StageStatus.COMPLETED, task_run_id=task_run_id,
                    statistics=validated, started_at=datetime.fromisoformat(validated["started_at"]))
        write_stage(conn, attached.ref, "process_id", StageStatus.COMPLETED, task_run_id=task_run_id,
                    started_at=started,
                    statistics={"prcs_inst_id": allocation.prcs_inst_id, "resumed": allocation.resumed})
    return attached
