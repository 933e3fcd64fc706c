"""One profiling run of one table, recorded in PROFILE_RUNS and PROFILE_RESULTS (the spec's PROFILE_TABLE).

    from dcf.profiling import ProfileOptions, ProfileContext, run_profile

    outcome = run_profile(conn, "main.fct_plan_baln_segm_mstr", ProfileOptions(approximate=True),
                          context=ProfileContext(job_name="notebook"))
    outcome.run_id, outcome.profile.row_count

Bad input (unknown table or column, a bad sample rate) is refused before anything is written. Once the
run is RUNNING, any failure — a database error, an interrupt — ends it FAILED with ERROR_CODE and
ERROR_MESSAGE before the error propagates: no run is left RUNNING by an error this process survives.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from dcf.profiling.engine import TableProfile, profile_table, ready_source
from dcf.profiling.options import ProfileOptions
from dcf.profiling.records import ProfileContext, RunStatus, finish_run, start_run
from dcf.profiling.relation import Relation, resolve_relation
from dcf.profiling.source import Source
from dcf.store.clock import utcnow
from dcf.store.connection import Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProfileRun:
    run_id: str
    relation: Relation
    profile: TableProfile


def run_profile(
    conn: Connection,
    table: Relation | str,
    options: ProfileOptions | None = None,
    *,
    source: Source | None = None,
    context: ProfileContext | None = None,
    run_id: str | None = None,
) -> ProfileRun:
    """Profile ``table`` and record the run: RUNNING, then SUCCEEDED with its results, or FAILED."""
    options = options or ProfileOptions()
    relation = table if isinstance(table, Relation) else resolve_relation(conn, table)
    source = ready_source(conn, source)  # refused here, before the run is recorded
    run_id = run_id or str(uuid.uuid4())
    start_run(conn, relation, options, context, run_id=run_id)
    try:
        profile = profile_table(conn, relation, options, source=source)
        finish_run(
            conn, run_id, RunStatus.SUCCEEDED,
            row_count=profile.row_count, results=profile.result_rows(run_id, utcnow()),
        )
    except BaseException as error:  # interrupts too: the run must not stay RUNNING
        _record_failure(conn, run_id, error)
        raise
    return ProfileRun(run_id, relation, profile)


def _record_failure(conn: Connection, run_id: str, error: BaseException) -> None:
    try:
        finish_run(conn, run_id, RunStatus.FAILED, error=error)
    except Exception as failure:  # the original error matters more; a sweeper handles what is left
        log.error("could not record profile run %s as FAILED: %s", run_id, failure)
