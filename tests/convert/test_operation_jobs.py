"""A job that only runs SQL (the corpus's PX_TRUNCATE_STAGE: a row generator feeding a PL/SQL connector whose
Before SQL truncates three staging tables and whose After SQL gathers statistics) becomes a dbt macro. Run with
``dbt run-operation`` on DuckDB, and its statements rendered for Snowflake and sent through the real connector
API over fakesnow, it has the effect the answer key lists: the tables its ``expected_statements.sql``
truncates are empty, and nothing else is touched."""

from __future__ import annotations

import re

import duckdb
import pytest
import yaml
from jinja2 import Environment

from dcf.convert.job import built_tables, convert_job
from dcf.convert.parts import MANUAL
from dcf.convert.project import write_project
from tests.datastage.corpus import PARALLEL, parallel_key, parallel_parameter_sets

JOB = "PX_TRUNCATE_STAGE"
#: a table the job does not name, which must keep its rows
BYSTANDER = "STG_KEEP"


def _truncated() -> list[tuple[str, str]]:
    """(schema, table) the key's statements truncate, in order (read from the key's SQL text, not converted)."""
    text = (PARALLEL / "data" / JOB / "expected_statements.sql").read_text(encoding="utf-8")
    return [tuple(name.split(".")) for name in re.findall(r"TRUNCATE TABLE ([\w.]+)", text)]


def test_the_key_lists_three_truncations() -> None:
    assert [table for _, table in _truncated()] == ["STG_CUSTOMER", "STG_ACCOUNT", "STG_TRANSACTION"]


def _fill(execute, schema_of) -> None:
    for schema, table in [*_truncated(), (_truncated()[0][0], BYSTANDER)]:
        execute(f"CREATE SCHEMA IF NOT EXISTS {schema_of(schema)}")
        execute(f"CREATE TABLE {schema_of(schema)}.{table} (ID INTEGER)")
        execute(f"INSERT INTO {schema_of(schema)}.{table} VALUES (1), (2)")


@pytest.mark.dbt
def test_the_housekeeping_job_runs_as_a_dbt_operation(jobs, tmp_path) -> None:
    from dbt.cli.main import dbtRunner

    conversion = convert_job(jobs[JOB], dialect="duckdb")
    assert conversion.models == [] and [o.name for o in conversion.operations] == [JOB.lower()]
    assert not [v for v in conversion.verdicts if v.tier == MANUAL]
    project = tmp_path / "project"
    write_project([conversion], project)
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as conn:
        _fill(conn.execute, lambda schema: schema)
    (project / "profiles.yml").write_text(yaml.safe_dump({"converted_datastage": {"target": "dev", "outputs": {
        "dev": {"type": "duckdb", "path": str(database), "threads": 1}}}}))
    result = dbtRunner().invoke(["run-operation", JOB.lower(), "--project-dir", str(project), "--profiles-dir",
                                 str(project), "--vars", yaml.safe_dump(parallel_parameter_sets()),
                                 "--log-path", str(tmp_path / "logs"), "--target-path", str(tmp_path / "target")])
    assert result.success, result.exception
    with duckdb.connect(str(database)) as conn:
        counts = {table: conn.execute(f"SELECT COUNT(*) FROM {schema}.{table}").fetchone()[0]
                  for schema, table in [*_truncated(), (_truncated()[0][0], BYSTANDER)]}
    assert counts == {"STG_CUSTOMER": 0, "STG_ACCOUNT": 0, "STG_TRANSACTION": 0, BYSTANDER: 2}


@pytest.mark.unit
def test_the_operation_rendered_for_snowflake_has_the_same_effect(jobs, fakesnow_conn) -> None:
    """The macro's Jinja rendered as dbt would (``statement`` blocks, ``var``), each statement sent to fakesnow."""
    conversion = convert_job(jobs[JOB], dialect="snowflake")
    database = fakesnow_conn.namespace.database
    _fill(fakesnow_conn.execute, lambda schema: f"{database}.{schema}")
    values = {name: f"{database}.{value}" if name.endswith(".SCHEMA") else value
              for name, value in parallel_parameter_sets().items()}
    sent: list[str] = []

    def statement(name, caller=None, **_):
        sent.append(caller().strip())
        fakesnow_conn.execute(sent[-1])
        return ""

    template = Environment(extensions=["jinja2.ext.do"]).from_string(conversion.operations[0].macro())
    committed = []
    adapter = type("Adapter", (), {"commit": lambda self: committed.append(len(sent))})()
    template.make_module({"statement": statement, "var": values.__getitem__, "adapter": adapter}).px_truncate_stage()
    assert committed == [1, 2, 3]  # each statement committed
    assert [s.split()[:2] for s in sent] == [["TRUNCATE", "TABLE"]] * 3
    counts = {table: fakesnow_conn.fetchall(f"SELECT COUNT(*) FROM {database}.{schema}.{table}")[0][0]
              for schema, table in [*_truncated(), (_truncated()[0][0], BYSTANDER)]}
    assert counts == {"STG_CUSTOMER": 0, "STG_ACCOUNT": 0, "STG_TRANSACTION": 0, BYSTANDER: 2}


@pytest.mark.unit
def test_a_table_another_job_builds_is_named_by_ref_and_emptied_only_when_built(jobs) -> None:
    pair = [jobs[name] for name in (JOB, "PX_STG_CUSTOMER")]
    conversions = [convert_job(job, built_elsewhere=built_tables(pair)) for job in pair]
    macro = conversions[0].operations[0].macro()
    assert "{% if load_relation(ref('stg_customer')) is not none %}" in macro
    assert "TRUNCATE TABLE {{ ref('stg_customer') }}" in macro
    assert "TRUNCATE TABLE {{ var('PS_DWH.SCHEMA') }}.STG_TRANSACTION" in macro
    verdicts = {v.stage: v for v in conversions[0].verdicts}
    assert verdicts["ORA_TGT_HOUSEKEEPING"].tier == "SEMI"
    assert "3 DBMS_STATS.GATHER_TABLE_STATS call(s) dropped" in verdicts["ORA_TGT_HOUSEKEEPING"].note
    assert parallel_key()[JOB]["targets"][0]["table"] is None
