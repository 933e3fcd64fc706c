"""The cost package dbt/dcf_costs: its Snowflake SQL over ACCOUNT_USAGE-shaped tables on fakesnow (issue 7,
"what it must show" 3), and its use as a package of another project.

The savings report over real stream runs is checked in tests/build/test_reuse.py (it needs those runs).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from dcf.build.costs import COSTS_PROJECT
from dcf.build.request import BuildRequest
from dcf.build.runner import compile_sql, run_dbt_build
from dcf.store.clock import utcnow
from dcf.store.migrate import ensure_schema
from dcf.store.schema import DBT_MODEL_EXECUTIONS

PRICE = 2.0
ACCOUNT_USAGE_DDL = (
    "CREATE DATABASE IF NOT EXISTS SNOWFLAKE",
    "CREATE SCHEMA IF NOT EXISTS SNOWFLAKE.ACCOUNT_USAGE",
    "CREATE OR REPLACE TABLE SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY (QUERY_ID VARCHAR, QUERY_TEXT VARCHAR, "
    "START_TIME TIMESTAMP_LTZ, END_TIME TIMESTAMP_LTZ, TOTAL_ELAPSED_TIME NUMBER, WAREHOUSE_NAME VARCHAR, "
    "WAREHOUSE_SIZE VARCHAR)",
    "CREATE OR REPLACE TABLE SNOWFLAKE.ACCOUNT_USAGE.QUERY_ATTRIBUTION_HISTORY (QUERY_ID VARCHAR, "
    "START_TIME TIMESTAMP_LTZ, CREDITS_ATTRIBUTED_COMPUTE FLOAT, CREDITS_USED_QUERY_ACCELERATION FLOAT)",
)


def _execution(invocation: str, model: str, *, query_id: str | None, started, status: str = "success") -> dict:
    return {"INVOCATION_ID": invocation, "NODE_ID": f"model.gdw1_dbt.{model}", "MODEL_NAME": model,
            "RELATION_NAME": f"GDW1.CORE.{model.upper()}", "MODEL_PACKAGE": "gdw1_dbt", "MODEL_TYPE": "table",
            "STATUS": status, "EXECUTION_TIME": 12.5, "QUERY_ID": query_id, "INSERT_TIMESTAMP": started,
            "PREFECT_FLOW_RUN_ID": None, "PREFECT_DEPLOYMENT_ID": None, "PREFECT_FLOW_ID": None,
            "STREAM_NAME": "BCFINSG_PLAN_BALN_SEGM_LOAD", "PRCS_INST_ID": 7, "DBT_VERSION": "1.11",
            "RUN_STARTED_AT": started, "NODE_CONFIG": None}


def _statement(sql: str, invocation: str | None, model: str | None) -> str:
    """A statement as dbt-snowflake sends it: dbt's JSON query comment appended (when it had one)."""
    if invocation is None:
        return sql
    comment = {"app": "dbt", "invocation_id": invocation, "node_id": f"model.gdw1_dbt.{model}", "stream": "S",
               "prcs_inst_id": 7}
    return f"{sql}\n/* {json.dumps(comment)} */"


def test_snowflake_fct_model_queries_joins_queries_and_credits(fakesnow_server_conn, tmp_path):
    conn = fakesnow_server_conn
    ensure_schema(conn)
    now = utcnow()
    old, recent, fresh = now - timedelta(days=2), now - timedelta(hours=3), now - timedelta(minutes=10)
    conn.merge(DBT_MODEL_EXECUTIONS, [
        _execution("inv-a", "fct_a", query_id="q-a2", started=old),     # two queries: comment + reported id
        _execution("inv-a", "stg_b", query_id="q-b1", started=old),     # no comment: joined on the query id
        _execution("inv-c", "fct_a", query_id="q-c1", started=recent),  # credits not attributed yet
        _execution("inv-d", "fct_a", query_id="q-d1", started=fresh),   # not in QUERY_HISTORY yet
        _execution("inv-e", "fct_a", query_id="q-e1", started=old),     # never showed up
        _execution("inv-a", "int_r", query_id=None, started=old, status="reused"),  # reused: no query
    ])
    for ddl in ACCOUNT_USAGE_DDL:
        conn.execute(ddl)
    history = [  # (query id, text, started, elapsed ms)
        ("q-a1", _statement("create or replace temporary view fct_a__dbt_tmp as select 1", "inv-a", "fct_a"),
         old, 4000),
        ("q-a2", _statement("create or replace table GDW1.CORE.FCT_A as select 1", "inv-a", "fct_a"), old, 8000),
        ("q-b1", _statement("create or replace view GDW1.CORE.STG_B as select 1", None, None), old, 1000),
        ("q-c1", _statement("create or replace table GDW1.CORE.FCT_A as select 2", "inv-c", "fct_a"), recent, 9000),
        ("q-x1", _statement("select 1", "inv-other", "fct_a"), old, 500),  # another invocation: not joined
    ]
    for query_id, text, started, elapsed in history:
        conn.execute("INSERT INTO SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY "
                     "VALUES (:q, :t, :s, :e, :ms, 'DCF_WH', 'X-Small')",
                     {"q": query_id, "t": text, "s": started, "e": started + timedelta(milliseconds=elapsed),
                      "ms": elapsed})
    for query_id, credits, acceleration in [("q-a1", 0.5, None), ("q-a2", 0.25, 0.05), ("q-b1", 0.1, 0.0),
                                            ("q-x1", 9.0, 0.0)]:
        conn.execute("INSERT INTO SNOWFLAKE.ACCOUNT_USAGE.QUERY_ATTRIBUTION_HISTORY VALUES (:q, :s, :c, :a)",
                     {"q": query_id, "s": old, "c": credits, "a": acceleration})

    control = {"dcf_control_database": conn.namespace.database, "dcf_control_schema": conn.namespace.schema}
    sql = compile_sql(BuildRequest(project_dir=COSTS_PROJECT, profiles_dir=COSTS_PROJECT, target="snowflake",
                                   select=["fct_model_queries"],
                                   vars={**control, "dcf_costs_price_per_credit": PRICE}))["fct_model_queries"]
    assert "SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY" in sql and "QUERY_ATTRIBUTION_HISTORY" in sql
    rows = conn.fetch_dicts(sql)

    got = {(r["INVOCATION_ID"], r["MODEL_NAME"], r["QUERY_ID"]): r for r in rows}
    assert set(got) == {("inv-a", "fct_a", "q-a1"), ("inv-a", "fct_a", "q-a2"), ("inv-a", "stg_b", "q-b1"),
                        ("inv-c", "fct_a", "q-c1"), ("inv-d", "fct_a", "q-d1"), ("inv-e", "fct_a", "q-e1")}
    expected = {  # (cost status, credits, seconds)
        ("inv-a", "fct_a", "q-a1"): ("attributed", 0.5, 4.0),
        ("inv-a", "fct_a", "q-a2"): ("attributed", 0.30, 8.0),
        ("inv-a", "stg_b", "q-b1"): ("attributed", 0.1, 1.0),
        ("inv-c", "fct_a", "q-c1"): ("attribution_pending", None, 9.0),
        ("inv-d", "fct_a", "q-d1"): ("history_pending", None, 12.5),
        ("inv-e", "fct_a", "q-e1"): ("history_missing", None, 12.5),
    }
    for key, (status, credits, seconds) in expected.items():
        row = got[key]
        assert row["COST_STATUS"] == status, key
        assert row["EXECUTION_SECONDS"] == seconds, key
        if credits is None:
            assert row["CREDITS"] is None and row["COST_USD"] is None, key
        else:
            assert abs(row["CREDITS"] - credits) < 1e-9 and abs(row["COST_USD"] - credits * PRICE) < 1e-9, key
    assert all(r["IS_ESTIMATE"] is False and r["WAREHOUSE_NAME"] in ("DCF_WH", None) for r in rows)


def test_the_package_can_be_included_by_another_project(tmp_path, duckdb_conn):
    """packages.yml ``local:`` dbt/dcf_costs; the including project sets the vars and builds the models."""
    from dbt.cli.main import dbtRunner

    project = tmp_path / "includer"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: includer\nversion: '1.0.0'\nconfig-version: 2\nprofile: includer\n"
        "vars:\n  dcf_costs_price_per_credit: 4.0\n  dcf_costs_window_days: 3\n")
    (project / "profiles.yml").write_text(
        "includer:\n  target: local\n  outputs:\n    local:\n      type: duckdb\n"
        f"      path: {tmp_path / 'control.duckdb'}\n      schema: main\n")
    (project / "packages.yml").write_text(f"packages:\n  - local: {COSTS_PROJECT}\n")
    (project / "models" / "own.sql").write_text("select 1 as x\n")
    ensure_schema(duckdb_conn)  # the DCF control tables the package reads (schema DCF, the vars' default)
    deps = dbtRunner().invoke(["deps", "--project-dir", str(project), "--profiles-dir", str(project),
                               "--log-level", "none"])
    assert deps.success, deps.exception

    outcome = run_dbt_build(BuildRequest(project_dir=project, profiles_dir=project, target="local",
                            select=["package:dcf_costs"]))

    assert outcome.success, outcome.error
    assert {n.name for n in outcome.nodes if n.resource_type == "model"} == {
        "fct_model_queries", "rpt_daily_sao_model_savings", "agg_savings_summary"}
    assert Path(project / "dbt_packages" / "dcf_costs").exists()
    summary = duckdb_conn.fetch_dicts(f"SELECT * FROM {outcome.relations['agg_savings_summary']}")
    assert [(s["PRICE_PER_CREDIT_USD"], s["WINDOW_DAYS"], s["TOTAL_REUSES"]) for s in summary] == [(4.0, 3, 0)]
