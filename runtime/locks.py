"""One instance per stream, and one writer at a time on the local DuckDB file.

Local default: an OS file lock per stream under ``$DCF_HOME/locks`` is taken before anything touches the
warehouse. A second run of the same stream is refused at once with a clear message and writes nothing.
Runs of different streams then queue for the single-writer DuckDB file instead of failing on DuckDB's own
lock. The OS releases both locks when a process dies, SIGKILL included, so a crash never leaves a stale
lock behind.

Snowflake: the process-instance allocation refuses a second RUNNING instance inside its transaction
(:func:`dcf.store.control.allocate_instance`), and deployments carry a concurrency limit of 1 (prefect.yaml).
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from blocks.default_warehouse import load_warehouse
from blocks.local_warehouse import Warehouse
from dcf.errors import RefusedError, WarehouseBusyError
from dcf.paths import dcf_home
from dcf.stream.run import StreamRun
from runtime.log import flow_logger


def lock_path(name: str) -> Path:
    folder = dcf_home() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".lock")


@contextmanager
def file_lock(path: Path, *, wait_seconds: float, what: str) -> Iterator[None]:
    """Hold an exclusive flock on ``path``; wait up to ``wait_seconds`` (0: do not wait)."""
    handle = path.open("a+")
    try:
        deadline = time.monotonic() + wait_seconds
        announced = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(what) from None
                if not announced:
                    flow_logger().info("waiting for %s (held by another run)", what)
                    announced = True
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


@contextmanager
def stream_slot(run: StreamRun, warehouse: Warehouse | None = None, *,
                warehouse_wait_seconds: float = 3600.0) -> Iterator[None]:
    """Refuse a second instance of the stream; locally, also queue for the warehouse file (``warehouse``: the
    run's, when the caller has it loaded already)."""
    if not (warehouse or load_warehouse(run.warehouse_block)).single_writer:
        yield
        return
    with ExitStack() as stack:
        try:
            stack.enter_context(file_lock(lock_path(f"stream-{run.stream_name}"), wait_seconds=0,
                                          what=f"stream {run.stream_name}"))
        except TimeoutError:
            raise RefusedError(
                f"stream {run.stream_name} is already running (lock {lock_path(f'stream-{run.stream_name}')}); "
                "one instance per stream at a time — wait for it to finish or cancel it"
            ) from None
        try:
            stack.enter_context(_process_warehouse_lock(warehouse_wait_seconds))
        except TimeoutError:
            raise WarehouseBusyError(
                f"the local warehouse stayed busy for {warehouse_wait_seconds:.0f}s; try again later"
            ) from None
        yield


_HOLDERS = {"count": 0}
_HOLDERS_GUARD = threading.Lock()
_HELD_LOCK = ExitStack()


@contextmanager
def _process_warehouse_lock(wait_seconds: float) -> Iterator[None]:
    """The warehouse file lock, held once per process: a child stream run by a parent's ``stream:`` activity
    (a subflow in the same process) shares its parent's hold instead of waiting for it forever."""
    with _HOLDERS_GUARD:  # held while the first holder waits: nobody passes before the lock is taken
        if _HOLDERS["count"] == 0:
            _HELD_LOCK.enter_context(file_lock(lock_path("local-warehouse"), wait_seconds=wait_seconds,
                                               what="the local DuckDB warehouse"))
        _HOLDERS["count"] += 1
    try:
        yield
    finally:
        with _HOLDERS_GUARD:
            _HOLDERS["count"] -= 1
            if _HOLDERS["count"] == 0:
                _HELD_LOCK.close()
