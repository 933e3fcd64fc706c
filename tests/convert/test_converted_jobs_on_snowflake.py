"""The converted jobs rendered for Snowflake run through the real snowflake-connector API (over fakesnow) and
give the answer key's rows too: the models' Jinja rendered (source, var, config), the source tables created
and loaded through the connector, each model's SELECT run as Snowflake SQL."""

from __future__ import annotations

import re

import pytest
from jinja2 import Template

from dcf.convert.job import convert_job
from dcf.convert.parts import MANUAL
from dcf.convert.sql import sql_type
from tests.convert.corpus_rows import (
    expected_columns,
    expected_rows,
    key_rows,
    source_link,
    stamped,
    warehouse_text,
)
from tests.datastage.corpus import (
    CONVERTED,
    PARALLEL,
    READS_A_FILE,
    parallel_key,
    parallel_parameter_sets,
    parallel_parameters,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", [job for job in CONVERTED if job not in READS_A_FILE])
def test_a_converted_job_rendered_for_snowflake_gives_the_same_rows(jobs, fakesnow_conn, name):
    job = jobs[name]
    conversion = convert_job(job, dialect="snowflake")
    assert not [v for v in conversion.verdicts if v.tier == MANUAL]
    database = fakesnow_conn.namespace.database
    values = {**parallel_parameter_sets(), **parallel_parameters()}
    schemas = {}
    for source, parameter, table in conversion.sources:
        schema = schemas[source] = values[parameter]
        link, header = source_link(job, table)
        types = {c.name: sql_type(c) for c in link.columns}
        fakesnow_conn.execute(f"CREATE SCHEMA IF NOT EXISTS {database}.{schema}")
        fakesnow_conn.execute(f"CREATE OR REPLACE TABLE {database}.{schema}.{table} ("
                              + ", ".join(f"{h} {types.get(h, 'VARCHAR')}" for h in header) + ")")
        for row in key_rows(PARALLEL / "data" / job.name / f"{table}.csv"):
            fakesnow_conn.execute(f"INSERT INTO {database}.{schema}.{table} VALUES ("
                                  + ", ".join(f":v{i}" for i in range(len(row))) + ")",
                                  {f"v{i}": value for i, value in enumerate(row)})
    targets = {t["stage"]: t for t in parallel_key()[name]["targets"]}
    for model in conversion.models:
        sql = Template(model.sql).render(
            config=lambda **_: "", var=lambda n: values[n],
            source=lambda s, t: f"{database}.{schemas[s]}.{t}").strip()
        wanted = expected_rows(name, targets[model.stage])
        in_key_order = f"SELECT {expected_columns(name, targets[model.stage])} FROM ({sql})"
        rows = stamped([tuple(warehouse_text(v) for v in row) for row in fakesnow_conn.fetchall(in_key_order)],
                       wanted)
        writes = PARALLEL / "data" / name / f"expected_{model.name.upper()}_writes.csv"
        if model.materialized == "incremental" and writes.exists():  # the rows sent, not the table after them
            wanted = [row[:-1] for row in key_rows(writes)]  # without DS_ACTION
        if "TO_CHAR(" in sql:
            # fakesnow drops TO_CHAR's format on a column when it translates to DuckDB ("Argument 'format' is
            # not supported for expression 'ToChar'"): the formatted columns are compared on DuckDB only
            skipped = [i for i, c in enumerate(expected_columns(name, targets[model.stage]).split(","))
                       if c in _formatted(sql)]
            rows, wanted = ([tuple(v for i, v in enumerate(r) if i not in skipped) for r in rs]
                            for rs in (rows, wanted))
        assert sorted(rows, key=str) == sorted(wanted, key=str), model.name


def _formatted(sql: str) -> set[str]:
    return set(re.findall(r"TO_CHAR\([^)]*\) AS (\w+)", sql))
