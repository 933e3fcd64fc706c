from __future__ import annotations

from prefect import flow


@flow
def _add(a: int, b: int) -> int:
    return a + b


def test_flows_run_against_the_session_server(prefect_api):
    from prefect.client.orchestration import get_client

    assert _add(2, 3) == 5
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
    assert any(run.name and run.state and run.state.is_completed() for run in runs)
    assert str(client.api_url).rstrip("/") == prefect_api
