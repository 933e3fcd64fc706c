"""No teardown noise after the work is done: DuckDB's bindings print a nanobind "leaked ..." report (30-40
lines) on stderr while the interpreter shuts down, after every result, log and exit handler.

:func:`install` adds an exit handler that, once the other handlers have run (it is registered early, and
exit handlers run last-registered first), points stderr at /dev/null for the interpreter's own teardown.
The exit status is untouched. ``DCF_DEBUG=1`` keeps stderr open to the end.

    from runtime import quiet_exit
    quiet_exit.install()          # every flow module does it through flows/__init__.py
"""

from __future__ import annotations

import atexit
import os
import sys

_installed = False


def install() -> None:
    global _installed
    if _installed or os.environ.get("DCF_DEBUG") == "1":
        return
    _installed = True
    atexit.register(_silence_teardown)


def _silence_teardown() -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stderr.fileno())
    except (OSError, ValueError):  # no real stderr (captured, closed): nothing to silence
        pass
