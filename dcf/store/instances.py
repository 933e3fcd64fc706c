"""DCF_T_PRCS_INST: process instances (GetODSProcId), their allocation, moves and closing.

Ids come from a sequence (never MAX+1); one RUNNING instance per stream at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from dcf.errors import RefusedError
from dcf.store.clock import exec_user, utcnow
from dcf.store.connection import Connection
from dcf.store.dialect import Dialect
from dcf.store.schema import DCF_T_PRCS_EXEC_LOG, DCF_T_PRCS_INST, DCF_T_STRM, PRCS_INST_SEQUENCE

# -- process instances (GetODSProcId) ------------------------------------------------------------------
#: Statuses of an instance that a re-run of the same stream and process date resumes.
RESUMABLE = ("FAILED", "CRASHED", "CANCELLED")


FINAL_STATUSES = ("SUCCEEDED", "COMPLETED_WITH_WARNINGS", *RESUMABLE)


@dataclass(frozen=True)
class Allocation:
    prcs_inst_id: int
    resumed: bool


def running_instances(conn: Connection, strm_id: int) -> list[dict[str, Any]]:
    return conn.fetch_dicts(
        f"SELECT PRCS_INST_ID, PRCS_DATE, FLOW_RUN_ID, PRCS_START_TS FROM {conn.qualify(DCF_T_PRCS_INST.name)} "
        "WHERE STRM_ID = :id AND PRCS_STATUS = 'RUNNING' ORDER BY PRCS_INST_ID",
        {"id": strm_id},
    )


def allocate_instance(
    conn: Connection,
    *,
    strm_id: int,
    strm_name: str,
    process_date: date,
    batch_id: str,
    flow_run_id: str | None,
    deployment_id: str | None,
    reset: bool = False,
) -> Allocation:
    """Allocate a PRCS_INST_ID, or re-attach the instance a restart resumes.

    Resumed: the latest instance of this stream and process date that FAILED / CRASHED / CANCELLED, or
    one still RUNNING under this very flow run (a ``prefect flow-run retry`` keeps the flow run id).
    ``reset`` starts over with a new instance instead. Ids come from a sequence, so concurrent
    allocations never collide (the spec's MAX+1 would). Another flow run's RUNNING instance is refused.
    """
    table = conn.qualify(DCF_T_PRCS_INST.name)
    now = utcnow()
    with conn.transaction():
        # Serialise allocations per stream, so the RUNNING check below cannot race: on Snowflake this
        # UPDATE holds the stream row until COMMIT and later statements read committed data; on DuckDB
        # the per-file transaction lock (dcf.store.connection.open_duckdb) already serialises the whole transaction.
        conn.execute(f"UPDATE {conn.qualify(DCF_T_STRM.name)} SET STRM_STATUS = STRM_STATUS WHERE STRM_ID = :id",
                     {"id": strm_id})
        for other in running_instances(conn, strm_id):
            if flow_run_id is None or other["FLOW_RUN_ID"] != flow_run_id:
                raise RefusedError(
                    f"stream {strm_name} already has process instance {other['PRCS_INST_ID']} RUNNING "
                    f"(flow run {other['FLOW_RUN_ID']}); one instance per stream at a time"
                )
        previous = conn.fetch_dicts(
            f"SELECT PRCS_INST_ID, PRCS_STATUS, FLOW_RUN_ID FROM {table} "
            "WHERE STRM_ID = :id AND PRCS_DATE = :d ORDER BY PRCS_INST_ID DESC LIMIT 1",
            {"id": strm_id, "d": process_date},
        )
        last = previous[0] if previous else None
        resumable = last is not None and (
            last["PRCS_STATUS"] in RESUMABLE
            or (last["PRCS_STATUS"] == "RUNNING" and flow_run_id and last["FLOW_RUN_ID"] == flow_run_id)
        )
        if resumable and not reset:
            conn.execute(
                f"UPDATE {table} SET PRCS_STATUS = 'RUNNING', PRCS_END_TS = NULL, ERROR_MESSAGE = NULL, "
                "FLOW_RUN_ID = :flow_run, DEPLOYMENT_ID = :deployment, UPDATED_TS = :now WHERE PRCS_INST_ID = :inst",
                {"flow_run": flow_run_id, "deployment": deployment_id, "now": now, "inst": last["PRCS_INST_ID"]},
            )
            return Allocation(int(last["PRCS_INST_ID"]), resumed=True)
        if resumable and reset:
            conn.execute(
                f"UPDATE {table} SET PRCS_STATUS = 'CANCELLED', PRCS_END_TS = COALESCE(PRCS_END_TS, :now), "
                "ERROR_MESSAGE = 'superseded by a reset run', UPDATED_TS = :now WHERE PRCS_INST_ID = :inst",
                {"now": now, "inst": last["PRCS_INST_ID"]},
            )
        new_id = next_process_instance_id(conn)
        conn.insert(
            DCF_T_PRCS_INST,
            [
                {
                    "PRCS_INST_ID": new_id, "STRM_ID": strm_id, "STRM_NAME": strm_name, "PRCS_DATE": process_date,
                    "ODS_BATCH_ID": batch_id, "PRCS_STATUS": "RUNNING", "ORCHESTRATION_STATUS": None,
                    "LAST_GOOD_STAGE": None, "PRCS_START_TS": now, "PRCS_END_TS": None, "FLOW_RUN_ID": flow_run_id,
                    "DEPLOYMENT_ID": deployment_id, "ERROR_MESSAGE": None, "EXEC_USER_ID": exec_user(),
                    "UPDATED_TS": now,
                }
            ],
        )
    return Allocation(new_id, resumed=False)


def next_process_instance_id(conn: Connection) -> int:
    """The next id from the process-instance sequence."""
    return int(conn.scalar(_nextval(conn, PRCS_INST_SEQUENCE)))


def _nextval(conn: Connection, sequence: str) -> str:
    name = conn.qualify(sequence)
    return f"SELECT {name}.NEXTVAL" if conn.dialect is Dialect.SNOWFLAKE else f"SELECT nextval('{name}')"


def instance_row(conn: Connection, prcs_inst_id: int) -> dict[str, Any] | None:
    return conn.row_by_key(DCF_T_PRCS_INST, PRCS_INST_ID=prcs_inst_id)


def update_instance(
    conn: Connection,
    prcs_inst_id: int,
    *,
    status: str | None = None,
    orchestration_status: str | None = None,
    last_good_stage: str | None = None,
    error: str | None = None,
) -> None:
    """Move an instance; a final status also sets PRCS_END_TS. An ended instance is not reopened here."""
    now = utcnow()
    sets = ["UPDATED_TS = :now"]
    params: dict[str, Any] = {"now": now, "id": prcs_inst_id}
    if status:
        sets.append("PRCS_STATUS = :status")
        params["status"] = status
        if status in FINAL_STATUSES:
            sets.append("PRCS_END_TS = :now")
    if orchestration_status:
        sets.append("ORCHESTRATION_STATUS = :orch")
        params["orch"] = orchestration_status
    if last_good_stage:
        sets.append("LAST_GOOD_STAGE = :stage")
        params["stage"] = last_good_stage
    if error is not None:
        sets.append("ERROR_MESSAGE = :error")
        params["error"] = error[:4000]
    conn.execute(
        f"UPDATE {conn.qualify(DCF_T_PRCS_INST.name)} SET {', '.join(sets)} "
        "WHERE PRCS_INST_ID = :id AND PRCS_STATUS = 'RUNNING'",
        params,
    )


def instances_of_flow_run(conn: Connection, flow_run_id: str) -> list[int]:
    """RUNNING process instances owned by a flow run."""
    rows = conn.fetchall(
        f"SELECT PRCS_INST_ID FROM {conn.qualify(DCF_T_PRCS_INST.name)} "
        "WHERE FLOW_RUN_ID = :id AND PRCS_STATUS = 'RUNNING'",
        {"id": flow_run_id},
    )
    return [int(row[0]) for row in rows]


def close_stages_of_ended_instances(conn: Connection, *, reason: str = "its process instance ended") -> int:
    """Stage rows still RUNNING although their process instance has ended are closed FAILED.

    A killed process writes no stage end; whoever closes the instance afterwards (the flow's crash hook,
    reconcile) calls this so no stage row is left RUNNING. Returns how many rows were closed.
    """
    stages, instances = conn.qualify(DCF_T_PRCS_EXEC_LOG.name), conn.qualify(DCF_T_PRCS_INST.name)
    where = (f"PRCS_STATUS = 'RUNNING' AND PRCS_INST_ID IN "
             f"(SELECT PRCS_INST_ID FROM {instances} WHERE PRCS_STATUS <> 'RUNNING')")
    count = int(conn.scalar(f"SELECT COUNT(*) FROM {stages} WHERE {where}") or 0)
    if count:
        now = utcnow()
        conn.execute(f"UPDATE {stages} SET PRCS_STATUS = 'FAILED', PRCS_END_TS = :now, ERROR_MESSAGE = :reason, "
                     f"UPDATED_TS = :now WHERE {where}", {"now": now, "reason": f"closed: {reason}"[:4000]})
    return count
