"""GetODSProcId: allocate the process instance, or re-attach the one a restart resumes."""

from __future__ import annotations

from prefect.runtime import deployment, flow_run

from dcf.store.clock import utcnow
from dcf.store.instances import InstanceClaim, allocate_instance
from dcf.store.owner import process_identity
from dcf.stream.run import StreamRun
from runtime.connections import connect
from tasks.stage import StageResult, record_pre_instance_stage, stage_task


def allocate(run: StreamRun, validated: StageResult) -> StreamRun:
    """Allocate PRCS_INST_ID (RUNNING) and record the validate and process_id stage rows."""
    started = utcnow()
    config = run.config
    stale_after = config.stream.stale_after
    with connect(run.warehouse_block) as conn:
        allocation = allocate_instance(conn, InstanceClaim(
            strm_id=config.stream.id, strm_name=run.stream_name, process_date=run.process_date,
            batch_id=run.batch_id, flow_run_id=flow_run.get_id(), deployment_id=deployment.get_id(),
            config_hash=validated.statistics.get("config_sha256"), owner=process_identity(),
            parent_prcs_inst_id=run.parent_prcs_inst_id,
            stale_after_seconds=stale_after and int(stale_after.total_seconds()),
        ), reset=run.reset)
        attached = run.model_copy(update={"prcs_inst_id": allocation.prcs_inst_id, "resumed": allocation.resumed})
        # Both rows only now: a refused run must not leave a process instance or its rows behind.
        record_pre_instance_stage(conn, attached, "validate", validated)
        record_pre_instance_stage(conn, attached, "process_id", StageResult({
            "started_at": started.isoformat(sep=" "), "prcs_inst_id": allocation.prcs_inst_id,
            "resumed": allocation.resumed}))
    return attached


#: GetODSProcId as a stage task (it returns the run with its instance, not a StageResult).
process_id = stage_task("process_id", allocate)
