"""The stream status board: every stream at a glance, as DataStage Director's status view showed it.

    rows = board_rows(conn)                       # one per registered stream, from the control tables
    text = board_markdown(rows, now=utcnow(), next_runs={"BCFINSG_PLAN_BALN_SEGM_LOAD": datetime(...)})

A row: the stream's latest process instance (process date, id, status), the stage that failed and why, how
long it ran (or has been running), its last good process date, and the next scheduled run (from Prefect,
passed in by the caller; "late" when that run's start has passed), and the parallel run: the latest compared
business day's verdict and how many days in a row matched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dcf.compare.history import days_in_a_row
from dcf.store.connection import Connection
from dcf.store.schema import DCF_T_PRCS_EXEC_LOG, DCF_T_PRCS_INST, DCF_T_STRM
from dcf.store.statuses import InstanceStatus, StageStatus

#: The reason comes last: it is the one long cell, and the others stay in view beside each other.
BOARD_COLUMNS = ("stream", "process date", "instance", "status", "failed stage", "duration", "last good date",
                 "next run", "parallel run", "reason")


def board_rows(conn: Connection) -> list[dict[str, Any]]:
    """One row per registered stream: its latest instance and what became of it, and its parallel run (four
    statements in all)."""
    streams, instances, stages = (conn.qualify(t.name) for t in (DCF_T_STRM, DCF_T_PRCS_INST, DCF_T_PRCS_EXEC_LOG))
    latest = conn.fetch_dicts(
        f"SELECT s.STRM_ID, s.STRM_NAME, s.STRM_STATUS, i.PRCS_INST_ID, i.PRCS_DATE, i.PRCS_STATUS, "
        f"i.PRCS_START_TS, i.PRCS_END_TS, i.ERROR_MESSAGE FROM {streams} s LEFT JOIN {instances} i ON i.PRCS_INST_ID = "
        f"(SELECT MAX(PRCS_INST_ID) FROM {instances} x WHERE x.STRM_ID = s.STRM_ID) ORDER BY s.STRM_NAME")
    good = dict(conn.fetchall(
        f"SELECT STRM_ID, MAX(PRCS_DATE) FROM {instances} WHERE PRCS_STATUS IN (:ok, :warn) GROUP BY STRM_ID",
        {"ok": InstanceStatus.SUCCEEDED, "warn": InstanceStatus.COMPLETED_WITH_WARNINGS}))
    ids = [row["PRCS_INST_ID"] for row in latest if row["PRCS_INST_ID"] is not None]
    failed: dict[int, str] = {}
    if ids:
        params = {f"i{n}": inst for n, inst in enumerate(ids)}
        for inst, stage in conn.fetchall(
                f"SELECT PRCS_INST_ID, PRCS_NAME FROM {stages} WHERE PRCS_STATUS = :failed AND PRCS_INST_ID IN "
                f"({', '.join(':' + p for p in params)}) ORDER BY PRCS_START_TS", {"failed": StageStatus.FAILED,
                                                                                  **params}):
            failed.setdefault(int(inst), stage)
    compared = days_in_a_row(conn)
    return [{**row, "FAILED_STAGE": failed.get(row["PRCS_INST_ID"]), "LAST_GOOD_DATE": good.get(row["STRM_ID"]),
             "PARALLEL_RUN": compared.get(row["STRM_NAME"])} for row in latest]


def board_markdown(rows: list[dict[str, Any]], *, now: datetime,
                   next_runs: dict[str, datetime | str | None] | None = None) -> str:
    """The board as a markdown table (the Prefect artifact and ``make status`` show the same)."""
    next_runs = next_runs or {}
    lines = [f"### Stream status board, {now:%Y-%m-%d %H:%M} UTC", "",
             "| " + " | ".join(BOARD_COLUMNS) + " |", "|" + "---|" * len(BOARD_COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(_cells(row, now, next_runs.get(row["STRM_NAME"]))) + " |")
    if not rows:
        lines.append("| (no stream registered yet) |" + " |" * (len(BOARD_COLUMNS) - 1))
    return "\n".join(lines) + "\n"


def _cells(row: dict[str, Any], now: datetime, next_run: datetime | str | None) -> list[str]:
    status = row["PRCS_STATUS"] or ("never run" if row["STRM_STATUS"] == "ACTIVE" else row["STRM_STATUS"])
    end = row["PRCS_END_TS"] or (now if row["PRCS_STATUS"] == InstanceStatus.RUNNING else None)
    duration = _duration((end - row["PRCS_START_TS"]).total_seconds()) if end and row["PRCS_START_TS"] else ""
    if row["PRCS_STATUS"] == InstanceStatus.RUNNING:
        duration = f"running for {duration}"
    failed = row["PRCS_STATUS"] not in (None, InstanceStatus.RUNNING, InstanceStatus.SUCCEEDED,
                                        InstanceStatus.COMPLETED_WITH_WARNINGS)
    reason = _cell(row["ERROR_MESSAGE"]) if failed else ""
    if isinstance(next_run, datetime):
        upcoming = f"{next_run:%Y-%m-%d %H:%M}" + (" (late)" if next_run < now else "")
    else:  # why there is none: "schedule inactive", "no schedule" (None: not deployed)
        upcoming = next_run or ""
    return [row["STRM_NAME"], str(row["PRCS_DATE"] or ""), str(row["PRCS_INST_ID"] or ""), str(status),
            row["FAILED_STAGE"] or "", duration, str(row["LAST_GOOD_DATE"] or ""), upcoming,
            _parallel_run(row.get("PARALLEL_RUN")), reason]


def _parallel_run(compared: dict[str, Any] | None) -> str:
    """``MATCH, 12 days in a row`` (the latest business day compared and the streak), or empty."""
    if not compared:
        return ""
    days = int(compared["DAYS_IN_A_ROW"] or 0)
    return f"{compared['LATEST_VERDICT']}, {days} day{'s' * (days != 1)} in a row" if days else "MISMATCH"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _cell(text: str | None, limit: int = 160) -> str:
    """One table cell: one line, no pipe, bounded."""
    flat = " ".join((text or "").split()).replace("|", "/")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
