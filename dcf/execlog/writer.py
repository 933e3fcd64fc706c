"""The one buffered writer of the dbt execution log for an invocation: events in, batched MERGEs out.

dbt's worker threads only append small :class:`~dcf.execlog.fold.NodeEvent` records to a deque (cheap,
lock-free); one writer thread wakes up, folds what arrived into the :class:`~dcf.execlog.fold.JobState`,
and writes every row that changed with ONE MERGE into PROCESS_EXECUTION_LOG (plus, when models finished, one
batched COUNT of their destinations). There are never two round trips per model, and there is exactly one
writer per table per invocation — no UPDATE storm from dbt's threads (Snowflake aborts a statement when more
than 20 wait on one table's lock).

The writer wakes every ``interval`` seconds at first, then every third of the build's elapsed time, up to
a minute (:func:`flush_wait`): a model's RUNNING row and its end state show up within a second early in a
build and within a third of its age later, and a build's statements grow with the logarithm of its
duration instead of with it (N=200 models: ~17 s, about 10 flushes; N=1,000: ~100 s, about 16).

    writer = ExecutionLogWriter(conn, project, config)        # conn: the control store
    writer.start()
    ... dbt callbacks: writer.submit(invocation_id, event) ...
    writer.close(success=..., failure=None)                   # final flush, whatever the outcome

A failed write is logged and retried at the next flush; the writer never raises into dbt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import datetime
from typing import Any

from dcf.execlog.facts import JobConfig, NodeEvent, ProjectFacts
from dcf.execlog.fold import JobState, ModelState
from dcf.store.clock import utcnow
from dcf.store.connection import Connection
from dcf.store.schema import DBT_MODEL_EXECUTIONS, DBT_PLATFORM_JOB_RUNS, PROCESS_EXECUTION_LOG

log = logging.getLogger("dcf.exec_log")

#: Seconds between the first flushes of a build.
FLUSH_INTERVAL_SECONDS = 1.0
#: Later, the wait is this fraction of the build's elapsed time ...
FLUSH_GROWTH = 1 / 3
#: ... but never more than this many seconds.
MAX_FLUSH_INTERVAL_SECONDS = 60.0

#: A finished row is never moved back by a late or re-delivered RUNNING state.
NO_REGRESSION = "t.EXECUTION_COMPLETED_IND = 'N' OR s.EXECUTION_COMPLETED_IND = 'Y'"
#: INSERT_TWSTP keeps the first write's time.
_UPDATE_COLUMNS = [c for c in PROCESS_EXECUTION_LOG.column_names
                   if c not in ("PROCESS_EXECUTION_LOG_SK", "PROCESS_STEP_ID", "INSERT_TWSTP")]


def flush_wait(elapsed: float, interval: float = FLUSH_INTERVAL_SECONDS) -> float:
    """Seconds until the next flush of a build ``elapsed`` seconds old (``interval``: the shortest wait)."""
    return max(interval, min(MAX_FLUSH_INTERVAL_SECONDS, elapsed * FLUSH_GROWTH))


class ExecutionLogWriter:
    """Buffers dbt node events of one invocation and writes them in batches (see module docstring)."""

    def __init__(self, conn: Connection, project: ProjectFacts, config: JobConfig, *,
                 interval: float = FLUSH_INTERVAL_SECONDS, count_with: Connection | None = None) -> None:
        self.conn = conn
        #: where destination row counts are read: the control store unless the models live elsewhere
        self.count_with = count_with or conn
        self.project = project
        self.config = config
        self.interval = interval
        self.job: JobState | None = None
        self.last_error: str | None = None
        self._events: deque[tuple[str, NodeEvent | None, datetime]] = deque()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._count_rows = True
        self._job_run_written = False

    # -- called from dbt's threads (must stay cheap) -----------------------------------------------------
    def submit(self, invocation_id: str, event: NodeEvent | None, ts: datetime) -> None:
        """Queue an event (``None``: the invocation started, no node event yet)."""
        self._events.append((invocation_id, event, ts))

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dcf-exec-log-writer", daemon=True)
        self._thread.start()

    def close(self, *, ended_at: datetime | None = None, failure: str | None = None,
              invocation_id: str | None = None, cancelled: bool = False) -> JobState | None:
        """Stop the thread and write the final state: the JOB row ends SUCCESS or FAILED, cost rows go out.

        ``failure`` marks the invocation as broken or interrupted (``cancelled``: by an operator's cancel, so
        the JOB row and the rows of models still running end CANCELLED); ``invocation_id`` lets a job that
        produced no event at all (dbt failed before its first one) still get its FAILED JOB row.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._flush_lock:
            self._drain()
            if self.job is None and invocation_id:
                self._open_job(invocation_id, ended_at or utcnow())
            if self.job is not None:
                self.job.finish(ended_at or utcnow(), failure=failure, cancelled=cancelled and failure is not None)
        self.flush(final=True)
        return self.job

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(flush_wait(time.monotonic() - started, self.interval)):
            self.flush()

    # -- flushing ----------------------------------------------------------------------------------------
    def flush(self, *, final: bool = False) -> None:
        """Fold queued events into the state and write what changed. Never raises."""
        with self._flush_lock:
            self._drain()
            job = self.job
            if job is None:
                return
            job_dirty, models = job.take_dirty()
            try:
                self._write(job, job_dirty, models, final=final)
                self.last_error = None
            except Exception as error:  # a control-store hiccup must not break the build
                job.mark_dirty(job_dirty, models)
                self.last_error = f"{type(error).__name__}: {error}"
                log.warning("execution log write failed (%s); retrying at the next flush", self.last_error)

    def _write(self, job: JobState, job_dirty: bool, models: list[ModelState], *, final: bool) -> None:
        now = utcnow()
        self._count_destinations(job, models)
        rows = []
        if job_dirty:
            job.inserted_at = job.inserted_at or now
            rows.append(job.job_row(now))
        for model in models:
            model.inserted_at = model.inserted_at or now
            rows.append(job.model_row(model, now))
        if rows:
            self.conn.merge(PROCESS_EXECUTION_LOG, rows, update=_UPDATE_COLUMNS, matched_condition=NO_REGRESSION)
        if not self._job_run_written:
            self.conn.merge(DBT_PLATFORM_JOB_RUNS, [job.platform_job_run_row(now)])
            self._job_run_written = True
        if final:
            self.conn.merge(DBT_MODEL_EXECUTIONS, job.model_execution_rows(now))

    def _count_destinations(self, job: JobState, models: list[ModelState]) -> None:
        """One COUNT(*) statement for every model that finished since the last flush and has no row count."""
        todo = [m for m in models if m.needs_count(self.config.count_views)]
        if not todo or not self._count_rows:
            return
        sql = " UNION ALL ".join(
            f"SELECT {i} AS i, COUNT(*) AS n FROM {m.facts.relation_name}" for i, m in enumerate(todo)
        )
        try:
            counts = dict(self.count_with.fetchall(sql))
        except Exception as error:  # another database, no privilege: log without counts from now on
            self._count_rows = False
            log.warning("cannot count model rows (%s); SOURCE_DATA_CNT stays NULL for this invocation", error)
            return
        for i, model in enumerate(todo):
            job.set_rows(model.facts.unique_id, int(counts[i]) if counts.get(i) is not None else None)

    def _drain(self) -> None:
        while self._events:
            invocation_id, event, ts = self._events.popleft()
            if self.job is None:
                self._open_job(invocation_id, ts)
            if event is not None and self.job is not None and invocation_id == self.job.invocation_id:
                self.job.apply(event)

    def _open_job(self, invocation_id: str, ts: datetime) -> None:
        self.job = JobState(invocation_id=invocation_id, started_at=ts, project=self.project, config=self.config)

    def summary(self) -> dict[str, Any]:
        """Statements sent so far and the last write error, for benchmarks and the outcome."""
        return {"statements": self.conn.statements, "last_error": self.last_error}
