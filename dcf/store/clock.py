"""Time and user as the control tables store them: naive UTC timestamps, the OS user."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC, as stored in TIMESTAMP / TIMESTAMP_NTZ columns."""
    return datetime.now(UTC).replace(tzinfo=None)


def exec_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
