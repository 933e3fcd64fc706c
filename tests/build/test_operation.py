"""``dbt run-operation`` through the runner: a real dbt-duckdb project whose macro changes the warehouse, logged
as a JOB row with one MODEL row for the macro (execution type OPERATION), a failing macro's error kept."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from bench.synthetic_dbt import write_project
from dcf.build.request import BuildRequest
from dcf.build.runner import RunContext, run_dbt_build
from dcf.errors import DcfError
from dcf.store.connection import open_duckdb
from dcf.store.dialect import Namespace
from dcf.store.migrate import ensure_schema

MACROS = """
{% macro empty_table(table) %}
  {% do run_query('DELETE FROM ' ~ table) %}
{% endmacro %}

{% macro broken() %}
  {% do run_query('DELETE FROM no_such_table_anywhere') %}
{% endmacro %}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DCF_HOME", str(home))
    project = write_project(tmp_path / "project", 2, chain_length=2, tests_every=100)
    (project.root / "macros").mkdir(exist_ok=True)
    (project.root / "macros" / "housekeeping.sql").write_text(MACROS)
    warehouse = home / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as db:
        db.execute("CREATE TABLE main.stage_rows AS SELECT range AS id FROM range(5)")
    conn = open_duckdb(warehouse, Namespace("DCF"))
    ensure_schema(conn)
    yield project, conn, warehouse
    conn.close()


def _request(project, warehouse: Path, macro: str, args: dict | None = None) -> BuildRequest:
    return BuildRequest(project_dir=project.root, profiles_dir=project.root, target="local",
                        env={"DCF_WAREHOUSE_PATH": str(warehouse)}, operation=macro, operation_args=args or {},
                        context=RunContext(stream_name="S_OPS", prcs_inst_id=11))


def _log(conn, invocation_id: str) -> dict[str, dict]:
    job = f"JOB_{invocation_id}"
    rows = conn.fetch_dicts(f"SELECT * FROM {conn.qualify('PROCESS_EXECUTION_LOG')} "
                            "WHERE PROCESS_STEP_ID = :job OR PARENT_STEP_ID = :job", {"job": job})
    return {row["RECORD_TYPE"]: row for row in rows}


def test_an_operation_runs_and_is_logged_like_a_build(project) -> None:
    project, conn, warehouse = project
    outcome = run_dbt_build(_request(project, warehouse, "empty_table", {"table": "main.stage_rows"}), log_to=conn)
    assert outcome.success, outcome.error
    conn.close()  # the macro's change is in the file, seen by another connection
    with duckdb.connect(str(warehouse)) as db:
        assert db.execute("SELECT COUNT(*) FROM main.stage_rows").fetchone() == (0,)
    conn = open_duckdb(warehouse, Namespace("DCF"))
    rows = _log(conn, outcome.invocation_id)
    conn.close()
    assert set(rows) == {"JOB", "MODEL"}
    assert rows["JOB"]["EXECUTION_STATUS_NAME"] == "SUCCESS"
    model = rows["MODEL"]
    assert (model["EXECUTION_STATUS_NAME"], model["EXECUTION_TYPE_NAME"]) == ("SUCCESS", "OPERATION")
    assert model["PROCESS_STEP_ID"].endswith("_MODEL_empty_table")
    assert [node.name for node in outcome.nodes] == ["empty_table"]


def test_a_failing_operation_keeps_its_error(project) -> None:
    project, conn, warehouse = project
    outcome = run_dbt_build(_request(project, warehouse, "broken"), log_to=conn)
    assert not outcome.success
    rows = _log(conn, outcome.invocation_id)
    assert rows["JOB"]["EXECUTION_STATUS_NAME"] == "FAILED"
    assert rows["MODEL"]["EXECUTION_STATUS_NAME"] == "FAILED"
    error = rows["MODEL"]["ERROR_MESSAGE_OBJ"]
    assert "no_such_table_anywhere" in (json.dumps(error) if not isinstance(error, str) else error)
    assert "no_such_table_anywhere" in (outcome.error or "")


def test_an_operation_the_project_lacks_is_named(project) -> None:
    project, conn, warehouse = project
    with pytest.raises(DcfError, match="has no macro 'truncate_everything'"):
        run_dbt_build(_request(project, warehouse, "truncate_everything"), log_to=conn)
