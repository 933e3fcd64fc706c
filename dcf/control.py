"""Reads and writes of the DCF control tables. Flows and tasks call these; they never hold SQL.

Every write is a MERGE on the table's key, so repeating it (a retry, a re-run) never duplicates a row.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Any

from dcf.config import LoadedStream
from dcf.db import Connection
from dcf.schema import DCF_T_STRM


def utcnow() -> datetime:
    """Naive UTC, as stored in TIMESTAMP / TIMESTAMP_NTZ columns."""
    return datetime.now(UTC).replace(tzinfo=None)


def exec_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def register_streams(conn: Connection, streams: list[LoadedStream]) -> list[str]:
    """Upsert DCF_T_STRM from the stream YAMLs; return what changed (nothing when already current)."""
    existing = {
        row["STRM_ID"]: row
        for row in conn.fetch_dicts(
            f"SELECT STRM_ID, STRM_NAME, STRM_STATUS, CONFIG_HASH, CREATED_TS FROM {conn.qualify(DCF_T_STRM.name)}"
        )
    }
    now = utcnow()
    rows: list[dict[str, Any]] = []
    changes: list[str] = []
    for loaded in streams:
        info = loaded.config.stream
        before = existing.get(info.id)
        if before and before["CONFIG_HASH"] == loaded.sha256 and before["STRM_NAME"] == info.name:
            continue
        changes.append(f"{'updated' if before else 'registered'} stream {info.id} {info.name} ({info.status})")
        rows.append(
            {
                "STRM_ID": info.id,
                "STRM_NAME": info.name,
                "STRM_DESC": info.description or None,
                "STRM_STATUS": info.status,
                "DATASTAGE_SEQUENCE": loaded.config.datastage.sequence if loaded.config.datastage else None,
                "CONFIG_PATH": str(loaded.path),
                "CONFIG_HASH": loaded.sha256,
                "CREATED_TS": before["CREATED_TS"] if before else now,
                "UPDATED_TS": now,
            }
        )
    conn.merge(DCF_T_STRM, rows)
    return changes
