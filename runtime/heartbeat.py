"""The process instance's heartbeat: while a run holds its instance, a daemon thread stamps HEARTBEAT_TS.

    with heartbeat(run):        # run.prcs_inst_id allocated; a no-op unless the stream sets stale_after
        ...

Reconcile (and the next run of the stream) takes a RUNNING instance whose heartbeat is older than the
stream's ``stale_after`` as dead when its process cannot be seen alive — how an owner on another host, or
in a container that is gone, is told from a long dbt model. It beats four times per ``stale_after`` (at most
once a minute), so one late beat never makes a live run look dead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from dcf.store.instances import beat
from dcf.stream.run import StreamRun
from runtime.connections import connect

_LOG = logging.getLogger(__name__)
#: The longest pause between two beats, in seconds.
MAX_INTERVAL = 60.0


@contextmanager
def heartbeat(run: StreamRun) -> Iterator[None]:
    stale_after = run.config.stream.stale_after
    if stale_after is None or run.prcs_inst_id is None:
        yield
        return
    interval = min(MAX_INTERVAL, stale_after.total_seconds() / 4)
    stop = threading.Event()
    thread = threading.Thread(target=_beat_until, args=(run, interval, stop), daemon=True,
                              name=f"heartbeat-{run.stream_name}")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 5)


def _beat_until(run: StreamRun, interval: float, stop: threading.Event) -> None:
    assert run.prcs_inst_id is not None
    try:
        with connect(run.warehouse_block) as conn:
            while not stop.wait(interval):
                beat(conn, run.prcs_inst_id)
    except Exception as error:  # a missed heartbeat is not the run's failure: reconcile judges by its age
        _LOG.warning("heartbeat of %s process instance %s stopped: %s", run.stream_name, run.prcs_inst_id, error)
