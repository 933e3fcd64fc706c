"""Record building (dcf.execlog.fold) and the buffered writer (dcf.execlog.writer), without dbt."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from dcf.execlog.facts import (
    JobConfig,
    NodeEvent,
    NodeFacts,
    ProjectFacts,
    RunContext,
    execution_type,
    job_step_id,
    model_step_id,
)
from dcf.execlog.fold import JobState
from dcf.execlog.queries import stale_renderings
from dcf.execlog.writer import MAX_FLUSH_INTERVAL_SECONDS, ExecutionLogWriter, flush_wait
from dcf.store.migrate import ensure_schema

T0 = datetime(2025, 12, 11, 10, 30, 0, 123000)


def _facts() -> ProjectFacts:
    def model(name: str, materialized: str, deps: tuple = ()) -> NodeFacts:
        return NodeFacts(f"model.p.{name}", name, "model", "p", materialized, f'"db"."s"."{name}"', "db", "s", name,
                         f"models/{name}.sql", depends_on=deps)

    nodes = {
        "model.p.stg": model("stg", "view", (("source", "raw.events", "source.p.raw.events"),)),
        "model.p.fct": model("fct", "incremental", (("ref", "stg", "model.p.stg"),)),
        "model.p.dim": model("dim", "table", (("ref", "fct", "model.p.fct"),)),
        "test.p.nn_fct": NodeFacts("test.p.nn_fct", "nn_fct", "test", "p", "test", None, "db", "s", "nn_fct",
                                   "models/schema.yml", depends_on=(("ref", "fct", "model.p.fct"),),
                                   tested_models=("model.p.fct",)),
    }
    return ProjectFacts("p", "snowflake", "1.11.0", nodes)


def _job(**config) -> JobState:
    return JobState("inv-1", T0, _facts(), JobConfig(target_name="dev", compiled_root="/t/compiled", **config))


def _t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _events() -> list[NodeEvent]:
    """stg succeeds, fct fails on Snowflake (query id in the error), dim is skipped; fct's test is skipped."""
    error = "Database Error in model fct\n  002003 (42S02): 01b2c3d4-0000-1111-2222-333344445555: SQL compilation error"
    return [
        NodeEvent("start", "model.p.stg", _t(1)),
        NodeEvent("query", "model.p.stg", _t(1.5), status="SUCCESS 1", query_id="q-stg-1"),
        NodeEvent("finish", "model.p.stg", _t(2), status="success",
                  adapter_response={"query_id": "q-stg-1", "rows_affected": 1.0}),
        NodeEvent("start", "model.p.fct", _t(3)),
        NodeEvent("query", "model.p.fct", _t(3.2), status="SUCCESS 1", query_id="q-fct-1"),
        NodeEvent("finish", "model.p.fct", _t(4), status="error", message=error),
        NodeEvent("finish", "test.p.nn_fct", _t(4.1), status="skipped"),
        NodeEvent("start", "model.p.dim", _t(4.2)),
        NodeEvent("finish", "model.p.dim", _t(4.3), status="skipped"),
    ]


def test_ids_and_execution_types() -> None:
    assert job_step_id("abc") == "JOB_abc"
    assert model_step_id("abc", "stg_customers") == "JOB_abc_MODEL_stg_customers"
    assert execution_type("incremental") == "INCREMENTAL_LOAD"
    assert execution_type("incremental", full_refresh=True) == "TRUNCATE_FULL_LOAD"
    assert execution_type("table") == "TRUNCATE_FULL_LOAD"
    assert execution_type("view") == "VIEW_REFRESH"


def test_failure_skip_and_job_summary() -> None:
    job = _job()
    for event in _events():
        job.apply(event)
    job.finish(_t(5))
    fct, dim = job.models["model.p.fct"], job.models["model.p.dim"]
    assert (fct.status, dim.status, job.status) == ("FAILED", "SKIPPED", "FAILED")
    assert fct.error == {
        "error_type": "MODEL_ERROR", "message": fct.message, "node_id": "model.p.fct", "model_name": "fct",
        "compiled_path": "/t/compiled/p/models/fct.sql", "query_id": "01b2c3d4-0000-1111-2222-333344445555",
    }
    assert [s["step_type"] for s in fct.timeline] == ["MODEL_START", "QUERY_EXECUTED", "MODEL_FAILED", "TEST_SKIPPED"]
    assert dim.timeline[-1]["content"]["upstream_not_successful"] == ["model.p.fct"]
    assert job.counts() == {
        "models_total": 3, "models_succeeded": 1, "models_failed": 1, "models_skipped": 1, "models_reused": 0,
        "tests_total": 1, "tests_passed": 0, "tests_failed": 0, "tests_warned": 0, "tests_skipped": 1,
        "errors_other": 0,
    }
    assert job.error_line().startswith("model fct error: Database Error in model fct 002003")


def test_rows_follow_the_spec_shape() -> None:
    job = _job(run=RunContext(stream_name="S", prcs_inst_id=7, flow_run_id="fr-1"), select=("tag:x",))
    for event in _events():
        job.apply(event)
    running = job.job_row(_t(1))
    assert (running["EXECUTION_STATUS_NAME"], running["EXECUTION_COMPLETED_IND"]) == ("RUNNING", "N")
    assert running["DESTINATION_DATA_CNT_OBJ"] is None and running["EXECUTION_END_TWSTP"] is None
    job.finish(_t(5))
    row = job.job_row(_t(6))
    assert (row["PROCESS_STEP_ID"], row["RECORD_TYPE"], row["PARENT_STEP_ID"]) == ("JOB_inv-1", "JOB", None)
    assert row["EXECUTION_TYPE_NAME"] == "DBT_JOB_RUN"
    assert {"invocation_id", "project_name", "target_name", "threads", "dbt_version", "warehouse", "flow_run_id",
            "deployment_id", "stream_name", "prcs_inst_id"} <= row["PROCESS_CONFIG_OBJ"].keys()
    assert row["DESTINATION_DATA_CNT_OBJ"]["failed_models"] == 1
    assert [s["step_type"] for s in row["STEP_EXECUTION_OBJ"]["execution_timeline"]] == ["JOB_START", "JOB_COMPLETE"]
    stg = job.model_row(job.models["model.p.stg"], _t(6))
    assert stg["PROCESS_STEP_ID"] == "JOB_inv-1_MODEL_stg" and stg["PARENT_STEP_ID"] == "JOB_inv-1"
    assert stg["SOURCE_OBJ"] == {"source_1": {"type": "source", "name": "raw.events", "node_id": "source.p.raw.events"}}
    assert stg["DESTINATION_OBJ"] == {"database": "db", "schema": "s", "table": "stg", "materialization": "view",
                                      "execution_type": "VIEW_REFRESH", "full_name": "db.s.stg"}
    steps = stg["STEP_EXECUTION_OBJ"]
    assert (steps["query_id_start"], steps["query_id_end"], steps["current_step"]) == \
        ("q-stg-1", "q-stg-1", "MODEL_COMPLETED")
    for step in steps["execution_timeline"]:
        assert {"step_number", "timestamp", "level", "step_type", "title", "query_id", "query_result",
                "content"} == step.keys()
    assert steps["execution_timeline"][0]["timestamp"] == "2025-12-11 10:30:01.123"


def test_snowflake_table_rows_come_from_the_adapter_response() -> None:
    facts = _facts()
    job = JobState("inv-2", T0, facts, JobConfig(target_name="dev"))
    job.apply(NodeEvent("start", "model.p.dim", _t(1)))
    job.apply(NodeEvent("finish", "model.p.dim", _t(2), status="success",
                        adapter_response={"rows_affected": 1000.0, "query_id": "q"}))
    model = job.models["model.p.dim"]
    assert model.rows == 1000 and not model.needs_count()


def test_redelivered_events_change_nothing() -> None:
    once, twice = _job(), _job()
    for event in _events():
        once.apply(event)
    for event in _events() + _events():
        twice.apply(event)
    assert [m.timeline for m in once.models.values()] == [m.timeline for m in twice.models.values()]


def test_writer_batches_and_never_regresses(duckdb_conn) -> None:
    ensure_schema(duckdb_conn)
    project = _facts()
    writer = ExecutionLogWriter(duckdb_conn, project, JobConfig(target_name="dev"), interval=3600)
    before = duckdb_conn.statements
    for event in _events()[:4]:  # stg done, fct started
        writer.submit("inv-1", event, event.ts)
    writer.flush()
    # JOB + stg + fct in one MERGE, plus the job-run row (stg is a view: nothing to count).
    assert duckdb_conn.statements - before == 2
    table = duckdb_conn.qualify("PROCESS_EXECUTION_LOG")
    status = dict(duckdb_conn.fetchall(f"SELECT PROCESS_STEP_ID, EXECUTION_STATUS_NAME FROM {table}"))
    assert status == {"JOB_inv-1": "RUNNING", "JOB_inv-1_MODEL_stg": "SUCCESS", "JOB_inv-1_MODEL_fct": "RUNNING"}
    for event in _events()[4:]:
        writer.submit("inv-1", event, event.ts)
    job = writer.close(ended_at=_t(5))
    assert job is not None and job.status == "FAILED"
    # A late writer replaying only the start of the run must not move finished rows back to RUNNING.
    late = ExecutionLogWriter(duckdb_conn, project, JobConfig(target_name="dev"), interval=3600)
    late.submit("inv-1", _events()[0], _t(1))
    late.flush()
    rows = duckdb_conn.fetch_dicts(f"SELECT PROCESS_STEP_ID, EXECUTION_STATUS_NAME, STEP_EXECUTION_OBJ FROM {table}")
    assert {r["PROCESS_STEP_ID"]: r["EXECUTION_STATUS_NAME"] for r in rows} == {
        "JOB_inv-1": "FAILED", "JOB_inv-1_MODEL_stg": "SUCCESS", "JOB_inv-1_MODEL_fct": "FAILED",
        "JOB_inv-1_MODEL_dim": "SKIPPED",
    }
    fct = next(json.loads(r["STEP_EXECUTION_OBJ"]) for r in rows if r["PROCESS_STEP_ID"].endswith("fct"))
    assert fct["current_step"] == "MODEL_FAILED"
    executions = duckdb_conn.fetch_dicts(f"SELECT NODE_ID, STATUS FROM {duckdb_conn.qualify('DBT_MODEL_EXECUTIONS')}")
    assert {r["NODE_ID"]: r["STATUS"] for r in executions} == {
        "model.p.stg": "success", "model.p.fct": "error", "model.p.dim": "skipped", "test.p.nn_fct": "skipped"}


def _flushes(duration: float) -> int:
    elapsed, flushes = 0.0, 1  # the final flush
    while (elapsed := elapsed + flush_wait(elapsed)) < duration:
        flushes += 1
    return flushes


def test_the_writer_flushes_every_second_at_first_and_then_as_the_build_ages() -> None:
    assert flush_wait(0.0) == flush_wait(2.9) == 1.0, "a short build is logged every second"
    assert flush_wait(30.0) == 10.0
    assert flush_wait(86_400.0) == MAX_FLUSH_INTERVAL_SECONDS, "a day-long build still shows progress every minute"
    assert flush_wait(30.0, interval=3600) == 3600, "the interval given is the shortest wait"
    # the statements of a build follow the flushes (a MERGE, and a COUNT when tables finished)
    assert _flushes(17) == 10 and _flushes(100) == 16, "N=200 and N=1,000 models on the local default"
    assert _flushes(100) * 2 + 2 <= 40, "a 1,000-model build stays within 40 statements"


def test_writer_keeps_rows_when_a_write_fails(duckdb_conn) -> None:
    # No control tables yet: the flush fails, is logged, and the rows are retried once the tables exist.
    writer = ExecutionLogWriter(duckdb_conn, _facts(), JobConfig(target_name="dev"), interval=3600)
    writer.submit("inv-1", _events()[0], _t(1))
    writer.flush()
    assert writer.last_error is not None
    ensure_schema(duckdb_conn)
    writer.flush()
    assert writer.last_error is None
    assert duckdb_conn.scalar(f"SELECT COUNT(*) FROM {duckdb_conn.qualify('PROCESS_EXECUTION_LOG')}") == 2


@pytest.mark.parametrize("name", ["job_models", "model_timeline"])
def test_duckdb_renderings_are_current(name: str) -> None:
    from dcf.execlog.queries import query_sql
    from dcf.store.dialect import Dialect

    assert stale_renderings() == []
    assert "getvariable('job_id')" in query_sql(name, Dialect.DUCKDB)
