"""``python -m flows.import_datastage EXPORT --out DIR --dbt-out DBT``: a parallel-only export converts (no
sequence needed), the dbt project is written, the report has the parallel jobs' section, and the jobs converted
whole are exactly those whose every stage type the converter knows (from the answer key's stage list), plus
the jobs that only run SQL (row generator -> PL/SQL connector), written as macros."""

from __future__ import annotations

import json

import pytest
import yaml

from dcf.convert.stages import CONVERTERS
from tests.datastage.corpus import PARALLEL, parallel_jobs, parallel_key

pytestmark = pytest.mark.unit
TARGET_TYPES = {"OracleConnectorPX", "PxSequentialFile"}


def test_the_import_converts_the_parallel_jobs_into_a_dbt_project(tmp_path, capsys):
    from flows.import_datastage import main

    out, dbt = tmp_path / "out", tmp_path / "dbt"
    assert main([str(PARALLEL / "DEMO_DWH_parallel.isx"), "--out", str(out), "--dbt-out", str(dbt),
                 "--no-validate"]) == 0
    printed = capsys.readouterr().out
    assert yaml.safe_load((dbt / "dbt_project.yml").read_text())["name"] == "converted_datastage"
    report = json.loads((out / "migration_report.json").read_text())["parallel_jobs"]
    # every stage type known to the converter (from the key's stage list, not from the converter's verdicts)
    knowable = {name for name, key in parallel_key().items()
                if all(s["stageType"] in CONVERTERS or (s["stageType"] in TARGET_TYPES and not _feeds(key, s))
                       for s in key["stages"]) or _only_sql(key)}
    written = {path.parent.name.upper() for path in (dbt / "models" / "datastage").rglob("*.sql")}
    written |= {path.stem.upper() for path in (dbt / "macros" / "datastage").glob("*.sql")}
    assert report["jobs"] == 10 and report["jobs_converted_whole"] == len(knowable) >= 7
    # every transformer expression of the export (from the graph as read, not from the converter's tally)
    expressions = sum(len(stage.variables) + sum(1 for link in job.graph.outputs(stage.name)
                                                 for c in link.columns if c.derivation)
                      + sum(1 for link in job.graph.outputs(stage.name) if link.constraint and not link.otherwise)
                      for job in parallel_jobs().values() for stage in job.graph.stages.values()
                      if stage.stage_type in ("CTransformerStage", "PxSVTransformer"))
    assert report["derivations"] == expressions > 50
    assert (f"{report['derivations_translated']} of {expressions} derivations translated" in printed
            and f"10 parallel job(s): {report['jobs_AUTO']} AUTO, {report['jobs_SEMI']} SEMI" in printed), printed
    assert knowable <= written
    model = (dbt / "models" / "datastage" / "px_filter_split" / "loan_active.sql").read_text()
    assert "tags=['px_filter_split']" in model  # what the imported sequences' job activities select
    assert "## Parallel jobs → dbt models" in (out / "migration_report.md").read_text()


def _only_sql(key: dict) -> bool:
    """A job of row generators feeding connectors in PL/SQL write mode (the key's targets write no table)."""
    return all(s["stageType"] in ("PxRowGenerator", "OracleConnectorPX") for s in key["stages"]) and all(
        t["table"] is None and t["write_mode"].startswith("PL/SQL") for t in key["targets"])


def _feeds(key: dict, stage: dict) -> bool:
    """A stage with an output link: a source, not a target."""
    return any(link["from"] == stage["name"] for link in key["links"])


def test_a_large_report_is_cut_at_a_section_for_the_artifact(tmp_path):
    """The report of 1,000 jobs runs to megabytes: the artifact keeps whole sections up to its limit and says
    where the rest is; a report that fits is published whole."""
    from flows.import_datastage import artifact_markdown

    report = "# report\n\n" + "".join(f"### JOB_{n:04d}\n\n| stage | tier |\n|---|---|\n| S | AUTO |\n\n"
                                      for n in range(1000))
    path = tmp_path / "migration_report.md"
    assert artifact_markdown(report, path, limit=len(report)) == report
    shown = artifact_markdown(report, path, limit=5_000)
    assert len(shown) < 5_300 and shown.startswith("# report")
    last = shown.rsplit("### ", 1)[1].split("\n", 1)[0]
    assert f"### {last}\n\n| stage | tier |\n|---|---|\n| S | AUTO |\n\n\n**The report goes on" in shown
    assert f"see {path}." in shown
