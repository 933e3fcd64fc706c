"""Notification activity: a message through Prefect notification blocks, recorded in DCF_T_NOTIFICATIONS
(PENDING, then SENT, or FAILED with the reason — and then the activity fails)."""

from __future__ import annotations

from typing import Any

from prefect.blocks.core import Block

from dcf.store.notifications import finish_notification, queue_notification
from dcf.store.statuses import NotificationType
from dcf.stream.activities import Activity
from dcf.stream.run import StreamRun
from runtime.connections import connect
from tasks.stage import StageFailed, StageResult


def send_to_blocks(names: list[str], *, subject: str, body: str) -> list[str]:
    """Notify through every named Prefect block; one line per block that failed (every block is tried)."""
    failures = []
    for name in names:
        try:
            Block.load(name).notify(body=body, subject=subject)
        except Exception as error:  # one broken channel must not hide the message from the others
            failures.append(f"{name}: {type(error).__name__}: {error}")
    return failures


def run(run: StreamRun, activity: Activity, inputs: dict[str, Any]) -> StageResult:
    blocks = activity.notify.blocks
    content = {"subject": inputs["subject"], "body": inputs["body"], "activity": inputs["row_name"]}
    with connect(run.warehouse_block) as conn:
        notification_id = queue_notification(conn, run.ref, NotificationType.ACTIVITY_NOTIFICATION, content, blocks,
                                              key=inputs["row_name"])
        failures = send_to_blocks(blocks, subject=inputs["subject"], body=inputs["body"] or inputs["subject"])
        finish_notification(conn, notification_id, error="; ".join(failures) or None)
    statistics = {"notification_id": notification_id, "channels": blocks}
    if failures:
        raise StageFailed("notification not delivered: " + "; ".join(failures), statistics)
    return StageResult(statistics)
