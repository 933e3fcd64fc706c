"""A logger that is Prefect's run logger inside a run and a plain logger outside one.

    logger = flow_logger()
"""

from __future__ import annotations

import logging

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger


def flow_logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("dcf")
