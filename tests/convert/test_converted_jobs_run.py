"""Converted parallel jobs run for real: the dbt models the converter writes are built by dbt on DuckDB over the
corpus's input rows, and every target's rows are the answer key's (``expected_<target>.csv``), compared as sets
(the key: row order is not significant for tables; the reject file here is read in parallel). A file a job
reads is the corpus's copy (its parameter names that path, and so does a column holding the file name); a
CurrentTimestamp() column holds a time close to the test's clock. Each target file is written by the export
step: byte for byte the key's file where it has one, else its rows."""

from __future__ import annotations

import duckdb
import pytest

from dcf.convert.job import built_tables, convert_job
from dcf.convert.parts import MANUAL
from tests.convert.corpus_rows import (
    build_converted,
    build_project,
    expected_columns,
    expected_rows,
    key_rows,
    stamped,
    warehouse_text,
    written_file,
)
from tests.datastage.corpus import CONVERTED, PARALLEL, parallel_key

pytestmark = pytest.mark.dbt


@pytest.mark.parametrize("name", CONVERTED)
def test_a_converted_job_gives_the_rows_datastage_writes(jobs, tmp_path, name):
    job = jobs[name]
    conversion = convert_job(job, dialect="duckdb")
    assert [v for v in conversion.verdicts if v.tier == MANUAL] == []
    _project, database, result = build_converted(tmp_path, job, conversion)
    assert result.success, result.exception
    targets = {t["stage"]: t for t in parallel_key()[name]["targets"]}
    with duckdb.connect(str(database)) as conn:  # dbt (in this process) still holds it: the same configuration
        for model in conversion.models:
            expected = expected_rows(name, targets[model.stage])
            columns = expected_columns(name, targets[model.stage])
            stored = conn.execute(f"SELECT {columns} FROM main.{model.name}").fetchall()
            rows = stamped([tuple(warehouse_text(v) for v in row) for row in stored], expected)
            assert sorted(rows, key=str) == sorted(expected, key=str), model.name
    assert {v.stage for v in conversion.verdicts} == set(job.graph.stages), "every stage has a verdict"
    for target in (t for t in targets.values() if t.get("file")):  # the export step wrote each target file
        written = written_file(target, tmp_path / "files")
        raw = PARALLEL / "data" / name / f"expected_{target['stage']}.raw.txt"
        if raw.exists():  # the key has the file's bytes
            assert written.read_bytes() == raw.read_bytes(), target["stage"]
        else:  # the key's rows (its CSV convention is the file's: each value quoted, NULL unquoted empty)
            assert sorted(key_rows(written), key=str) == sorted(expected_rows(name, target), key=str)


def test_the_whole_converted_corpus_is_one_project_that_parses_and_builds(jobs, tmp_path):
    """All ten jobs in one generated project: one ``dbt build`` of everything (models, the tests generated from
    the jobs, the file exports) succeeds, and every target holds the key's rows. A job reading a table another
    job writes reads its model (PX_DIM_CUSTOMER_SCD reads stg_customer, which PX_STG_CUSTOMER builds: the key
    gives the first job's output as the second's input), so one build runs them in that order."""
    built = built_tables(list(jobs.values()))
    converted = [(job, convert_job(job, dialect="duckdb", built_elsewhere=built)) for job in jobs.values()]
    dim = next(c for job, c in converted if job.name == "PX_DIM_CUSTOMER_SCD")
    assert "{{ ref('stg_customer') }}" in dim.models[0].sql
    assert ("ps_dwh", "PS_DWH.SCHEMA", "STG_CUSTOMER") not in dim.sources
    _project, database, result = build_project(tmp_path, converted)
    assert result.success, result.exception
    statuses = {str(r.status) for r in result.result.results}
    assert statuses <= {"success", "pass"}, statuses
    compared = 0
    with duckdb.connect(str(database)) as conn:
        for job, conversion in converted:
            targets = {t["stage"]: t for t in parallel_key()[job.name]["targets"]}
            for model in conversion.models:
                expected = expected_rows(job.name, targets[model.stage])
                stored = conn.execute(f"SELECT {expected_columns(job.name, targets[model.stage])} "
                                      f"FROM main.{model.name}").fetchall()
                rows = stamped([tuple(warehouse_text(v) for v in row) for row in stored], expected)
                assert sorted(rows, key=str) == sorted(expected, key=str), model.name
                compared += 1
    assert compared == 13
