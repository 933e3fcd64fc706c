"""The execution log of real dbt builds (dbt-duckdb, throwaway synthetic projects), on DuckDB and fakesnow.

One build of an 8-model project serves most tests (module fixture): m0007 fails, so m0008 is skipped, and
m0002 carries a warning test. Its events are recorded on the way and replayed into writers on fakesnow (server
mode) and again on DuckDB, which must give the same rows.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bench.synthetic_dbt import SyntheticProject, write_project
from dcf.build.request import BuildRequest
from dcf.build.runner import DbtBuildOutcome, RunContext, run_dbt_build
from dcf.execlog.queries import QUERIES, run_query
from dcf.execlog.writer import ExecutionLogWriter
from dcf.store.connection import Connection, open_duckdb
from dcf.store.dialect import Namespace
from dcf.store.migrate import ensure_schema
from runtime.build_observer import PrefectBuildObserver

MATERIALIZED = {"m0001": "table", "m0002": "table", "m0003": "table", "m0004": "view", "m0005": "incremental",
                "m0006": "table", "m0007": "table", "m0008": "table"}
STATUS = {**{m: "SUCCESS" for m in MATERIALIZED}, "m0007": "FAILED", "m0008": "SKIPPED"}
EXEC_TYPE = {"table": "TRUNCATE_FULL_LOAD", "view": "VIEW_REFRESH", "incremental": "INCREMENTAL_LOAD"}
TIMELINE_KEYS = {"step_number", "timestamp", "level", "step_type", "title", "query_id", "query_result", "content"}
#: write_project's deterministic graph for the fixture's arguments (checked in test_one_job_row...)
_PROJECT_PARENTS = {"m0007": ["m0006", "m0003"]}
JSON_COLUMNS = ("SOURCE_OBJ", "DESTINATION_OBJ", "PROCESS_CONFIG_OBJ", "DESTINATION_DATA_CNT_OBJ", "ERROR_MESSAGE_OBJ",
                "STEP_EXECUTION_OBJ")


@dataclass
class Build:
    project: SyntheticProject
    conn: Connection
    outcome: DbtBuildOutcome
    home: Path
    recorded: dict[str, Any] = field(default_factory=dict)

    @property
    def job_id(self) -> str:
        return f"JOB_{self.outcome.invocation_id}"


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("exec-log")
    home = root / "home"
    recorded: dict[str, Any] = {"events": []}
    init, submit, close = ExecutionLogWriter.__init__, ExecutionLogWriter.submit, ExecutionLogWriter.close

    # Record what the real writer receives (it still does its job), to replay it into other writers.
    def spy_init(self, conn, project, config, **kwargs):
        recorded.update(project=project, config=config)
        init(self, conn, project, config, **kwargs)

    def spy_submit(self, invocation_id, event, ts):
        recorded["events"].append((invocation_id, event, ts))
        submit(self, invocation_id, event, ts)

    def spy_close(self, **kwargs):
        recorded["job"] = close(self, **kwargs)
        return recorded["job"]

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DCF_HOME", str(home))
        patch.setattr(ExecutionLogWriter, "__init__", spy_init)
        patch.setattr(ExecutionLogWriter, "submit", spy_submit)
        patch.setattr(ExecutionLogWriter, "close", spy_close)
        project = write_project(root / "project", 8, chain_length=5, fan_in_every=3, tests_every=2,
                                failing={"m0007"}, warn_tests_on={"m0002"})
        home.mkdir(parents=True)
        conn = open_duckdb(home / "warehouse.duckdb", Namespace("DCF"))
        ensure_schema(conn)
        outcome = run_dbt_build(BuildRequest(project_dir=project.root, profiles_dir=project.root, target="local",
                                select=[], env={"DCF_WAREHOUSE_PATH": str(home / "warehouse.duckdb"),
                                                "DBT_LOG_LEVEL_FILE": "debug"},
                                context=RunContext(stream_name="S1", prcs_inst_id=7, parameters={"p": 1})),
                                log_to=conn)
    yield Build(project, conn, outcome, home, recorded)
    conn.close()


def _control_store(dcf_home: Path) -> tuple[Path, Connection]:
    """The local default: the control tables live in the DuckDB file dbt-duckdb builds into."""
    dcf_home.mkdir(parents=True, exist_ok=True)
    warehouse = dcf_home / "warehouse.duckdb"
    conn = open_duckdb(warehouse, Namespace("DCF"))
    ensure_schema(conn)
    return warehouse, conn


def _rows(conn: Connection, job_id: str) -> dict[str, dict[str, Any]]:
    rows = conn.fetch_dicts(
        f"SELECT * FROM {conn.qualify('PROCESS_EXECUTION_LOG')} WHERE PROCESS_STEP_ID = :job OR PARENT_STEP_ID = :job",
        {"job": job_id})
    out = {}
    for row in rows:
        for column in JSON_COLUMNS:
            row[column] = json.loads(row[column]) if isinstance(row[column], str) else row[column]
        out[row["PROCESS_STEP_ID"]] = row
    return out


def test_one_job_row_and_one_model_row_per_model(build: Build) -> None:
    rows = _rows(build.conn, build.job_id)
    job = rows.pop(build.job_id)
    assert len(rows) == len(build.project.models) == 8
    assert build.project.parents["m0007"] == _PROJECT_PARENTS["m0007"]
    assert (job["RECORD_TYPE"], job["PARENT_STEP_ID"], job["EXECUTION_TYPE_NAME"]) == ("JOB", None, "DBT_JOB_RUN")
    assert job["EXECUTION_STATUS_NAME"] == "FAILED" and job["EXECUTION_COMPLETED_IND"] == "Y"
    for model, expected in STATUS.items():
        row = rows[f"{build.job_id}_MODEL_{model}"]
        assert (row["RECORD_TYPE"], row["PARENT_STEP_ID"]) == ("MODEL", build.job_id)
        assert row["EXECUTION_STATUS_NAME"] == expected, model
        assert row["EXECUTION_TYPE_NAME"] == EXEC_TYPE[MATERIALIZED[model]]
        assert row["EXECUTION_END_TWSTP"] >= row["EXECUTION_START_TWSTP"]
        counted = expected == "SUCCESS"  # views too: on DuckDB a view's count is cheap
        assert row["SOURCE_DATA_CNT"] == (100 if counted else None), model
    assert job["SOURCE_DATA_CNT"] == 100 * 6  # six successful destinations, the view m0004 included


def test_json_columns_have_the_spec_shape(build: Build) -> None:
    rows = _rows(build.conn, build.job_id)
    job = rows[build.job_id]
    assert {"invocation_id", "project_name", "target_name", "threads", "dbt_version", "warehouse", "flow_run_id",
            "deployment_id", "stream_name", "prcs_inst_id"} <= job["PROCESS_CONFIG_OBJ"].keys()
    assert (job["PROCESS_CONFIG_OBJ"]["stream_name"], job["PROCESS_CONFIG_OBJ"]["prcs_inst_id"]) == ("S1", 7)
    assert job["SOURCE_OBJ"]["type"] == "DBT_JOB" and job["DESTINATION_OBJ"]["target_name"] == "local"
    assert job["STEP_EXECUTION_OBJ"]["job_status"] == "FAILED"
    assert [s["step_type"] for s in job["STEP_EXECUTION_OBJ"]["execution_timeline"]] == ["JOB_START", "JOB_COMPLETE"]
    m1 = rows[f"{build.job_id}_MODEL_m0001"]
    assert m1["SOURCE_OBJ"] == {"source_1": {"type": "source", "name": "raw.events",
                                             "node_id": "source.synthetic.raw.events"}}
    m7 = rows[f"{build.job_id}_MODEL_m0007"]
    assert m7["SOURCE_OBJ"]["source_1"] == {"type": "ref", "name": "m0006", "node_id": "model.synthetic.m0006"}
    assert set(m7["SOURCE_OBJ"]) == {"source_1", "source_2"}  # m0007 is a fan-in
    assert m1["DESTINATION_OBJ"] == {"database": "warehouse", "schema": "main", "table": "m0001",
                                     "materialization": "table", "execution_type": "TRUNCATE_FULL_LOAD",
                                     "full_name": "warehouse.main.m0001"}
    for row in rows.values():
        steps = row["STEP_EXECUTION_OBJ"]
        if row["RECORD_TYPE"] == "MODEL":
            assert {"model_name", "current_step", "query_id_start", "query_id_end",
                    "execution_timeline"} <= steps.keys()
            assert steps["execution_timeline"][0]["step_type"] == "MODEL_START"
            assert row["DESTINATION_DATA_CNT_OBJ"] is None
        for number, step in enumerate(steps["execution_timeline"], start=1):
            assert step.keys() == TIMELINE_KEYS and step["step_number"] == number
    m2_steps = [s["step_type"] for s in rows[f"{build.job_id}_MODEL_m0002"]["STEP_EXECUTION_OBJ"]["execution_timeline"]]
    assert m2_steps[:2] == ["MODEL_START", "MODEL_COMPLETE"]
    assert sorted(m2_steps[2:]) == ["TEST_PASSED", "TEST_PASSED", "TEST_WARNED"]  # its tests join its timeline
    complete = rows[f"{build.job_id}_MODEL_m0002"]["STEP_EXECUTION_OBJ"]["execution_timeline"][1]
    assert complete["query_result"]["rows_in_destination"] == 100


def test_failed_model_skipped_downstream_and_job_counts(build: Build) -> None:
    rows = _rows(build.conn, build.job_id)
    failed = rows[f"{build.job_id}_MODEL_m0007"]
    error = failed["ERROR_MESSAGE_OBJ"]
    assert error["error_type"] == "MODEL_ERROR" and error["node_id"] == "model.synthetic.m0007"
    assert "no_such_column" in error["message"]
    assert error["compiled_path"].endswith("/compiled/synthetic/models/m0007.sql")
    assert Path(error["compiled_path"]).exists()
    assert "query_id" in error
    skipped = rows[f"{build.job_id}_MODEL_m0008"]
    assert skipped["ERROR_MESSAGE_OBJ"] is None
    timeline = skipped["STEP_EXECUTION_OBJ"]["execution_timeline"]
    skip_step = next(s for s in timeline if s["step_type"] == "MODEL_SKIPPED")
    assert skip_step["content"]["upstream_not_successful"] == ["model.synthetic.m0007"]
    assert build.project.downstream("m0007") == {"m0008"}
    counts = rows[build.job_id]["DESTINATION_DATA_CNT_OBJ"]
    assert counts == {"total_models": 8, "successful_models": 6, "failed_models": 1, "skipped_models": 1,
                      "reused_models": 0, "tests_total": 9, "tests_passed": 6, "tests_failed": 0, "tests_warned": 1,
                      "tests_skipped": 2, "total_rows": 600, "model_rows": 8,
                      "by_resource_type": {"model": 8, "test": 9}, "views_counted": True}
    assert counts["model_rows"] == len(rows) - 1, "the JOB row's totals are those of the MODEL rows it parents"
    job_error = rows[build.job_id]["ERROR_MESSAGE_OBJ"]
    assert job_error["error_count"] == 1 and job_error["errors"][0]["name"] == "m0007"


def test_outcome_for_the_caller(build: Build) -> None:
    outcome = build.outcome
    assert not outcome.success and outcome.error.startswith("model m0007 error: Runtime Error in model m0007")
    assert outcome.counts == {"models_total": 8, "models_succeeded": 6, "models_failed": 1, "models_skipped": 1,
                              "models_reused": 0, "tests_total": 9, "tests_passed": 6, "tests_failed": 0,
                              "tests_warned": 1, "tests_skipped": 2}
    by_name = {n.name: n for n in outcome.nodes if n.resource_type == "model"}
    assert {n: o.status for n, o in by_name.items()} == {
        **{m: "success" for m in MATERIALIZED}, "m0007": "error", "m0008": "skipped"}
    assert by_name["m0001"].rows == 100 and by_name["m0004"].rows == 100
    assert outcome.relations == {m: f'"warehouse"."main"."{m}"' for m in MATERIALIZED}
    assert (outcome.target_path / "run_results.json").exists()
    assert outcome.log_error is None and outcome.log_statements > 0


def test_model_executions_and_job_run(build: Build) -> None:
    conn = build.conn
    executions = conn.fetch_dicts(f"SELECT * FROM {conn.qualify('DBT_MODEL_EXECUTIONS')} WHERE INVOCATION_ID = :i",
                                  {"i": build.outcome.invocation_id})
    assert len(executions) == 17  # 8 models + 9 tests: one row per node result
    by_node = {r["NODE_ID"]: r for r in executions}
    m7 = by_node["model.synthetic.m0007"]
    assert (m7["STATUS"], m7["MODEL_TYPE"], m7["MODEL_PACKAGE"], m7["STREAM_NAME"], m7["PRCS_INST_ID"]) == \
        ("error", "table", "synthetic", "S1", 7)
    assert json.loads(m7["NODE_CONFIG"])["materialized"] == "table"
    assert by_node["model.synthetic.m0008"]["STATUS"] == "skipped"
    assert by_node["model.synthetic.m0008"]["EXECUTION_TIME"] is None
    runs = conn.fetch_dicts(f"SELECT * FROM {conn.qualify('DBT_PLATFORM_JOB_RUNS')}")
    assert [r["INVOCATION_ID"] for r in runs] == [build.outcome.invocation_id]
    context = json.loads(runs[0]["DBT_RUN_CONTEXT"])
    assert {"flow_run_id", "deployment_id", "work_pool", "parameters", "git_branch", "git_commit"} <= context.keys()
    assert context["parameters"] == {"p": 1}


def test_every_statement_carries_the_query_comment(build: Build) -> None:
    log_text = (build.home / "dbt" / "synthetic" / "logs" / "dbt.log").read_text()
    comments = [json.loads(c) for c in re.findall(r"/\* (\{.*?\}) \*/", log_text)]
    mine = [c for c in comments if c.get("invocation_id") == build.outcome.invocation_id]
    assert mine and all(c["stream"] == "S1" and c["prcs_inst_id"] == 7 for c in mine)
    assert any(c.get("node_id") == "model.synthetic.m0001" for c in mine)


def test_shipped_queries_on_duckdb(build: Build) -> None:
    _check_queries(build.conn, build.job_id)


def test_shipped_duckdb_query_files_run_as_documented_in_the_sql_shell(build: Build) -> None:
    """Each file as shipped, after the ``SET VARIABLE`` lines its header documents, in ``make sql``'s session."""
    import io

    from dcf.demo.sql_shell import run, statements
    from dcf.execlog.queries import QUERIES, QUERY_DIR

    model = "m0001"
    for name in QUERIES:
        text = (QUERY_DIR / "duckdb" / f"{name}.sql").read_text()
        setup = [f"SET VARIABLE job_id = '{build.job_id}'", f"SET VARIABLE model_name = '{model}'"]
        out = io.StringIO()
        failures = run([*setup, *statements(text.splitlines(keepends=True))], out,
                       database=build.home / "warehouse.duckdb")
        assert failures == 0, f"{name}: {out.getvalue()}"
        rows = int(out.getvalue().rsplit("(", 1)[1].split(" ")[0])  # the shell's "(N rows)" of the query itself
        assert rows > 0, f"{name} found nothing in a log with a job, models and a failure: {out.getvalue()}"


def test_redelivered_events_never_duplicate_rows(build: Build) -> None:
    before = _rows(build.conn, build.job_id)
    writer = ExecutionLogWriter(build.conn, build.recorded["project"], build.recorded["config"], interval=3600)
    for invocation_id, event, ts in build.recorded["events"] * 2:
        writer.submit(invocation_id, event, ts)
    writer.close(ended_at=build.recorded["job"].ended_at)
    after = _rows(build.conn, build.job_id)
    assert after.keys() == before.keys()
    assert _comparable(after) == _comparable(before)


def test_same_rows_on_fakesnow_server(build: Build, fakesnow_server_conn: Connection) -> None:
    ensure_schema(fakesnow_server_conn)
    writer = ExecutionLogWriter(fakesnow_server_conn, build.recorded["project"], build.recorded["config"],
                                interval=3600, count_with=build.conn)  # the models live in the DuckDB file
    for invocation_id, event, ts in build.recorded["events"]:
        writer.submit(invocation_id, event, ts)
    writer.flush()  # a RUNNING-era flush first, then the final one: the insert and the update path
    writer.close(ended_at=build.recorded["job"].ended_at)
    assert writer.last_error is None
    assert _comparable(_rows(fakesnow_server_conn, build.job_id)) == _comparable(_rows(build.conn, build.job_id))
    _check_queries(fakesnow_server_conn, build.job_id)
    table = fakesnow_server_conn.qualify("DBT_MODEL_EXECUTIONS")
    assert fakesnow_server_conn.scalar(f"SELECT COUNT(*) FROM {table}") == 17


def _comparable(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    def norm(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        return int(value) if hasattr(value, "as_integer_ratio") and not isinstance(value, float) else value

    skip = {"PROCESS_EXECUTION_LOG_SK", "INSERT_TWSTP", "UPDATE_TWSTP"}
    return {key: {c: norm(v) for c, v in row.items() if c not in skip} for key, row in rows.items()}


def _check_queries(conn: Connection, job_id: str) -> None:
    results = {name: run_query(conn, name, job_id=job_id, model_name="m0007") for name in QUERIES}
    assert [r["MODEL_NAME"] for r in results["job_models"]] and len(results["job_models"]) == 8
    assert {r["MODEL_NAME"]: r["EXECUTION_STATUS_NAME"] for r in results["job_models"]} == STATUS
    summary = results["job_summary"]
    assert [(s["JOB_STATUS"], s["TOTAL_MODELS"], s["SUCCESSFUL"], s["FAILED"], s["SKIPPED"], s["TOTAL_ROWS"])
            for s in summary] == [("FAILED", 8, 6, 1, 1, 600)]
    lineage = {(r["SOURCE_TYPE"], r["SOURCE_NAME"], r["NODE_ID"]) for r in results["model_lineage"]}
    assert lineage == {("ref", p, f"model.synthetic.{p}") for p in _PROJECT_PARENTS["m0007"]}
    timeline = results["model_timeline"]
    assert [t["STEP_NUMBER"] for t in timeline] == list(range(1, len(timeline) + 1))
    assert timeline[0]["STEP_TYPE"] == "MODEL_START" and "MODEL_FAILED" in {t["STEP_TYPE"] for t in timeline}
    failed = [r for r in results["failed_models"] if r["JOB_ID"] == job_id]
    assert [(r["MODEL_NAME"], r["TABLE_NAME"]) for r in failed] == [("m0007", "warehouse.main.m0007")]
    assert json.loads(failed[0]["ERROR_MESSAGE_OBJ"])["node_id"] == "model.synthetic.m0007"
    hierarchy = results["job_with_models"]
    assert len(hierarchy) == 8 and {r["JOB_STATUS"] for r in hierarchy} == {"FAILED"}
    assert {r["MODEL_NAME"]: r["MODEL_STATUS"] for r in hierarchy} == STATUS


def test_a_running_model_is_visible_as_running(tmp_path: Path, dcf_home: Path) -> None:
    """Live test: a gated model blocks; while it does, its row reads RUNNING from another connection."""
    gate = tmp_path / "gate"
    project = write_project(tmp_path / "project", 3, gated={"m0002": gate}, tests_every=0)
    warehouse, writer_conn = _control_store(dcf_home)
    reader = open_duckdb(warehouse, Namespace("DCF"))  # same process: shares the instance with dbt-duckdb
    result: dict[str, Any] = {}

    def build() -> None:
        try:
            result["outcome"] = run_dbt_build(BuildRequest(project_dir=project.root, profiles_dir=project.root,
                                              target="local", select=[], env={"DCF_WAREHOUSE_PATH": str(warehouse)},
                                              context=RunContext(stream_name="LIVE")), log_to=writer_conn)
        finally:
            gate.touch()  # never leave the model blocked

    thread = threading.Thread(target=build)
    thread.start()
    try:
        seen = _wait_for(reader, "%_MODEL_m0002", "RUNNING", while_alive=thread)
        job_status = reader.scalar(f"SELECT EXECUTION_STATUS_NAME FROM {reader.qualify('PROCESS_EXECUTION_LOG')} "
                                   "WHERE RECORD_TYPE = 'JOB'")
    finally:
        gate.touch()
        thread.join(timeout=120)
    assert seen == "RUNNING" and job_status == "RUNNING"
    assert result["outcome"].success
    final = dict(reader.fetchall(f"SELECT PROCESS_STEP_ID, EXECUTION_STATUS_NAME FROM "
                                 f"{reader.qualify('PROCESS_EXECUTION_LOG')}"))
    assert sorted(final.values()) == ["SUCCESS"] * 4
    reader.close()
    writer_conn.close()


def _wait_for(conn: Connection, step_like: str, status: str, *, while_alive: threading.Thread,
              timeout: float = 60.0) -> str | None:
    """Poll (bounded) until the row shows ``status``; gives up early when the build thread has ended."""
    import time

    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline and while_alive.is_alive():
        value = conn.scalar(f"SELECT EXECUTION_STATUS_NAME FROM {conn.qualify('PROCESS_EXECUTION_LOG')} "
                            "WHERE PROCESS_STEP_ID LIKE :s", {"s": step_like})
        if value == status:
            return value
        time.sleep(0.1)
    return value


@pytest.mark.e2e
def test_in_a_flow_ids_are_filled_and_each_node_gets_a_task_run(prefect_api: str, tmp_path: Path,
                                                                 dcf_home: Path) -> None:
    from prefect import flow
    from prefect.context import FlowRunContext

    project = write_project(tmp_path / "project", 3, tests_every=3, failing={"m0003"})
    warehouse, conn = _control_store(dcf_home)

    @flow(name="exec-log-task-per-node")
    def stage() -> tuple[DbtBuildOutcome, str]:
        outcome = run_dbt_build(BuildRequest(project_dir=project.root, profiles_dir=project.root, target="local",
                                select=[], env={"DCF_WAREHOUSE_PATH": str(warehouse)},
                                context=RunContext(stream_name="S", prcs_inst_id=9)), log_to=conn,
                                observer=PrefectBuildObserver(task_per_node=True))
        return outcome, str(FlowRunContext.get().flow_run.id)

    outcome, flow_run_id = stage()
    assert not outcome.success  # m0003 fails: reported, not raised
    config = json.loads(conn.scalar(f"SELECT PROCESS_CONFIG_OBJ FROM {conn.qualify('PROCESS_EXECUTION_LOG')} "
                                    "WHERE RECORD_TYPE = 'JOB'"))
    assert (config["flow_run_id"], config["flow_id"] is not None, config["stream_name"]) == (flow_run_id, True, "S")
    states = _task_run_states(flow_run_id, expected=5)  # task runs reach the server through events: poll
    assert {name: state for name, state in states.items() if name.startswith("model ")} == {
        "model m0001": "COMPLETED", "model m0002": "COMPLETED", "model m0003": "FAILED"}
    # m0003's two tests are skipped by dbt: their tasks end too (skipped is not a failure)
    assert sorted(state for name, state in states.items() if name.startswith("test ")) == ["COMPLETED", "COMPLETED"]
    conn.close()


def _task_run_states(flow_run_id: str, *, expected: int, timeout: float = 60.0) -> dict[str, str]:
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            states = {run.name: run.state.type.value for run in runs if run.state}
            if len(states) >= expected and all(s in ("COMPLETED", "FAILED") for s in states.values()):
                break
            time.sleep(0.2)
    return states


def test_an_interrupted_build_still_writes_its_final_state(tmp_path: Path, dcf_home: Path) -> None:
    """Ctrl-C (or a cancellation signal) mid-build: the interruption propagates after the final flush."""
    import signal

    gate = tmp_path / "gate"
    project = write_project(tmp_path / "project", 4, gated={"m0002": gate}, tests_every=0)
    warehouse, conn = _control_store(dcf_home)
    reader = open_duckdb(warehouse, Namespace("DCF"))
    building = threading.Event()

    def interrupt_once_m0002_runs() -> None:
        try:
            # The gated model holds the build until the gate opens, so the signal lands inside dbt.
            if _wait_for(reader, "%_MODEL_m0002", "RUNNING", while_alive=threading.main_thread()) == "RUNNING" \
                    and building.is_set():
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        finally:
            gate.touch()

    # Python's own Ctrl-C handler, whatever was inherited (a shell's background job starts with SIGINT ignored).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    helper = threading.Thread(target=interrupt_once_m0002_runs)
    helper.start()
    building.set()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_dbt_build(BuildRequest(project_dir=project.root, profiles_dir=project.root, target="local", select=[],
                          env={"DCF_WAREHOUSE_PATH": str(warehouse)}), log_to=conn)
    finally:
        building.clear()
        gate.touch()
        helper.join(timeout=60)
        signal.signal(signal.SIGINT, previous)
    job = reader.fetch_dicts(f"SELECT * FROM {reader.qualify('PROCESS_EXECUTION_LOG')} WHERE RECORD_TYPE = 'JOB'")[0]
    assert job["EXECUTION_STATUS_NAME"] == "FAILED"
    assert json.loads(job["ERROR_MESSAGE_OBJ"])["interrupted"] == "interrupted (KeyboardInterrupt)"
    statuses = reader.fetchall(f"SELECT EXECUTION_STATUS_NAME FROM {reader.qualify('PROCESS_EXECUTION_LOG')}")
    assert ("RUNNING",) not in statuses
    reader.close()
    conn.close()


def test_a_broken_project_or_profile_raises_a_clear_error(tmp_path: Path) -> None:
    from dcf.errors import DcfError

    with pytest.raises(DcfError, match="no readable dbt project"):
        run_dbt_build(BuildRequest(project_dir=tmp_path / "nowhere", profiles_dir=tmp_path, target="local", select=[]))
    project = write_project(tmp_path / "project", 2, tests_every=0)
    with pytest.raises(DcfError, match="does not parse"):
        run_dbt_build(BuildRequest(project_dir=project.root, profiles_dir=project.root, target="no_such_target",
                      select=[], env={"DCF_WAREHOUSE_PATH": str(tmp_path / "w.duckdb")}))
