"""Converted parallel jobs run for real: the dbt models the converter writes are built by dbt on DuckDB over the
corpus's input rows, and every target's rows are the answer key's (``expected_<target>.csv``), compared as sets
(the key: row order is not significant for tables; the reject file here is read in parallel)."""

from __future__ import annotations

import duckdb
import pytest
import yaml

from dcf.convert.job import convert_job
from dcf.convert.parts import MANUAL
from dcf.convert.project import write_project
from tests.convert.corpus_rows import expected_csv, key_rows, load_existing_targets, load_sources, warehouse_text
from tests.datastage.corpus import (
    CONVERTED,
    parallel_key,
    parallel_parameter_sets,
    parallel_parameters,
)

pytestmark = pytest.mark.dbt


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
        load_sources(conn, job, conversion)
        load_existing_targets(conn, job, conversion)
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
            stored = conn.execute(f"SELECT * FROM main.{model.name}").fetchall()
            rows = [tuple(warehouse_text(v) for v in row) for row in stored]
            assert sorted(rows, key=str) == sorted(key_rows(expected), key=str), model.name
    assert {v.stage for v in conversion.verdicts} == set(job.graph.stages), "every stage has a verdict"
