"""The simplest stream is four keys: a public-style dbt project (seeds, views, tables, tests) runs as it is.

No invented quality or target, no hand-made raw table, no profiles.yml written by hand: the project's own
profile points at a relative ``shop.duckdb``, and the build goes to the stream's warehouse all the same.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from dcf.paths import PROJECT_ROOT, dcf_home
from tests.streams import query

pytestmark = pytest.mark.e2e
SHOP_PROJECT = PROJECT_ROOT / "tests" / "fixtures" / "shop_dbt"
SHOP_YAML = PROJECT_ROOT / "tests" / "fixtures" / "shop_stream.yaml"
SEEDS = {"raw_customers", "raw_orders", "raw_payments"}
MODELS = {"stg_customers", "stg_orders", "stg_payments", "orders", "customers"}


def _streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **dbt: str) -> Path:
    data = yaml.safe_load(SHOP_YAML.read_text())
    data["dbt"].update(dbt)
    streams = tmp_path / "streams"
    streams.mkdir()
    (streams / "shop.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv("DCF_STREAMS_DIR", str(streams))
    return streams


def _run():
    from flows.stream_load import stream_load

    return stream_load(stream="SHOP_DAILY", process_date=date(2024, 3, 1), return_state=True)


def test_the_four_key_stream_builds_a_public_style_project_into_the_warehouse(prefect_api, tmp_path, monkeypatch):
    project_files = sorted(p.relative_to(SHOP_PROJECT) for p in SHOP_PROJECT.rglob("*"))
    _streams(tmp_path, monkeypatch)

    state = _run()

    assert state.is_completed() and state.name == "Completed", state.message
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert (instance["STRM_ID"], instance["PRCS_STATUS"]) == (3101, "SUCCEEDED")
    stages = {r["PRCS_NAME"]: r["PRCS_STATUS"] for r in query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG")}
    assert stages == dict.fromkeys(["validate", "process_id", "dbt_build", "metadata", "report"], "COMPLETED")
    rows = query("SELECT RECORD_TYPE, PROCESS_STEP_ID, EXECUTION_STATUS_NAME FROM DCF.PROCESS_EXECUTION_LOG")
    jobs = [r for r in rows if r["RECORD_TYPE"] == "JOB"]
    models = {r["PROCESS_STEP_ID"].rsplit("_MODEL_", 1)[1]: r["EXECUTION_STATUS_NAME"]
              for r in rows if r["RECORD_TYPE"] == "MODEL"}
    assert len(jobs) == 1 and jobs[0]["EXECUTION_STATUS_NAME"] == "SUCCESS"
    assert models == dict.fromkeys(SEEDS | MODELS, "SUCCESS"), "one MODEL row per model and per seed"
    # the JOB row's counts add up to the MODEL rows it parents, per resource type; views are counted too
    [job] = query("SELECT DESTINATION_DATA_CNT_OBJ, SOURCE_DATA_CNT FROM DCF.PROCESS_EXECUTION_LOG "
                  "WHERE RECORD_TYPE = 'JOB'")
    counts = json.loads(job["DESTINATION_DATA_CNT_OBJ"])
    assert (counts["model_rows"], counts["by_resource_type"], counts["views_counted"]) == \
        (8, {"model": 5, "seed": 3, "test": 20}, True)
    cells = query("SELECT PROCESS_STEP_ID, SOURCE_DATA_CNT FROM DCF.PROCESS_EXECUTION_LOG WHERE RECORD_TYPE = 'MODEL'")
    rows_by_node = {r["PROCESS_STEP_ID"].rsplit("_MODEL_", 1)[1]: r["SOURCE_DATA_CNT"] for r in cells}
    assert rows_by_node["stg_orders"] == 7 and rows_by_node["raw_payments"] == 8, "views and seeds have row counts"
    assert job["SOURCE_DATA_CNT"] == sum(rows_by_node.values())
    assert query("SELECT COUNT(*) AS N FROM main.customers")[0]["N"] == 5
    # the warehouse is the only database written; the project folder is left exactly as it was
    assert [p.name for p in dcf_home().rglob("*.duckdb")] == ["warehouse.duckdb"]
    assert sorted(p.relative_to(SHOP_PROJECT) for p in SHOP_PROJECT.rglob("*")) == project_files
    assert not list(PROJECT_ROOT.rglob("shop.duckdb"))
    board = _status_board()
    assert "| SHOP_DAILY | 2024-03-01 | 1 | SUCCEEDED |" in board, board
    _make_status_prints_the_board_without_a_flow_run()


def _make_status_prints_the_board_without_a_flow_run() -> None:
    from prefect.client.orchestration import get_client

    from flows.status import main

    with get_client(sync_client=True) as client:
        before = len(client.read_flow_runs())
        assert main([]) == 0
        assert len(client.read_flow_runs()) == before


def _status_board() -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        versions = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[
            "dcf-stream-status-board"])))
    return str(max(versions, key=lambda a: a.created).data)


def test_a_named_profiles_dir_that_writes_elsewhere_is_refused_before_any_row(prefect_api, tmp_path, monkeypatch):
    project = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, project)
    _streams(tmp_path, monkeypatch, project_dir=str(project), profiles_dir=str(project))

    state = _run()

    assert state.is_failed()
    message = state.message or ""
    assert "dbt.profiles_dir" in message and "shop.duckdb" in message and "warehouse.duckdb" in message, message
    assert query("SELECT COUNT(*) AS N FROM DCF.DCF_T_PRCS_INST")[0]["N"] == 0
    assert not (project / "shop.duckdb").exists()


def _instances() -> list[dict]:
    return query("SELECT PRCS_INST_ID, PRCS_STATUS, ERROR_MESSAGE FROM DCF.DCF_T_PRCS_INST ORDER BY PRCS_INST_ID")


def _attempts() -> dict[str, tuple[str, int]]:
    rows = query("SELECT PRCS_NAME, PRCS_STATUS, ATTEMPT FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_INST_ID = 1")
    return {r["PRCS_NAME"]: (r["PRCS_STATUS"], r["ATTEMPT"]) for r in rows}


def test_a_changed_yaml_refuses_a_normal_resume_and_reset_starts_over(prefect_api, tmp_path, monkeypatch):
    from flows.stream_load import stream_load

    project = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, project)
    orders = project / "models" / "marts" / "orders.sql"
    good = orders.read_text()
    orders.write_text(good.replace("o.status", "o.no_such_column"))
    streams = _streams(tmp_path, monkeypatch, project_dir=str(project))
    assert _run().is_failed()
    assert [(i["PRCS_INST_ID"], i["PRCS_STATUS"]) for i in _instances()] == [(1, "FAILED")]

    data = yaml.safe_load((streams / "shop.yaml").read_text())
    data["stream"]["description"] = "edited after the failure"
    (streams / "shop.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    orders.write_text(good)
    refused = _run()

    assert refused.is_failed()
    assert "stream YAML changed since process instance 1 started; run with mode=RESET" in (refused.message or "")
    assert [(i["PRCS_INST_ID"], i["PRCS_STATUS"]) for i in _instances()] == [(1, "FAILED")], "nothing reopened"

    reset = stream_load(stream="SHOP_DAILY", process_date=date(2024, 3, 1), mode="RESET", return_state=True)

    assert reset.is_completed(), reset.message
    assert [(i["PRCS_INST_ID"], i["PRCS_STATUS"]) for i in _instances()] == [(1, "CANCELLED"), (2, "SUCCEEDED")]


def test_a_resume_rebuilds_a_completed_dbt_stage_whose_project_changed(prefect_api, tmp_path, monkeypatch):
    project = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, project)
    streams = _streams(tmp_path, monkeypatch, project_dir=str(project))
    data = yaml.safe_load((streams / "shop.yaml").read_text())
    # the profile stage fails the run while the model it profiles does not exist yet
    data.update(profiling={"tables": ["customers_v2"]}, stages={"profile": {"stop_on_warnings": True}})
    (streams / "shop.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

    assert _run().is_failed()
    assert _attempts()["dbt_build"] == ("COMPLETED", 1) and _attempts()["profile"][0] == "FAILED"
    board = _status_board()
    assert "| SHOP_DAILY | 2024-03-01 | 1 | FAILED | profile |" in board, board
    assert "StageFailed: stage profile ended with warnings" in board, board
    assert _run().is_failed(), "nothing changed: the same failure"
    assert _attempts()["dbt_build"] == ("COMPLETED", 1), "an unchanged project: the build is restored, not re-run"

    (project / "models" / "marts" / "customers_v2.sql").write_text("select * from {{ ref('customers') }}\n")
    resumed = _run()

    assert resumed.is_completed(), resumed.message
    assert [(i["PRCS_INST_ID"], i["PRCS_STATUS"]) for i in _instances()] == [(1, "SUCCEEDED")]
    assert _attempts()["dbt_build"] == ("COMPLETED", 2), "the changed project was built again, not replayed"
    assert _attempts()["profile"][0] == "COMPLETED"
