"""DCF_T_NOTIFICATIONS: load and failure reports, queued PENDING, then SENT or FAILED."""

from __future__ import annotations

from typing import Any

from dcf.store.clock import utcnow
from dcf.store.connection import Connection
from dcf.store.schema import DCF_T_NOTIFICATIONS
from dcf.store.stage_rows import InstanceRef
from dcf.store.statuses import NotificationStatus


# -- notifications (report) ---------------------------------------------------------------------------------
def queue_notification(conn: Connection, ref: InstanceRef, kind: str, content: dict[str, Any],
                       channels: list[str], *, key: str | None = None) -> str:
    """Queue a report as PENDING (re-queuing the same instance and kind, or ``key``, replaces it); returns its
    id, ``<PRCS_INST_ID>-<key or kind>``."""
    now = utcnow()
    notification_id = f"{ref.prcs_inst_id}-{key or kind}"
    conn.merge(
        DCF_T_NOTIFICATIONS,
        [
            {
                "NOTIFICATION_ID": notification_id, "NOTIFICATION_TYPE": kind, "STRM_ID": ref.strm_id,
                "STRM_NAME": ref.strm_name, "PRCS_INST_ID": ref.prcs_inst_id, "PRCS_DATE": ref.process_date,
                "NOTIFICATION_CONTENT": content, "NOTIFICATION_STATUS": NotificationStatus.PENDING,
                "DELIVERY_CHANNELS": channels,
                "DELIVERY_ERROR": None, "CREATED_TS": now, "SENT_TS": None, "UPDATED_TS": now,
            }
        ],
        update=["NOTIFICATION_CONTENT", "NOTIFICATION_STATUS", "DELIVERY_CHANNELS", "DELIVERY_ERROR", "SENT_TS",
                "UPDATED_TS"],
    )
    return notification_id


def finish_notification(conn: Connection, notification_id: str, *, error: str | None) -> None:
    now = utcnow()
    conn.execute(
        f"UPDATE {conn.qualify(DCF_T_NOTIFICATIONS.name)} SET NOTIFICATION_STATUS = :status, "
        "DELIVERY_ERROR = :error, SENT_TS = :now, UPDATED_TS = :now WHERE NOTIFICATION_ID = :id",
        {"status": NotificationStatus.FAILED if error else NotificationStatus.SENT,
         "error": error[:4000] if error else None, "now": now,
         "id": notification_id},
    )
