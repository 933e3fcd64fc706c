"""Two jobs that write the same table (a real pattern: one job per source system appending to one fact): the
generated project still parses — dbt refuses two models of one name — with one model per job, the table read
by no other job through ``ref()`` (it is no one model's), and the report saying so."""

from __future__ import annotations

import copy

import pytest
import yaml

from dcf.convert.job import built_tables, convert_job
from dcf.convert.parts import SEMI
from dcf.convert.project import write_project

pytestmark = pytest.mark.dbt


def test_two_jobs_writing_one_table_give_one_model_each_and_the_project_parses(jobs, tmp_path) -> None:
    from dbt.cli.main import dbtRunner

    second = copy.deepcopy(jobs["PX_MODIFY_CAST"])
    second.name = "PX_MODIFY_CAST_EU"
    pair = [jobs["PX_MODIFY_CAST"], second]
    built = built_tables(pair)
    assert "#PS_DWH.SCHEMA#.DIM_PRODUCT" not in built
    conversions = [convert_job(job, built_elsewhere=built) for job in pair]
    project = tmp_path / "project"
    write_project(conversions, project)
    assert [m.name for c in conversions for m in c.models] == ["dim_product__px_modify_cast",
                                                               "dim_product__px_modify_cast_eu"]
    assert all(any(v.stage_type == "shared target" and v.tier == SEMI for v in c.job_verdicts) for c in conversions)
    (project / "profiles.yml").write_text(yaml.safe_dump({"converted_datastage": {"target": "dev", "outputs": {
        "dev": {"type": "duckdb", "path": str(tmp_path / "w.duckdb"), "threads": 1}}}}))
    result = dbtRunner().invoke(["parse", "--project-dir", str(project), "--profiles-dir", str(project),
                                 "--vars", yaml.safe_dump({"PS_SRC.SCHEMA": "SRC", "PS_DWH.SCHEMA": "DWH"}),
                                 "--log-path", str(tmp_path / "logs"), "--target-path", str(tmp_path / "target")])
    assert result.success, result.exception
