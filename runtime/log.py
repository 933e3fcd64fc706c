"""Logging for flows and tasks: Prefect's run logger inside a run, a plain logger outside one; and one line,
not a traceback, for the errors DCF raises on purpose.

    logger = flow_logger()
    quiet_expected_errors()       # flows/__init__.py does it for every entry point (DCF_DEBUG=1: tracebacks)
"""

from __future__ import annotations

import logging
import os

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

from dcf.errors import DcfError

#: Prefect's loggers that report a failed flow or task run with its traceback.
_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


def flow_logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("dcf")


class _OneLineForExpectedErrors(logging.Filter):
    """A DcfError (a refusal, a config error, a failed stage) already says in its message what went wrong and
    what to do: its traceback only buries that on the console and in the UI."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], DcfError):
            record.exc_info, record.exc_text = None, None
        return True


def quiet_expected_errors() -> None:
    if os.environ.get("DCF_DEBUG") == "1":
        return
    for name in _RUN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _OneLineForExpectedErrors) for f in logger.filters):
            logger.addFilter(_OneLineForExpectedErrors())
