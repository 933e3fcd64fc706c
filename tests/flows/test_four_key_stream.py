"""The simplest stream is four keys: a public-style dbt project (seeds, views, tables, tests) runs as it is.

No invented quality or target, no hand-made raw table, no profiles.yml written by hand: the project's own
profile points at a relative ``shop.duckdb``, and the build goes to the stream's warehouse all the same.
"""

from __future__ import annotations

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
    assert query("SELECT COUNT(*) AS N FROM main.customers")[0]["N"] == 5
    # the warehouse is the only database written; the project folder is left exactly as it was
    assert [p.name for p in dcf_home().rglob("*.duckdb")] == ["warehouse.duckdb"]
    assert sorted(p.relative_to(SHOP_PROJECT) for p in SHOP_PROJECT.rglob("*")) == project_files
    assert not list(PROJECT_ROOT.rglob("shop.duckdb"))


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
