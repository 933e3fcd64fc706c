"""DCF_T_PRCS_INST: process instances (GetODSProcId), their allocation, moves and closing.

Ids come from a sequence (never MAX+1); one RUNNING instance per stream at a time, held by a claim on the
stream's DCF_T_STRM row (a compare-and-set UPDATE, released where the instance ends).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dcf.errors import RefusedError
from dcf.store.clock import exec_user, utcnow
from dcf.store.connection import Connection
from dcf.store.schema import DCF_T_PRCS_EXEC_LOG, DCF_T_PRCS_INST, DCF_T_STRM, PRCS_INST_SEQUENCE
from dcf.store.statuses import FINAL_STATUSES, RESUMABLE, InstanceStatus, OrchestrationStatus, StageStatus

RUNNING = InstanceStatus.RUNNING


@dataclass(frozen=True)
class InstanceClaim:
    """Who asks for a process instance, for what: a stream's process date, from a flow run."""

    strm_id: int
    strm_name: str
    process_date: date
    batch_id: str
    flow_run_id: str | None = None
    deployment_id: str | None = None
    #: sha256 of the stream YAML the run was started from: a resume on another definition is refused.
    config_hash: str | None = None
    #: (host, pid, process start) of the process that will run the instance (dcf.store.owner.process_identity)
    owner: tuple[str, int, str | None] | None = None
    #: The instance whose ``stream:`` activity runs this one (a nested sequence).
    parent_prcs_inst_id: int | None = None
    #: The stream's ``stale_after`` in seconds (None: no heartbeat rule for this instance).
    stale_after_seconds: int | None = None


@dataclass(frozen=True)
class Allocation:
    prcs_inst_id: int
    resumed: bool


def running_instances(conn: Connection, strm_id: int) -> list[dict[str, Any]]:
    return conn.fetch_dicts(
        f"SELECT PRCS_INST_ID, PRCS_DATE, FLOW_RUN_ID, PRCS_START_TS FROM {conn.qualify(DCF_T_PRCS_INST.name)} "
        "WHERE STRM_ID = :id AND PRCS_STATUS = :running ORDER BY PRCS_INST_ID",
        {"id": strm_id, "running": RUNNING},
    )


#: A claim that lost a write race is tried again (the winner's COMMIT then makes it a clear refusal).
CLAIM_ATTEMPTS = 6


def allocate_instance(conn: Connection, claim: InstanceClaim, *, reset: bool = False) -> Allocation:
    """:func:`allocate_once`, tried again when it lost a write race for the stream's row (see
    :meth:`Dialect.is_write_conflict`); every other error, and a refusal, is raised at once."""
    for attempt in range(CLAIM_ATTEMPTS):
        try:
            return allocate_once(conn, claim, reset=reset)
        except RefusedError:
            raise
        except Exception as error:
            if attempt == CLAIM_ATTEMPTS - 1 or not conn.dialect.is_write_conflict(error):
                raise
            time.sleep(0.2 * (attempt + 1) + random.random() * 0.2)
    raise AssertionError("unreachable")


def allocate_once(conn: Connection, claim: InstanceClaim, *, reset: bool = False) -> Allocation:
    """Allocate a PRCS_INST_ID, or re-attach the instance a restart resumes.

    Resumed: the latest instance of this stream and process date that FAILED / CRASHED / CANCELLED, or
    one still RUNNING under this very flow run (a ``prefect flow-run retry`` keeps the flow run id) — unless
    the stream YAML changed since that instance started (refused: a resume never runs on another definition).
    ``reset`` starts over with a new instance instead. Ids come from a sequence, so concurrent
    allocations never collide (the spec's MAX+1 would). Another flow run's RUNNING instance is refused.
    """
    strm_id, strm_name, process_date, flow_run_id = claim.strm_id, claim.strm_name, claim.process_date, \
        claim.flow_run_id
    now = utcnow()
    with conn.transaction():
        _claim_stream(conn, claim, now)
        for other in running_instances(conn, strm_id):  # instances from before claims existed
            if flow_run_id is None or other["FLOW_RUN_ID"] != flow_run_id:
                raise RefusedError(
                    f"stream {strm_name} already has process instance {other['PRCS_INST_ID']} RUNNING "
                    f"(flow run {other['FLOW_RUN_ID']}); one instance per stream at a time"
                )
        last = _latest_of_date(conn, strm_id, process_date)
        resumable = last is not None and (
            last["PRCS_STATUS"] in RESUMABLE
            or (last["PRCS_STATUS"] == RUNNING and flow_run_id and last["FLOW_RUN_ID"] == flow_run_id)
        )
        if resumable and not reset:
            if last["CONFIG_HASH"] and claim.config_hash and last["CONFIG_HASH"] != claim.config_hash:
                raise RefusedError(f"stream YAML changed since process instance {last['PRCS_INST_ID']} started; "
                                   "run with mode=RESET")
            _reopen(conn, int(last["PRCS_INST_ID"]), claim, now)
            _claim_for(conn, claim, int(last["PRCS_INST_ID"]), now)
            return Allocation(int(last["PRCS_INST_ID"]), resumed=True)
        if resumable and reset:
            close_instance(conn, int(last["PRCS_INST_ID"]), InstanceStatus.CANCELLED, "superseded by a reset run",
                           only_if=(*RESUMABLE, RUNNING))
        new_id = next_process_instance_id(conn)
        conn.insert(DCF_T_PRCS_INST, [{
            "PRCS_INST_ID": new_id, "STRM_ID": strm_id, "STRM_NAME": strm_name, "PRCS_DATE": process_date,
            "ODS_BATCH_ID": claim.batch_id, "PRCS_STATUS": RUNNING, "ORCHESTRATION_STATUS": None,
            "LAST_GOOD_STAGE": None, "PRCS_START_TS": now, "PRCS_END_TS": None, "FLOW_RUN_ID": flow_run_id,
            "DEPLOYMENT_ID": claim.deployment_id, "ERROR_MESSAGE": None, "EXEC_USER_ID": exec_user(),
            "CONFIG_HASH": claim.config_hash, **_owner_columns(claim, now), "UPDATED_TS": now,
            "PARENT_PRCS_INST_ID": claim.parent_prcs_inst_id,
        }])
        _claim_for(conn, claim, new_id, now)
    return Allocation(new_id, resumed=False)


def claim_owner(claim: InstanceClaim) -> str:
    """Who a claim is taken by: the flow run (a retry of it resumes under its claim), else the process."""
    if claim.flow_run_id:
        return claim.flow_run_id
    host, pid, start = claim.owner or ("?", 0, None)
    return f"{host}:{pid}:{start}"


def _claim_stream(conn: Connection, claim: InstanceClaim, now: datetime) -> None:
    """Compare-and-set on the stream's row: idle (or already ours) -> ours; then read back who holds it.

    Correct without relying on isolation levels: the UPDATE changes the row only while no one else holds it,
    and the read-back (inside this transaction, which sees its own write) says who does. On Snowflake,
    concurrent UPDATEs of one table serialise (the second waits for the first's COMMIT, then finds the
    claim taken); on DuckDB the per-file lock serialises the transaction, and a concurrent writer's
    "conflict on update" ends it. A stale claim is released only when its instance is closed (reconcile).
    """
    owner = claim_owner(claim)
    conn.execute(f"UPDATE {conn.qualify(DCF_T_STRM.name)} SET CLAIM_OWNER = :owner, CLAIM_TS = :now "
                 "WHERE STRM_ID = :id AND (CLAIM_OWNER IS NULL OR CLAIM_OWNER = :owner)",
                 {"owner": owner, "now": now, "id": claim.strm_id})
    rows = conn.fetch_dicts(f"SELECT CLAIM_OWNER, CLAIM_PRCS_INST_ID, CLAIM_TS FROM {conn.qualify(DCF_T_STRM.name)} "
                            "WHERE STRM_ID = :id", {"id": claim.strm_id})
    if not rows:
        raise RefusedError(f"stream {claim.strm_name} ({claim.strm_id}) is not registered in DCF_T_STRM")
    held = rows[0]
    if held["CLAIM_OWNER"] == owner:
        return
    raise RefusedError(
        f"stream {claim.strm_name} already has process instance {held['CLAIM_PRCS_INST_ID']} RUNNING "
        f"(claimed by {held['CLAIM_OWNER']} at {held['CLAIM_TS']}); one instance per stream at a time")


def _claim_for(conn: Connection, claim: InstanceClaim, prcs_inst_id: int, now: datetime) -> None:
    """The claim names the instance it is for (a reset may have released it when it closed the old one)."""
    conn.execute(f"UPDATE {conn.qualify(DCF_T_STRM.name)} SET CLAIM_OWNER = :owner, CLAIM_PRCS_INST_ID = :inst, "
                 "CLAIM_TS = :now WHERE STRM_ID = :id",
                 {"owner": claim_owner(claim), "inst": prcs_inst_id, "now": now, "id": claim.strm_id})


def release_claim(conn: Connection, prcs_inst_id: int) -> None:
    """The stream is idle again once the instance its claim is for has ended."""
    conn.execute(f"UPDATE {conn.qualify(DCF_T_STRM.name)} SET CLAIM_OWNER = NULL, CLAIM_PRCS_INST_ID = NULL, "
                 "CLAIM_TS = NULL WHERE CLAIM_PRCS_INST_ID = :inst", {"inst": prcs_inst_id})


def _latest_of_date(conn: Connection, strm_id: int, process_date: date) -> dict[str, Any] | None:
    rows = conn.fetch_dicts(
        f"SELECT PRCS_INST_ID, PRCS_STATUS, FLOW_RUN_ID, CONFIG_HASH FROM {conn.qualify(DCF_T_PRCS_INST.name)} "
        "WHERE STRM_ID = :id AND PRCS_DATE = :d ORDER BY PRCS_INST_ID DESC LIMIT 1",
        {"id": strm_id, "d": process_date},
    )
    return rows[0] if rows else None


def _reopen(conn: Connection, prcs_inst_id: int, claim: InstanceClaim, now: datetime) -> None:
    """A resumed instance runs again, owned by the resuming flow run and process."""
    conn.execute(
        f"UPDATE {conn.qualify(DCF_T_PRCS_INST.name)} SET PRCS_STATUS = :running, PRCS_END_TS = NULL, "
        "ERROR_MESSAGE = NULL, FLOW_RUN_ID = :flow_run, DEPLOYMENT_ID = :deployment, OWNER_HOST = :OWNER_HOST, "
        "OWNER_PID = :OWNER_PID, OWNER_PID_START = :OWNER_PID_START, HEARTBEAT_TS = :HEARTBEAT_TS, "
        "STALE_AFTER_S = :STALE_AFTER_S, UPDATED_TS = :now WHERE PRCS_INST_ID = :inst",
        {"running": RUNNING, "flow_run": claim.flow_run_id, "deployment": claim.deployment_id, "now": now,
         "inst": prcs_inst_id, **_owner_columns(claim, now)},
    )


def _owner_columns(claim: InstanceClaim, now: datetime) -> dict[str, Any]:
    host, pid, start = claim.owner or (None, None, None)
    return {"OWNER_HOST": host, "OWNER_PID": pid, "OWNER_PID_START": start, "HEARTBEAT_TS": now,
            "STALE_AFTER_S": claim.stale_after_seconds}


def beat(conn: Connection, prcs_inst_id: int) -> None:
    """The owning process is alive: stamp the RUNNING instance's heartbeat (an ended one is left alone)."""
    conn.execute(f"UPDATE {conn.qualify(DCF_T_PRCS_INST.name)} SET HEARTBEAT_TS = :now "
                 "WHERE PRCS_INST_ID = :inst AND PRCS_STATUS = :running",
                 {"now": utcnow(), "inst": prcs_inst_id, "running": RUNNING})


def next_process_instance_id(conn: Connection) -> int:
    """The next id from the process-instance sequence."""
    return int(conn.scalar(conn.dialect.nextval(conn.qualify(PRCS_INST_SEQUENCE))))


def instance_row(conn: Connection, prcs_inst_id: int) -> dict[str, Any] | None:
    return conn.row_by_key(DCF_T_PRCS_INST, PRCS_INST_ID=prcs_inst_id)


def update_instance(
    conn: Connection,
    prcs_inst_id: int,
    *,
    orchestration_status: OrchestrationStatus | None = None,
    last_good_stage: str | None = None,
) -> None:
    """Record a RUNNING instance's progress: the quality verdict, the last stage that finished.

    Ending an instance is :func:`close_instance`'s job alone.
    """
    sets = ["UPDATED_TS = :now"]
    params: dict[str, Any] = {"now": utcnow(), "id": prcs_inst_id, "running": RUNNING}
    if orchestration_status:
        sets.append("ORCHESTRATION_STATUS = :orch")
        params["orch"] = orchestration_status
    if last_good_stage:
        sets.append("LAST_GOOD_STAGE = :stage")
        params["stage"] = last_good_stage
    conn.execute(
        f"UPDATE {conn.qualify(DCF_T_PRCS_INST.name)} SET {', '.join(sets)} "
        "WHERE PRCS_INST_ID = :id AND PRCS_STATUS = :running",
        params,
    )


def close_instance(conn: Connection, prcs_inst_id: int, status: InstanceStatus, error: str | None = None, *,
                   only_if: Sequence[InstanceStatus] = (RUNNING,), now: datetime | None = None) -> None:
    """End a process instance as ``status`` (a final status); the one place an instance ends.

    Only an instance whose status is in ``only_if`` (RUNNING, unless a reset supersedes a resumable one)
    changes: a late or repeated close never moves an ended instance. Its end time is kept if it had one and
    its error is set (or kept when None). Whoever closes an instance a killed process left behind (the crash
    hook, reconcile) also calls :func:`close_stages_of_ended_instances`.
    """
    if status not in FINAL_STATUSES:
        raise ValueError(f"{status!r} is not a final process-instance status")
    allowed = {f"s{i}": value for i, value in enumerate(only_if)}
    conn.execute(
        f"UPDATE {conn.qualify(DCF_T_PRCS_INST.name)} SET PRCS_STATUS = :status, "
        "PRCS_END_TS = COALESCE(PRCS_END_TS, :now), ERROR_MESSAGE = COALESCE(:error, ERROR_MESSAGE), "
        f"UPDATED_TS = :now WHERE PRCS_INST_ID = :id AND PRCS_STATUS IN ({', '.join(':' + k for k in allowed)})",
        {"status": status, "now": now or utcnow(), "error": error[:4000] if error else None, "id": prcs_inst_id,
         **allowed},
    )
    release_claim(conn, prcs_inst_id)


def instances_of_flow_run(conn: Connection, flow_run_id: str) -> list[int]:
    """RUNNING process instances owned by a flow run."""
    rows = conn.fetchall(
        f"SELECT PRCS_INST_ID FROM {conn.qualify(DCF_T_PRCS_INST.name)} "
        "WHERE FLOW_RUN_ID = :id AND PRCS_STATUS = :running",
        {"id": flow_run_id, "running": RUNNING},
    )
    return [int(row[0]) for row in rows]


def close_stages_of_ended_instances(conn: Connection, *, reason: str = "its process instance ended") -> int:
    """Stage rows still RUNNING although their process instance has ended are closed: CANCELLED when the
    instance was cancelled, else FAILED.

    A killed process writes no stage end; closing its instance afterwards (the flow's crash hook, reconcile)
    closes them too, so no stage row is left RUNNING. Returns how many rows were closed.
    """
    stages, instances = conn.qualify(DCF_T_PRCS_EXEC_LOG.name), conn.qualify(DCF_T_PRCS_INST.name)
    closed = 0
    for ended, cancelled in ((StageStatus.CANCELLED, "="), (StageStatus.FAILED, "<>")):
        where = (f"PRCS_STATUS = :running AND PRCS_INST_ID IN (SELECT PRCS_INST_ID FROM {instances} "
                 f"WHERE PRCS_STATUS <> :running AND PRCS_STATUS {cancelled} :cancelled)")
        params = {"running": RUNNING, "cancelled": InstanceStatus.CANCELLED}
        count = int(conn.scalar(f"SELECT COUNT(*) FROM {stages} WHERE {where}", params) or 0)
        if count:
            conn.execute(f"UPDATE {stages} SET PRCS_STATUS = :ended, PRCS_END_TS = :now, ERROR_MESSAGE = :reason, "
                         f"UPDATED_TS = :now WHERE {where}",
                         {**params, "now": utcnow(), "reason": f"closed: {reason}"[:4000], "ended": ended})
        closed += count
    return closed


def child_instance(conn: Connection, parent_prcs_inst_id: int, strm_name: str) -> dict[str, Any] | None:
    """The latest instance of ``strm_name`` that a ``stream:`` activity of the parent instance ran."""
    rows = conn.fetch_dicts(
        f"SELECT PRCS_INST_ID, PRCS_STATUS, ORCHESTRATION_STATUS FROM {conn.qualify(DCF_T_PRCS_INST.name)} "
        "WHERE PARENT_PRCS_INST_ID = :parent AND STRM_NAME = :name ORDER BY PRCS_INST_ID DESC LIMIT 1",
        {"parent": parent_prcs_inst_id, "name": strm_name},
    )
    return rows[0] if rows else None
