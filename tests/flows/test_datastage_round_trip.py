"""An imported DataStage sequence validates and runs for real through the stream flow."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from tests.datastage.test_import import DSX, LEGACY, XML, build_isx
from tests.flows.test_sequence import _Webhook
from tests.streams import query

pytestmark = pytest.mark.e2e


def test_imported_sequences_validate_and_one_runs_with_the_rows_its_graph_says(prefect_api, tmp_path, monkeypatch):
    job_map = tmp_path / "job_map.yaml"
    # the two job activities run side by side: selections that do not read each other's models
    job_map.write_text(yaml.safe_dump({"PxLoadCustomers": "+stg_customers", "PxLoadOrders": ["+stg_orders"],
                                       "PxWeekly": "+stg_orders", "PxLegacy": "+stg_orders",
                                       "notify": _Webhook().block()}))
    streams = tmp_path / "streams"
    from flows.import_datastage import import_datastage
    from flows.stream_load import stream_load

    written = import_datastage(exports=[str(DSX), str(XML), str(build_isx(tmp_path / "daily.isx")), str(LEGACY)],
                               out=str(streams), job_map=str(job_map), dbt_project_dir="tests/fixtures/shop_dbt")
    assert written == {"streams_written": 5, "parameter_sets_written": 1, "problems": 1}, \
        "five sequences and their parameter set; the job-control server job reported"
    assert _artifact("datastage-migration-report").startswith("# DataStage migration report")
    # the run says what it did: its name, its final message and its log
    run, logs = _last_run("import-datastage", logged="item(s) need attention; report: ")
    assert run.name == f"import-{DSX.stem}+3", run.name
    assert run.state.message.startswith("5 stream YAML(s) and 1 parameter set(s) written to ")
    assert any("item(s) need attention; report: " in message for message in logs)
    monkeypatch.setenv("DCF_STREAMS_DIR", str(streams))

    for path in sorted(streams.glob("*.yaml")):
        name = path.stem.upper()
        state = stream_load(stream=name, mode="VALIDATE", return_state=True)
        assert state.is_completed(), f"{name}: {state.message}"

    state = stream_load(stream="SQDAILY", process_date=date(2024, 3, 1), return_state=True)

    assert state.is_completed(), state.message
    rows = {r["PRCS_NAME"]: r["PRCS_STATUS"] for r in query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG")}
    # pMode defaults to full: the flag is Y, so the condition's branch runs and its otherwise branch is skipped
    assert {k: rows[k] for k in ("UV_Init", "Ja_Customers", "Ja_Orders", "Cmd_Report", "Term_Skip")} == {
        "UV_Init": "COMPLETED", "Ja_Customers": "COMPLETED", "Ja_Orders": "COMPLETED", "Cmd_Report": "COMPLETED",
        "Term_Skip": "SKIPPED"}
    [report] = query("SELECT PRCS_STATISTICS FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = 'Cmd_Report'")
    # the last word is the shared parameter set's member, read from parameter_sets/PS_Orders.yaml
    assert '"$CommandOutput": "report full Y EMEA"' in report["PRCS_STATISTICS"]
    jobs = query("SELECT COUNT(*) AS N FROM DCF.PROCESS_EXECUTION_LOG WHERE RECORD_TYPE = 'JOB'")[0]["N"]
    assert jobs == 2, "each imported job activity is one dbt build"


def _last_run(flow_name: str, logged: str):
    """The latest run of a flow and its log messages, once one of them holds ``logged`` (the run's logs reach
    the API in batches, after the run may have ended)."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import FlowRunSort

    deadline = time.monotonic() + 30
    with get_client(sync_client=True) as client:
        [run] = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
                                      sort=FlowRunSort.START_TIME_DESC, limit=1)
        while True:
            logs = [log.message for log in client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))]
            if any(logged in message for message in logs) or time.monotonic() > deadline:
                return run, logs
            time.sleep(0.5)


def _artifact(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        versions = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return str(max(versions, key=lambda a: a.created).data)


def test_the_import_flow_converts_parallel_jobs_and_says_how_much(prefect_api, tmp_path):
    """The import flow with ``dbt_out``: the dbt project is written, the run's data and message give the totals
    (jobs by tier, stages, derivations), and the artifact has the parallel jobs' section."""
    from flows.import_datastage import import_datastage
    from tests.datastage.corpus import PARALLEL, parallel_key

    state = import_datastage(exports=[str(PARALLEL / "DEMO_DWH_parallel.isx")], out=str(tmp_path / "out"),
                             dbt_out=str(tmp_path / "dbt"), validate_streams=False, return_state=True)

    assert state.is_completed(), state.message
    counts = state.result()["parallel_jobs"]
    assert counts["jobs"] == len(parallel_key()) == 10
    assert counts["jobs_AUTO"] + counts["jobs_SEMI"] + counts["jobs_MANUAL"] == 10
    assert f"{counts['derivations_translated']} of {counts['derivations']} derivations translated" in state.message
    assert (tmp_path / "dbt" / "dbt_project.yml").exists()
    artifact = _artifact("datastage-migration-report")
    assert "## Parallel jobs → dbt models" in artifact and "| PX_TRUNCATE_STAGE | SEMI |" in artifact
