"""PROFILE_RUNS and PROFILE_RESULTS: the only code that writes them, and the run state machine.

    run_id = start_run(conn, relation, options, ProfileContext(job_name="profile-tables"))    # RUNNING
    finish_run(conn, run_id, RunStatus.SUCCEEDED, row_count=n, results=profile.result_rows(run_id, now))
    # or: finish_run(conn, run_id, RunStatus.FAILED, error=exc)

A run moves only RUNNING -> SUCCEEDED | FAILED (:func:`check_transition`); FINISHED_AT is set exactly
when it ends. Every write is a MERGE on the key after a check of the current status (one transaction on DuckDB), and
the MERGE itself only touches a row that is still RUNNING — so a retried or repeated write changes
nothing, and a finished run is never moved again.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dcf.errors import IllegalTransitionError
from dcf.paths import PROJECT_ROOT
from dcf.profiling.options import ProfileOptions
from dcf.profiling.relation import Relation
from dcf.profiling.source import session_names
from dcf.store.clock import exec_user, utcnow
from dcf.store.connection import Connection
from dcf.store.schema import PROFILE_RESULTS, PROFILE_RUNS
from dcf.store.statuses import ProfileStatus

#: PROFILE_RUNS.STATUS, under the name the profiling code has always used.
RunStatus = ProfileStatus


#: The only moves a run may make. CANCELLED / SKIPPED / TIMEOUT (spec: future) would be added here.
TRANSITIONS: dict[RunStatus | None, frozenset[RunStatus]] = {
    None: frozenset({RunStatus.RUNNING}),
    RunStatus.RUNNING: frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED}),
}
_FINAL_COLUMNS = ("FINISHED_AT", "STATUS", "ROW_COUNT", "ERROR_CODE", "ERROR_MESSAGE", "UPDATED_AT")


def check_transition(run_id: str, current: RunStatus | None, target: RunStatus) -> bool:
    """True when moving ``current`` -> ``target`` needs a write; False when it is a repeat of a write
    already made (starting a RUNNING run again, finishing a run again with the status it has).
    Any other move raises :class:`IllegalTransitionError`.

    >>> check_transition("r1", RunStatus.RUNNING, RunStatus.SUCCEEDED)
    True
    >>> check_transition("r1", RunStatus.SUCCEEDED, RunStatus.SUCCEEDED)
    False
    >>> check_transition("r1", RunStatus.SUCCEEDED, RunStatus.FAILED)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dcf.errors.IllegalTransitionError: profile run r1 is SUCCEEDED: it cannot become FAILED (allowed: ...)
    """
    if current is not None and current == target:
        return False
    if target in TRANSITIONS.get(current, frozenset()):
        return True
    state = "unknown" if current is None else current.value
    raise IllegalTransitionError(
        f"profile run {run_id} is {state}: it cannot become {target.value} (allowed: RUNNING -> SUCCEEDED | FAILED)"
    )


@functools.cache
def code_version() -> str | None:
    """Commit of the running code: $DCF_GIT_COMMIT or $GIT_COMMIT (set by CI/deploy), else the checkout's HEAD."""
    for variable in ("DCF_GIT_COMMIT", "GIT_COMMIT"):
        if os.environ.get(variable):
            return os.environ[variable][:64]
    try:
        out = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip()[:64] or None if out.returncode == 0 else None


@dataclass(frozen=True)
class ProfileContext:
    """Who and what started a run (all optional; NULL in PROFILE_RUNS when unknown)."""

    triggered_by: str | None = field(default_factory=exec_user)
    job_name: str | None = None
    request_id: str | None = None
    note: str | None = None
    git_commit: str | None = field(default_factory=code_version)


def get_run(conn: Connection, run_id: str) -> dict[str, Any] | None:
    return conn.row_by_key(PROFILE_RUNS, RUN_ID=run_id)


def start_run(
    conn: Connection,
    relation: Relation,
    options: ProfileOptions,
    context: ProfileContext | None = None,
    *,
    run_id: str,
    started_at: datetime | None = None,
) -> bool:
    """Record ``run_id`` as RUNNING; False (nothing written) when it already is."""
    context = context or ProfileContext()
    warehouse, role = session_names(conn)
    row = {
        "RUN_ID": run_id,
        "TARGET_DB": relation.database,
        "TARGET_SCHEMA": relation.schema,
        "TARGET_TABLE": relation.table,
        "STARTED_AT": started_at or utcnow(),
        "FINISHED_AT": None,
        "STATUS": RunStatus.RUNNING.value,
        "SAMPLE_RATE": options.sample_rate,
        "SAMPLE_SEED": options.sample_seed,
        "ROW_COUNT": None,
        "WAREHOUSE_NAME": warehouse,
        "ROLE_NAME": role,
        "GIT_COMMIT": context.git_commit,
        "NOTE": context.note,
        "ERROR_CODE": None,
        "ERROR_MESSAGE": None,
        "TRIGGERED_BY": context.triggered_by,
        "JOB_NAME": context.job_name,
        "REQUEST_ID": context.request_id,
        "UPDATED_AT": None,
    }
    with _guarded(conn):
        if not check_transition(run_id, _status(conn, run_id), RunStatus.RUNNING):
            return False
        # update=(): insert-only, an existing row is never touched by a start
        conn.merge(PROFILE_RUNS, [row], update=())
    return True


def finish_run(
    conn: Connection,
    run_id: str,
    status: RunStatus,
    *,
    row_count: int | None = None,
    results: Sequence[dict[str, Any]] = (),
    error: BaseException | None = None,
    finished_at: datetime | None = None,
) -> bool:
    """End a RUNNING run as SUCCEEDED (with its results) or FAILED (with the error); atomically.

    Returns False and writes nothing when the run already ended with ``status`` (a repeated write).
    """
    if status is RunStatus.RUNNING:
        raise IllegalTransitionError(f"profile run {run_id}: finish_run needs SUCCEEDED or FAILED, not RUNNING")
    now = finished_at or utcnow()
    row = {
        "RUN_ID": run_id,
        "FINISHED_AT": now,
        "STATUS": status.value,
        "ROW_COUNT": row_count if status is RunStatus.SUCCEEDED else None,
        "ERROR_CODE": type(error).__name__[:100] if error is not None else None,
        "ERROR_MESSAGE": _error_text(error),
        "UPDATED_AT": now,
    }
    with _guarded(conn):
        if not check_transition(run_id, _status(conn, run_id), status):
            return False
        # Results before the status: a run is never SUCCEEDED without its results, even where the two
        # writes are not one transaction (Snowflake, below).
        write_results(conn, results)
        # The condition keeps the database itself from moving a run that is no longer RUNNING.
        conn.merge(PROFILE_RUNS, [row], update=_FINAL_COLUMNS, matched_condition=f"t.STATUS = '{RunStatus.RUNNING}'")
        if _status(conn, run_id) is not status:
            raise IllegalTransitionError(f"profile run {run_id} was finished by another writer")
    return True


class OrphanedRun(Exception):
    """ERROR_CODE of a run closed by :func:`close_orphaned_runs`: its process died without recording an end."""


def close_orphaned_runs(conn: Connection, older_than: timedelta) -> list[str]:
    """End as FAILED every run still RUNNING that started more than ``older_than`` ago; returns their ids.

    A SIGKILLed or crashed process records nothing; this is the sweeper for what it leaves behind (a
    reconcile flow can call it). Each run goes through :func:`finish_run`, so the state machine holds.
    """
    cutoff = utcnow() - older_than
    stale = conn.fetchall(
        f"SELECT RUN_ID FROM {conn.qualify(PROFILE_RUNS.name)} WHERE STATUS = :running AND STARTED_AT < :cutoff",
        {"cutoff": cutoff, "running": RunStatus.RUNNING},
    )
    closed = []
    for (run_id,) in stale:
        error = OrphanedRun(f"still RUNNING after {older_than}: the process that ran it ended without recording it")
        if finish_run(conn, run_id, RunStatus.FAILED, error=error):
            closed.append(run_id)
    return closed


def write_results(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert PROFILE_RESULTS rows on (RUN_ID, COLUMN_NAME, METRIC_NAME): writing twice never duplicates,
    and CREATED_AT keeps the first write's time."""
    if not rows:
        return
    columns = [name for name in PROFILE_RESULTS.column_names if name not in PROFILE_RESULTS.key]
    conn.merge(PROFILE_RESULTS, list(rows), update=[name for name in columns if name != "CREATED_AT"])


def _guarded(conn: Connection) -> AbstractContextManager[Any]:
    """Read-check-write as one unit where the engine allows it.

    DuckDB: a transaction, which dcf.store.connection serialises per file, so two writers cannot both pass the check.
    Snowflake: statement by statement — each MERGE is atomic and its ``t.STATUS = 'RUNNING'`` condition
    is the guard (and fakesnow cannot run a MERGE with VARCHAR(n) casts inside BEGIN ... COMMIT).
    """
    return conn.transaction() if conn.dialect.merge_in_transaction else nullcontext()


def _status(conn: Connection, run_id: str) -> RunStatus | None:
    value = conn.scalar(
        f"SELECT STATUS FROM {conn.qualify(PROFILE_RUNS.name)} WHERE RUN_ID = :run_id", {"run_id": run_id}
    )
    return None if value is None else RunStatus(value)


def _error_text(error: BaseException | None) -> str | None:
    if error is None:
        return None
    text = str(error).strip() or type(error).__name__
    return text[:4000]
