"""Converted parallel jobs run for real: the dbt models the converter writes are built by dbt on DuckDB over the
corpus's input rows, and every target's rows are the answer key's (``expected_<target>.csv``), compared as sets
(the key: row order is not significant for tables; the reject file here is read in parallel)."""

from __future__ import annotations

import datetime
import decimal
import re
from pathlib import Path

import duckdb
import pytest
import yaml

from dcf.convert.job import convert_job
from dcf.convert.parts import MANUAL
from dcf.convert.project import write_project
from dcf.convert.sql import sql_type
from dcf.datastage.containers import read_export
from dcf.datastage.model import DsJob
from tests.datastage.corpus import PARALLEL, parallel_key, parallel_parameter_sets, parallel_parameters

pytestmark = pytest.mark.dbt
#: The jobs whose every stage converts today (the others are measured in the conversion report).
CONVERTED = ["PX_FILTER_SPLIT", "PX_FUNNEL_ADDRESSES", "PX_MODIFY_CAST", "PX_FCT_TRANSACTION", "PX_NZ_EXPORT",
             "PX_DIM_CUSTOMER_SCD", "PX_STG_CUSTOMER"]


@pytest.fixture(scope="module")
def jobs() -> dict[str, DsJob]:
    return {job.name: job for job in read_export(PARALLEL / "DEMO_DWH_parallel.isx") if isinstance(job, DsJob)}


def _text(value: object) -> str | None:
    """A warehouse value as the key's CSV writes it."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date | decimal.Decimal):
        return str(value)
    return str(value)


_FIELD = re.compile(r'"((?:[^"]|"")*)"|([^,]*)')


def _expected(path: Path) -> list[tuple[str | None, ...]]:
    """The key's CSV: every value quoted, NULL an empty unquoted field (which the csv module cannot tell from
    an empty string before Python 3.12)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        fields, position = [], 0
        while position <= len(line):
            match = _FIELD.match(line, position)
            quoted, plain = match.group(1), match.group(2)
            fields.append(quoted.replace('""', '"') if quoted is not None else (plain or None))
            position = match.end() + 1
        rows.append(tuple(fields))
    return rows


def expected_csv(job: str, target: dict) -> Path:
    """The first CSV the key names for a target (``expected_X.csv``, relative to the job's data folder when
    the key gives the file name alone)."""
    name = re.findall(r"[\w/]*expected_\w+\.csv", target["expected"])[0]
    return PARALLEL / name if "/" in name else PARALLEL / "data" / job / name


def _source_link(job: DsJob, table: str):
    """The output link of the source connector that reads ``table``, and the columns of its CSV."""
    from dcf.datastage.connectors import read_connector

    graph = job.graph
    [link] = [link for stage in graph.stages.values() if not graph.inputs(stage.name)
              for connector in [read_connector(stage)] if connector is not None
              and re.search(rf"\.{table}\b", connector.select or connector.table or "")
              for link in graph.outputs(stage.name)]
    path = PARALLEL / "data" / job.name / f"{table}.csv"
    return link, path.read_text(encoding="utf-8").splitlines()[0].split(",")


def _existing_targets(conn: duckdb.DuckDBPyConnection, job: DsJob, conversion) -> None:
    """An incremental model whose table the key gives as it was before the run (``data/<JOB>/<TABLE>.csv``)
    starts from those rows: the run then updates and inserts as DataStage did."""
    for model in conversion.models:
        path = PARALLEL / "data" / job.name / f"{model.name.upper()}.csv"
        if model.materialized != "incremental" or not path.exists():
            continue
        [link] = job.graph.inputs(model.stage)
        columns = ", ".join(f"CAST({c.name} AS {sql_type(c)}) AS {c.name}" for c in link.columns)
        conn.execute(f"CREATE TABLE main.{model.name} AS SELECT {columns} FROM read_csv('{path}', header = true, "
                     "all_varchar = true)")


def _load_sources(conn: duckdb.DuckDBPyConnection, job: DsJob, conversion) -> None:
    """The job's source tables from ``data/<JOB>/<TABLE>.csv``, each column typed as the link of the connector
    that reads the table declares it (a column the link does not carry stays text)."""
    for _source, parameter, table in conversion.sources:
        schema = parallel_parameter_sets()[parameter]
        link, header = _source_link(job, table)
        types = {c.name: sql_type(c) for c in link.columns}
        columns = ", ".join(f"CAST({name} AS {types.get(name, 'VARCHAR')}) AS {name}" for name in header)
        path = PARALLEL / "data" / job.name / f"{table}.csv"
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"CREATE TABLE {schema}.{table} AS SELECT {columns} FROM read_csv('{path}', header = true, "
                     "all_varchar = true)")


@pytest.mark.parametrize("name", CONVERTED)
def test_a_converted_job_gives_the_rows_datastage_writes(jobs, tmp_path, name):
    from dbt.cli.main import dbtRunner

    job = jobs[name]
    conversion = convert_job(job, dialect="duckdb")
    assert [v for v in conversion.verdicts if v.tier == MANUAL] == []
    project = tmp_path / "project"
    project.mkdir()
    write_project([conversion], project)
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as conn:
        _load_sources(conn, job, conversion)
        _existing_targets(conn, job, conversion)
    (project / "profiles.yml").write_text(yaml.safe_dump({"converted_datastage": {"target": "dev", "outputs": {
        "dev": {"type": "duckdb", "path": str(database), "threads": 1}}}}))
    variables = yaml.safe_dump({**parallel_parameter_sets(), **parallel_parameters()})
    result = dbtRunner().invoke(["build", "--project-dir", str(project), "--profiles-dir", str(project),
                                 "--vars", variables, "--log-path", str(tmp_path / "logs"),
                                 "--target-path", str(tmp_path / "target")])
    assert result.success, result.exception
    targets = {t["stage"]: t for t in parallel_key()[name]["targets"]}
    with duckdb.connect(str(database)) as conn:  # dbt (in this process) still holds it: the same configuration
        for model in conversion.models:
            expected = expected_csv(name, targets[model.stage])
            rows = [tuple(_text(v) for v in row) for row in conn.execute(f"SELECT * FROM main.{model.name}").fetchall()]
            assert sorted(rows, key=str) == sorted(_expected(expected), key=str), model.name
    assert {v.stage for v in conversion.verdicts} == set(job.graph.stages), "every stage has a verdict"
