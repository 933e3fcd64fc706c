"""The real stream flow, SIGKILLed by its own process at a chosen moment (tests/flows/test_kills.py).

    python -m tests.kill_point POINT --stream NAME --process-date YYYY-MM-DD

POINT is ``validate:registered`` (the stream's DCF_T_STRM row is written, no instance yet),
``process_id:allocated`` (the instance is committed RUNNING and the stream claimed, its stage rows are not
written), ``stage:<name>`` (the stage's row was written RUNNING, its body has not run), ``ingest:loaded`` (a
file's rows are committed to the raw table, its lineage row is not written yet) or ``lifecycle:moved`` (a
file is in the archive, its lineage row does not say so yet). Only the moment is chosen here: what runs is
``flows.stream_load``'s own ``main`` with the real tasks, and the kill is a real SIGKILL, which no handler,
hook or ``finally`` sees.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _after(original: Callable[..., Any], when: Callable[..., bool] = lambda *a, **k: True) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if when(*args, **kwargs):
            _die()
        return result

    return call


def arm(point: str) -> None:
    kind, _, name = point.partition(":")
    if kind == "stage":
        import tasks.stage

        tasks.stage.write_stage = _after(tasks.stage.write_stage,
                                         lambda conn, ref, stage, status, **_: stage == name and status == "RUNNING")
    elif point == "validate:registered":
        import tasks.validate

        tasks.validate.register_streams = _after(tasks.validate.register_streams)
    elif point == "process_id:allocated":
        import tasks.process_id

        tasks.process_id.allocate_instance = _after(tasks.process_id.allocate_instance)
    elif point == "ingest:loaded":
        import tasks.kinds.ingest

        tasks.kinds.ingest.record_loaded_file = lambda *args, **kwargs: _die()
    elif point == "lifecycle:moved":
        import tasks.lifecycle

        tasks.lifecycle.archive_file = _after(tasks.lifecycle.archive_file)
    else:
        raise SystemExit(f"unknown kill point {point!r}")


if __name__ == "__main__":
    arm(sys.argv[1])
    from flows.stream_load import main

    sys.exit(main(sys.argv[2:]))
