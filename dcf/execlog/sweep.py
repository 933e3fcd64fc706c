"""Close what a dead run left RUNNING: PROCESS_EXECUTION_LOG rows and DCF_T_PRCS_INST rows.

A SIGKILLed flow process runs no hook and no ``finally``: its rows stay RUNNING and, worse, the stream's
one-instance guard would refuse every later run. The sweeper decides a row's run is dead when

* its Prefect flow run is in a final state (crashed, cancelled, failed, completed) or no longer exists, or
* the process that wrote it (host + pid + process start time, recorded in PROCESS_CONFIG_OBJ) is gone —
  checked on the same host only; a SIGKILLed script's flow run stays RUNNING in Prefect forever, so this is
  how a kill is seen, or
* its process instance sent no heartbeat for longer than its stream's ``stale_after`` (HEARTBEAT_TS,
  STALE_AFTER_S) and its process cannot be seen alive — the rule for an owner on another host.

Prefect-free: the caller passes ``flow_run_states`` (``flows/reconcile.py`` asks the Prefect API)::

    report = sweep(conn, lambda ids: {"<id>": "CRASHED"}, stream="BCFINSG_PLAN_BALN_SEGM_LOAD")
    report.closed_log_rows, report.closed_instances, report.dead_flow_runs

Every write is a MERGE guarded by "still RUNNING", so a row its owner closes meanwhile is left alone, and a
second sweep changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dcf.execlog.facts import fmt_ts
from dcf.store.clock import utcnow
from dcf.store.connection import Connection
from dcf.store.instances import close_instance, close_stages_of_ended_instances
from dcf.store.owner import process_alive
from dcf.store.schema import DCF_T_PRCS_INST, PROCESS_EXECUTION_LOG
from dcf.store.statuses import InstanceStatus, LogStatus, RecordType

#: Prefect state types of a run that may still write.
LIVE_STATES = frozenset({"RUNNING", "PENDING", "SCHEDULED", "PAUSED", "CANCELLING"})

#: flow run ids -> Prefect state type (RUNNING, CRASHED, ...); an id missing from the answer no longer exists.
FlowRunStates = Callable[[Collection[str]], Mapping[str, str]]

_LOG_CLOSE_COLUMNS = ["EXECUTION_STATUS_NAME", "EXECUTION_COMPLETED_IND", "EXECUTION_END_TWSTP", "EXTRACT_END_TWSTP",
                      "ERROR_MESSAGE_OBJ", "STEP_EXECUTION_OBJ", "UPDATE_TWSTP", "DESTINATION_DATA_CNT_OBJ",
                      "SOURCE_DATA_CNT"]
#: How a verdict ends the instance it owned.
_INSTANCE_STATUS = {"CANCELLED": InstanceStatus.CANCELLED, "CRASHED": InstanceStatus.CRASHED,
                    "KILLED": InstanceStatus.CRASHED, "STALE": InstanceStatus.CRASHED, "GONE": InstanceStatus.CRASHED}
#: Verdicts on a process that is gone while Prefect may still show its flow run Running.
_PROCESS_GONE = ("KILLED", "STALE")


# -- the sweep --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    reason: str
    code: str  # CRASHED, CANCELLED, FAILED, COMPLETED, GONE (flow run deleted), KILLED (process gone), STALE
    flow_run_id: str | None
    flow_run_state: str | None


@dataclass
class ReconcileReport:
    closed_log_rows: list[str] = field(default_factory=list)
    closed_instances: list[int] = field(default_factory=list)
    #: flow runs whose process is gone although Prefect still shows them running: the caller may mark them Crashed
    dead_flow_runs: dict[str, str] = field(default_factory=dict)
    #: RUNNING rows nobody can judge (no flow run id and written on another host)
    undecided: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"closed_log_rows": self.closed_log_rows, "closed_instances": self.closed_instances,
                "dead_flow_runs": self.dead_flow_runs, "undecided": self.undecided}


def sweep(conn: Connection, flow_run_states: FlowRunStates, *, stream: str | None = None,
              keep_flow_run_ids: Collection[str] = (), now: datetime | None = None) -> ReconcileReport:
    """Close orphaned RUNNING log rows and process instances (of ``stream``, or all); see the module docstring.

    ``keep_flow_run_ids``: instances owned by these flow runs stay open (the caller's own run, which may be
    a retry of the very run that was killed) — their dead log rows are still closed.
    """
    now = now or utcnow()
    rows = [r for r in conn.rows_where(PROCESS_EXECUTION_LOG, EXECUTION_STATUS_NAME=LogStatus.RUNNING)
            if stream is None or _json(r["PROCESS_CONFIG_OBJ"]).get("stream_name") == stream]
    instances = conn.rows_where(DCF_T_PRCS_INST, PRCS_STATUS=InstanceStatus.RUNNING,
                                **({"STRM_NAME": stream} if stream else {}))
    run_ids = {str(i["FLOW_RUN_ID"]) for i in instances if i["FLOW_RUN_ID"]}
    run_ids |= {c["flow_run_id"] for c in (_json(r["PROCESS_CONFIG_OBJ"]) for r in rows) if c.get("flow_run_id")}
    states = dict(flow_run_states(sorted(run_ids))) if run_ids else {}

    report = ReconcileReport()
    stale = {int(i["PRCS_INST_ID"]): v for i in instances
             if str(i["FLOW_RUN_ID"]) not in keep_flow_run_ids and (v := _stale(i, states, now))}
    verdicts: dict[str, Verdict] = {}
    for row in rows:
        config = _json(row["PROCESS_CONFIG_OBJ"])
        verdict = _judge(config, states) or stale.get(config.get("prcs_inst_id"))
        if verdict is None:
            if not config.get("flow_run_id") and \
                    process_alive(config.get("host"), config.get("pid"), config.get("pid_start")) is None:
                report.undecided.append(row["PROCESS_STEP_ID"])
            continue
        verdicts[row["PROCESS_STEP_ID"]] = verdict
        if verdict.code in _PROCESS_GONE and verdict.flow_run_id and states.get(verdict.flow_run_id) in LIVE_STATES:
            report.dead_flow_runs[verdict.flow_run_id] = verdict.reason
    closed = [_close_log_row(row, verdicts[row["PROCESS_STEP_ID"]], now) for row in rows
              if row["PROCESS_STEP_ID"] in verdicts]
    _add_job_counts(conn, closed)
    if closed:
        conn.merge(PROCESS_EXECUTION_LOG, closed, update=_LOG_CLOSE_COLUMNS,
                   matched_condition=f"t.EXECUTION_STATUS_NAME = '{LogStatus.RUNNING}'")
        report.closed_log_rows = [r["PROCESS_STEP_ID"] for r in closed]

    dead_instances = {_json(r["PROCESS_CONFIG_OBJ"]).get("prcs_inst_id"): v for r in rows
                      if (v := verdicts.get(r["PROCESS_STEP_ID"])) and v.code in _PROCESS_GONE}
    for inst in instances:
        run_id = str(inst["FLOW_RUN_ID"]) if inst["FLOW_RUN_ID"] else None
        if run_id in keep_flow_run_ids:
            continue
        # the instance's own owner (host, pid, start) tells a kill outside dbt (ingest, lifecycle, report)
        owner = {"flow_run_id": run_id, "host": inst.get("OWNER_HOST"), "pid": inst.get("OWNER_PID"),
                 "pid_start": inst.get("OWNER_PID_START")}
        verdict = dead_instances.get(inst["PRCS_INST_ID"]) or _judge(owner, states) \
            or stale.get(int(inst["PRCS_INST_ID"])) \
            or next((v for v in dead_instances.values() if run_id and v.flow_run_id == run_id), None)
        if verdict is None:
            continue
        if verdict.code in _PROCESS_GONE and run_id and states.get(run_id) in LIVE_STATES:
            report.dead_flow_runs[run_id] = verdict.reason
        close_instance(conn, int(inst["PRCS_INST_ID"]), _INSTANCE_STATUS.get(verdict.code, InstanceStatus.FAILED),
                       f"closed by reconcile: {verdict.reason}", now=now)
        report.closed_instances.append(int(inst["PRCS_INST_ID"]))
    close_stages_of_ended_instances(conn, reason="reconcile found its process instance ended")
    return report


def _judge(config: Mapping[str, Any], states: Mapping[str, str]) -> Verdict | None:
    run_id = config.get("flow_run_id")
    if run_id:
        if run_id not in states:
            return Verdict(f"its flow run {run_id} no longer exists", "GONE", run_id, None)
        state = states[run_id]
        if state not in LIVE_STATES:
            return Verdict(f"its flow run {run_id} is {state} while this was still RUNNING", state, run_id, state)
    alive = process_alive(config.get("host"), config.get("pid"), config.get("pid_start"))
    if alive is False:
        return Verdict(f"the process that ran it (pid {config.get('pid')} on {config.get('host')}) is gone: "
                       "killed or crashed without closing its rows", "KILLED", run_id, states.get(run_id or ""))
    return None


def _stale(instance: Mapping[str, Any], states: Mapping[str, str], now: datetime) -> Verdict | None:
    """No heartbeat for longer than the instance's stale_after, from a process that cannot be seen alive."""
    limit, last_beat = instance.get("STALE_AFTER_S"), instance.get("HEARTBEAT_TS")
    if not limit or last_beat is None:
        return None
    host, pid = instance.get("OWNER_HOST"), instance.get("OWNER_PID")
    if process_alive(host, pid, instance.get("OWNER_PID_START")):  # quiet, but alive on this host
        return None
    silent = (now - last_beat).total_seconds()
    if silent <= int(limit):
        return None
    run_id = str(instance["FLOW_RUN_ID"]) if instance.get("FLOW_RUN_ID") else None
    return Verdict(f"no heartbeat from its process (pid {pid} on {host}) for {silent:.0f}s, more than its "
                   f"stream's stale_after of {int(limit)}s", "STALE", run_id, states.get(run_id or ""))


def _close_log_row(row: dict[str, Any], verdict: Verdict, now: datetime) -> dict[str, Any]:
    steps = _json(row["STEP_EXECUTION_OBJ"])
    timeline = list(steps.get("execution_timeline") or [])
    is_job = row["RECORD_TYPE"] == RecordType.JOB
    # an operator's cancel ends its rows CANCELLED; anything else that left them RUNNING, FAILED
    status = LogStatus.CANCELLED if verdict.code == "CANCELLED" else LogStatus.FAILED
    model_step = "MODEL_CANCELLED" if status == LogStatus.CANCELLED else "MODEL_FAILED"
    timeline.append({"step_number": len(timeline) + 1, "timestamp": fmt_ts(now), "level": "Error",
                     "step_type": "JOB_COMPLETE" if is_job else model_step,
                     "title": f"Closed by reconcile: {verdict.code}", "query_id": None,
                     "query_result": {"execution_status": status.value},
                     "content": {"reason": verdict.reason}})
    steps.update(status=status.value, current_step="JOB_COMPLETE" if is_job else model_step,
                 execution_timeline=timeline)
    if is_job:
        steps["job_status"] = status.value
    row = {k: v for k, v in row.items() if k != "PROCESS_EXECUTION_LOG_SK"}
    return {**row, "EXECUTION_STATUS_NAME": status, "EXECUTION_COMPLETED_IND": "Y",
            "EXECUTION_END_TWSTP": now,
            "EXTRACT_END_TWSTP": now, "UPDATE_TWSTP": now, "STEP_EXECUTION_OBJ": steps,
            "ERROR_MESSAGE_OBJ": {"error_type": "ORPHANED_RUN", "message": f"closed by reconcile: {verdict.reason}",
                                  "reason_code": verdict.code, "flow_run_id": verdict.flow_run_id,
                                  "flow_run_state": verdict.flow_run_state, "closed_by": "reconcile",
                                  "closed_at": fmt_ts(now)},
            "DESTINATION_DATA_CNT_OBJ": _json(row["DESTINATION_DATA_CNT_OBJ"]) or None,
            "SOURCE_OBJ": _json(row["SOURCE_OBJ"]) or None, "DESTINATION_OBJ": _json(row["DESTINATION_OBJ"]) or None,
            "PROCESS_CONFIG_OBJ": _json(row["PROCESS_CONFIG_OBJ"]) or None}


def _add_job_counts(conn: Connection, closed: list[dict[str, Any]]) -> None:
    """A closed JOB row gets the summary its run never wrote, from its MODEL rows (one query for all jobs)."""
    jobs = {r["PROCESS_STEP_ID"]: r for r in closed if r["RECORD_TYPE"] == RecordType.JOB}
    if not jobs:
        return
    params = {f"j{i}": job_id for i, job_id in enumerate(jobs)}
    children = conn.fetch_dicts(
        f"SELECT PROCESS_STEP_ID, PARENT_STEP_ID, EXECUTION_STATUS_NAME, SOURCE_DATA_CNT "
        f"FROM {conn.qualify(PROCESS_EXECUTION_LOG.name)} "
        f"WHERE PARENT_STEP_ID IN ({', '.join(':' + p for p in params)})", params)
    closing = {r["PROCESS_STEP_ID"] for r in closed}
    for job_id, job in jobs.items():
        mine = [c for c in children if c["PARENT_STEP_ID"] == job_id]
        statuses = [LogStatus.FAILED if c["PROCESS_STEP_ID"] in closing else c["EXECUTION_STATUS_NAME"] for c in mine]
        rows = [int(c["SOURCE_DATA_CNT"]) for c in mine if c["SOURCE_DATA_CNT"] is not None]
        job["DESTINATION_DATA_CNT_OBJ"] = {
            "total_models": len(mine), "successful_models": statuses.count(LogStatus.SUCCESS),
            "failed_models": statuses.count(LogStatus.FAILED), "skipped_models": statuses.count(LogStatus.SKIPPED),
            "total_rows": sum(rows) if rows else None, "incomplete": True,
        }
        job["SOURCE_DATA_CNT"] = sum(rows) if rows else None


def _json(value: Any) -> dict[str, Any]:
    """A JSON column (decoded by the connection) as a dict: {} for NULL or anything but an object."""
    return value if isinstance(value, dict) else {}
