"""A stand-in stream flow for the kill test (tests/execlog/test_reconcile.py), run as its own process.

    python -m tests.exec_log_kill_flow <project_dir> <warehouse.duckdb> <marker_file> <stream> <prcs_inst_id>

It registers a RUNNING process instance for its flow run (as the stream flow's process-id stage does), then
runs a dbt build with the execution log on. A watcher thread writes the flow run id to the marker file once
the gated model's row reads RUNNING; the test then SIGKILLs this process while the model is still blocked.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from prefect import flow
from prefect.context import FlowRunContext

from dcf.build.request import BuildRequest
from dcf.build.runner import RunContext, run_dbt_build
from dcf.store.clock import utcnow
from dcf.store.connection import open_duckdb
from dcf.store.dialect import Namespace
from dcf.store.schema import DCF_T_PRCS_INST, PROCESS_EXECUTION_LOG
from dcf.store.streams import StreamRecord, register_streams
from runtime.build_observer import PrefectBuildObserver


@flow(name="exec-log-kill-test")
def stream_like(project_dir: str, warehouse: str, marker: str, stream: str, prcs_inst_id: int) -> None:
    flow_run_id = str(FlowRunContext.get().flow_run.id)
    conn = open_duckdb(warehouse, Namespace("DCF"))
    now = utcnow()
    register_streams(conn, [StreamRecord(1, stream, None, "ACTIVE", None, "-", "-")])  # validate's registration
    conn.merge(DCF_T_PRCS_INST, [{
        "PRCS_INST_ID": prcs_inst_id, "STRM_ID": 1, "STRM_NAME": stream, "PRCS_DATE": now.date(),
        "ODS_BATCH_ID": "B1", "PRCS_STATUS": "RUNNING", "ORCHESTRATION_STATUS": None, "LAST_GOOD_STAGE": None,
        "PRCS_START_TS": now, "PRCS_END_TS": None, "FLOW_RUN_ID": flow_run_id, "DEPLOYMENT_ID": None,
        "ERROR_MESSAGE": None, "EXEC_USER_ID": "test", "UPDATED_TS": now,
    }])
    threading.Thread(target=_signal_when_running, args=(warehouse, marker, flow_run_id), daemon=True).start()
    run_dbt_build(BuildRequest(project_dir=Path(project_dir), profiles_dir=Path(project_dir), target="local", select=[],
                  env={"DCF_WAREHOUSE_PATH": warehouse},
                  context=RunContext(stream_name=stream, prcs_inst_id=prcs_inst_id)), log_to=conn,
                  observer=PrefectBuildObserver())


def _signal_when_running(warehouse: str, marker: str, flow_run_id: str) -> None:
    reader = open_duckdb(warehouse, Namespace("DCF"))  # same process: shares the writer's DuckDB instance
    table = reader.qualify(PROCESS_EXECUTION_LOG.name)
    while True:
        status = reader.scalar(f"SELECT EXECUTION_STATUS_NAME FROM {table} WHERE PROCESS_STEP_ID LIKE '%_MODEL_m0002'")
        if status == "RUNNING":
            Path(marker).write_text(flow_run_id)
            return
        time.sleep(0.1)


if __name__ == "__main__":
    project_dir, warehouse, marker, stream, prcs_inst_id = sys.argv[1:6]
    stream_like(project_dir, warehouse, marker, stream, int(prcs_inst_id))
