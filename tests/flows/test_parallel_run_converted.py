"""The parallel run over each converted job, in a stream: the converter's dbt project built by a dbt activity on
the embedded DuckDB warehouse, then one ``compare:`` activity per target against the legacy table (the rows
DataStage writes, from the answer key) — every verdict MATCH in COMPARE_RUNS. A column the key marks as the run
time (CurrentTimestamp()) is left out of the compare: its legacy value is another day's clock."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
import yaml

from dcf.convert.job import convert_job
from dcf.convert.project import write_project
from dcf.convert.sql import sql_type
from dcf.datastage.model import DsJob
from dcf.paths import warehouse_path
from tests.convert.corpus_rows import (
    RUN_TIME,
    expected_columns,
    expected_rows,
    load_existing_targets,
    load_sources,
    run_values,
)
from tests.datastage.corpus import CONVERTED, parallel_jobs, parallel_key
from tests.streams import query

pytestmark = pytest.mark.e2e


def _legacy_tables(conn: duckdb.DuckDBPyConnection, job: DsJob, conversion) -> dict[str, tuple[str, list[str]]]:
    """Each target's rows as DataStage writes them (the key's rows), typed as the target link declares them, in
    schema LEGACY; model name -> (legacy relation, the columns the key marks as the run time: not compared)."""
    targets = {t["stage"]: t for t in parallel_key()[job.name]["targets"]}
    conn.execute("CREATE SCHEMA IF NOT EXISTS LEGACY")
    relations = {}
    for model in conversion.models:
        [link] = job.graph.inputs(model.stage)
        header = expected_columns(job.name, targets[model.stage]).split(",")
        rows = expected_rows(job.name, targets[model.stage])
        run_time = sorted({header[i] for row in rows for i, value in enumerate(row) if value == RUN_TIME})
        raw = f"LEGACY.RAW_{model.name.upper()}"
        conn.execute(f"CREATE TABLE {raw} ({', '.join(f'{c} VARCHAR' for c in header)})")
        conn.executemany(f"INSERT INTO {raw} VALUES ({', '.join('?' for _ in header)})",
                         [[None if value == RUN_TIME else value for value in row] for row in rows])
        columns = ", ".join(f"CAST({c.name} AS {sql_type(c)}) AS {c.name}" for c in link.columns)
        conn.execute(f"CREATE TABLE LEGACY.{model.name.upper()} AS SELECT {columns} FROM {raw}")
        relations[model.name] = (f"LEGACY.{model.name.upper()}", run_time)
    return relations


def _key(job: DsJob, stage: str) -> list[str]:
    """The target link's key columns (as the job declares them), else its first column."""
    [link] = job.graph.inputs(stage)
    return [c.name for c in link.columns if c.key] or [link.columns[0].name]


@pytest.mark.parametrize("name", CONVERTED)
def test_a_converted_job_and_its_legacy_tables_match_through_compare_activities(prefect_api, tmp_path, monkeypatch,
                                                                                 name):
    from flows.stream_load import stream_load

    job = parallel_jobs()[name]
    conversion = convert_job(job, dialect="duckdb")
    project = tmp_path / "converted"
    write_project([conversion], project, variables=run_values(name, tmp_path / "files"))
    warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse_path())) as conn:
        load_sources(conn, job, conversion)
        load_existing_targets(conn, job, conversion)
        legacy = _legacy_tables(conn, job, conversion)
    stages = {model.name: model.stage for model in conversion.models}
    compares = [{"name": f"compare_{model}", "after": ["build"],
                 "compare": {"legacy": relation, "new": model, "key": _key(job, stages[model]),
                             **({"ignore": run_time} if run_time else {})}}
                for model, (relation, run_time) in sorted(legacy.items())]
    stream = {"stream": {"name": f"PAR_{name}", "id": 9601},
              "dbt": {"project_dir": str(project), "select": [f"tag:{name.lower()}"]},
              "sequence": [{"name": "build", "dbt": {}}, *compares]}
    folder = tmp_path / "streams"
    folder.mkdir()
    (folder / "par.yaml").write_text(yaml.safe_dump(stream, sort_keys=False))
    monkeypatch.setenv("DCF_STREAMS_DIR", str(folder))

    state = stream_load(stream=f"PAR_{name}", process_date=date(2024, 1, 31), return_state=True)

    assert state.is_completed(), state.message
    runs = query("SELECT NEW_RELATION, VERDICT, DECIDED_BY, ROWS_LEGACY, ROWS_NEW FROM DCF.COMPARE_RUNS")
    assert len(runs) == len(conversion.models) == len(parallel_key()[name]["targets"])
    assert all(r["VERDICT"] == "MATCH" and r["ROWS_LEGACY"] == r["ROWS_NEW"] > 0 for r in runs), runs
    [instance] = query("SELECT PRCS_STATUS FROM DCF.DCF_T_PRCS_INST")
    assert instance["PRCS_STATUS"] == "SUCCEEDED"
