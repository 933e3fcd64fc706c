"""How a DCF command-line process ends: its logs sent, its exit handlers run, and no interpreter teardown.

    from runtime.process_exit import exit_process
    if __name__ == "__main__":
        exit_process(main())

Two costs of a plain ``sys.exit`` here. At exit ``logging.shutdown`` flushes each handler while holding that
handler's lock; when Prefect's log worker needs the same lock to finish, the flush waits out the worker's 5 s
deadlock guard and gives up (the last log lines then miss the API). Draining the worker first, with no lock
held, sends them at once. Then the interpreter's teardown of the thousands of modules dbt, Great Expectations
and Prefect import takes about 2 s and has DuckDB's bindings print a reference-leak report: nothing of the
run's is left to do by then, so the process ends once the exit handlers (Prefect's event and log workers, an
ephemeral server, multiprocessing's semaphores) have run.
"""

from __future__ import annotations

import atexit
import os
import sys


def send_buffered_logs(timeout: float = 30.0) -> None:
    """Block until Prefect's log worker has sent what it holds (no-op when Prefect's logging was never loaded)."""
    if "prefect.logging.handlers" not in sys.modules:
        return
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=timeout)


def run_exit_handlers() -> None:
    """Flush the standard streams, send the buffered logs, then run the exit handlers."""
    sys.stdout.flush()
    sys.stderr.flush()
    send_buffered_logs()
    atexit._run_exitfuncs()


def exit_process(code: int) -> None:
    """End the process with ``code`` once :func:`run_exit_handlers` has run."""
    run_exit_handlers()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
