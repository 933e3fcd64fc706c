"""Import Great Expectations in the background, so the profile stage does not start by waiting for it.

    from dcf.profiling.warm_up import warm_up_in_background
    warm_up_in_background()          # at the start of a run that will profile; returns at once

Importing GE costs seconds (it imports all its expectations, pandas with them) and its first data context
costs a few hundred milliseconds more (marshmallow copies its schemas on first use). A stream run reaches its
profile stage only after its dbt build; on a remote warehouse (Snowflake) the run's main thread spends most
of that time waiting on the network, and a daemon thread started at the beginning of the run pays for GE in
those waits. When the profile stage comes, ``from dcf.profiling import gx`` either finds the module ready or
waits for the rest of the import under Python's own import lock, never importing twice.

Not on the embedded DuckDB: there the run's threads hardly wait (measured: a background import made the
dbt stage 4-5 s slower and the run no faster), so ``make run`` imports GE before the flow starts instead.

If the background import fails, nothing is lost: the stage imports GE itself and reports the real error.
"""

from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)

_started: threading.Thread | None = None
_lock = threading.Lock()


def warm_up_in_background() -> threading.Thread:
    """Start the warm-up once per process (later calls return the same thread)."""
    global _started
    with _lock:
        if _started is None:
            _started = threading.Thread(target=_warm_up, name="dcf-profiling-warm-up", daemon=True)
            _started.start()
        return _started


def _warm_up() -> None:
    try:
        gx = importlib.import_module("dcf.profiling.gx")
        gx.first_context()
    except Exception as error:  # the profile stage imports it again and says what is wrong
        log.debug("warming up Great Expectations failed: %s", error)
