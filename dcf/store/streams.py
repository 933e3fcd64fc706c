"""DCF_T_STRM: one row per stream, registered from the stream YAMLs.

Every write is a MERGE on the table's key, so repeating it never duplicates a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dcf.store.clock import utcnow
from dcf.store.connection import Connection
from dcf.store.schema import DCF_T_STRM


@dataclass(frozen=True)
class StreamRecord:
    """What DCF_T_STRM holds about one stream YAML (the stream definition builds it)."""

    strm_id: int
    name: str
    description: str | None
    status: str
    datastage_sequence: str | None
    config_path: str
    config_hash: str


def register_streams(conn: Connection, streams: list[StreamRecord]) -> list[str]:
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
    for record in streams:
        before = existing.get(record.strm_id)
        if before and before["CONFIG_HASH"] == record.config_hash and before["STRM_NAME"] == record.name:
            continue
        changes.append(f"{'updated' if before else 'registered'} stream {record.strm_id} {record.name} "
                       f"({record.status})")
        rows.append(
            {
                "STRM_ID": record.strm_id,
                "STRM_NAME": record.name,
                "STRM_DESC": record.description or None,
                "STRM_STATUS": record.status,
                "DATASTAGE_SEQUENCE": record.datastage_sequence,
                "CONFIG_PATH": record.config_path,
                "CONFIG_HASH": record.config_hash,
                "CREATED_TS": before["CREATED_TS"] if before else now,
                "UPDATED_TS": now,
            }
        )
    conn.merge(DCF_T_STRM, rows)
    return changes


def stream_row(conn: Connection, strm_id: int) -> dict[str, Any] | None:
    rows = conn.fetch_dicts(
        f"SELECT STRM_ID, STRM_NAME, STRM_STATUS FROM {conn.qualify(DCF_T_STRM.name)} WHERE STRM_ID = :id",
        {"id": strm_id},
    )
    return rows[0] if rows else None
