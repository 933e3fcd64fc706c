"""The whole converted corpus, rendered for Snowflake, compiles with dbt-snowflake connected to fakesnow's server
(the adapter's own connection, cache and compilation): every model and generated test compiles, and every
compiled model is Snowflake SQL sqlglot reads back. (Its rows are checked by
``test_converted_jobs_on_snowflake``.)"""

from __future__ import annotations

import pytest
import sqlglot
import yaml

from dcf.convert.job import built_tables, convert_job
from dcf.convert.project import write_project
from tests.convert.corpus_rows import run_values

pytestmark = pytest.mark.fakesnow_server


def test_the_converted_project_compiles_with_dbt_snowflake(jobs, fakesnow_server, tmp_path) -> None:
    from dbt.cli.main import dbtRunner

    built = built_tables(list(jobs.values()))
    conversions = [convert_job(job, dialect="snowflake", built_elsewhere=built) for job in jobs.values()]
    project = tmp_path / "project"
    write_project(conversions, project)
    endpoint = {key: fakesnow_server[key] for key in ("host", "port", "protocol")}
    (project / "profiles.yml").write_text(yaml.safe_dump({"converted_datastage": {"target": "sf", "outputs": {"sf": {
        "type": "snowflake", "account": "fakesnow", "user": "fake", "password": "fake", "database": "CONVERTED",
        "schema": "DWH", "warehouse": "WH", "threads": 2, **endpoint}}}}))
    values = {name: value for job in jobs for name, value in run_values(job, tmp_path / "files").items()}
    values.update(dcf_file_stage="LANDING", dcf_file_format="PIPE_WITH_HEADER")
    result = dbtRunner().invoke(["compile", "--project-dir", str(project), "--profiles-dir", str(project),
                                 "--vars", yaml.safe_dump(values), "--log-path", str(tmp_path / "logs"),
                                 "--target-path", str(tmp_path / "target")])
    assert result.success, result.exception
    compiled = {r.node.name: r.node for r in result.result.results}
    models = {m.name for c in conversions for m in c.models}
    assert models <= set(compiled) and len(models) == 13
    assert any(node.resource_type == "test" for node in compiled.values())
    for name in models:
        sqlglot.parse_one(compiled[name].compiled_code, read="snowflake")
