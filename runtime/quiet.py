"""Quiet output, installed by every entry point (``flows/__init__.py``, ``bench/__init__.py``)::

    from runtime import quiet
    quiet.install()

* No teardown noise after the work is done: DuckDB's bindings print a nanobind "leaked ..." report (30-40
  lines) on stderr while the interpreter shuts down, after every result, log and exit handler. An exit
  handler, registered early (exit handlers run last-registered first), points stderr at /dev/null for the
  interpreter's own teardown; the exit status is untouched.
* One line, not a traceback, for the errors DCF raises on purpose: a DcfError (a refusal, a config error, a
  failed stage) already says what went wrong and what to do; Prefect's run loggers lose its traceback.
* No hook chatter: Prefect logs two lines per state hook that ran fine ("Running hook 'dcf-activity-running'
  …", "Hook … finished running successfully"), two dozen per run; a hook that fails is still logged.

``DCF_DEBUG=1`` turns both off. This module must not import Prefect: it runs before Prefect's settings are
read (``make run`` sets some of them first).
"""

from __future__ import annotations

import atexit
import logging
import os
import sys

from dcf.errors import DcfError

#: Prefect's loggers that report a failed flow or task run with its traceback.
_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
_installed = False


def install() -> None:
    global _installed
    if _installed or os.environ.get("DCF_DEBUG") == "1":
        return
    _installed = True
    atexit.register(_silence_teardown)
    for name in _RUN_LOGGERS:
        logging.getLogger(name).addFilter(_OneLineForExpectedErrors())
        logging.getLogger(name).addFilter(_NoHookChatter())


class _NoHookChatter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        message = record.getMessage()
        return not (message.startswith("Running hook '") or
                    (message.startswith("Hook '") and message.endswith("finished running successfully")))


class _OneLineForExpectedErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], DcfError):
            record.exc_info, record.exc_text = None, None
        return True


def _silence_teardown() -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stderr.fileno())
    except (OSError, ValueError):  # no real stderr (captured, closed): nothing to silence
        pass
