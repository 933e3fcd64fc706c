"""Publish the stream status board: the control tables' view (:mod:`dcf.stream.status_board`) plus the next
scheduled run of each stream from Prefect, as one markdown artifact per project (key ``dcf-stream-status-board``).

    markdown = publish_status_board(warehouse_block=None)     # every stream run and reconcile call it
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort

from dcf.store.clock import utcnow
from dcf.stream.status_board import board_markdown, board_rows
from runtime.connections import connect
from runtime.log import flow_logger

STATUS_BOARD_KEY = "dcf-stream-status-board"
STREAM_FLOW = "stream-load"


def next_scheduled_runs() -> dict[str, datetime | str]:
    """Stream name -> expected start (naive UTC) of its earliest scheduled stream-load run; for a deployed stream
    with none, why: "schedule inactive" (every schedule off, or the deployment paused) or "no schedule"."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[STREAM_FLOW])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=200)
        deployments = client.read_deployments(flow_filter=FlowFilter(name=FlowFilterName(any_=[STREAM_FLOW])))
    upcoming: dict[str, datetime | str] = {}
    for run in runs:
        stream = (run.parameters or {}).get("stream")
        if stream and run.expected_start_time and stream not in upcoming:
            upcoming[stream] = run.expected_start_time.astimezone(UTC).replace(tzinfo=None)
    for deployment in deployments:
        stream = (deployment.parameters or {}).get("stream")
        if stream and stream not in upcoming:
            active = [s for s in deployment.schedules or [] if s.active] and not deployment.paused
            upcoming[stream] = "no schedule" if not deployment.schedules else "" if active else "schedule inactive"
    return upcoming


def publish_status_board(warehouse_block: str | None = None) -> str | None:
    """Write the board artifact; returns its markdown. Never fails its caller: a board is not worth a run."""
    try:
        with connect(warehouse_block) as conn:
            rows = board_rows(conn)
        markdown = board_markdown(rows, now=utcnow(), next_runs=next_scheduled_runs())
        create_markdown_artifact(markdown=markdown, key=STATUS_BOARD_KEY,
                                 description="Every stream: latest instance, failed stage and reason, next run")
        return markdown
    except Exception as error:  # the board is a view: a failure to draw it is logged, never raised
        flow_logger().warning("could not publish the stream status board: %s: %s", type(error).__name__, error)
        return None
