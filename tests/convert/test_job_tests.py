"""Tests generated from the job, run by dbt on DuckDB over the corpus's rows: the key a merge target relies on
(PX_DIM_CUSTOMER_SCD's CUSTOMER_SK) is tested not_null and unique and passes on the key's data; a lookup whose
failure action is fail (PX_FCT_TRANSACTION's currency lookup, switched from drop to fail: the key drops the
rows of a currency the reference lacks) fails the build before its target is written, as the job aborts."""

from __future__ import annotations

import copy

import pytest
import yaml

from dcf.convert.job import convert_job
from tests.convert.corpus_rows import build_converted

pytestmark = pytest.mark.dbt


def _build(tmp_path, job, conversion):
    project, _database, result = build_converted(tmp_path, job, conversion)
    return project, {r.node.name: str(r.status) for r in result.result.results}, result


def test_a_merge_targets_key_is_tested_and_holds(jobs, tmp_path) -> None:
    job = jobs["PX_DIM_CUSTOMER_SCD"]
    project, statuses, result = _build(tmp_path, job, convert_job(job))
    schema = yaml.safe_load((project / "models" / "datastage" / "px_dim_customer_scd" / "schema.yml").read_text())
    [model] = schema["models"]
    assert model["name"] == "dim_customer"
    assert model["columns"] == [{"name": "CUSTOMER_SK", "data_tests": [
        {"not_null": {"config": {"severity": "error"}}}, {"unique": {"config": {"severity": "error"}}}]}]
    assert result.success
    tests = {name: status for name, status in statuses.items() if name.endswith("_CUSTOMER_SK")}
    assert sorted(tests.values()) == ["pass", "pass"] and len(tests) == 2, statuses


def test_a_failing_lookup_stops_the_build_before_the_target(jobs, tmp_path) -> None:
    job = copy.deepcopy(jobs["PX_FCT_TRANSACTION"])
    stage = job.graph.stage("LKP_CURRENCY")
    [reference] = [link for link in job.graph.inputs(stage.name) if link.link_type == "Reference"]
    assert stage.pins[reference.target_pin].attributes["lookupFail"] == "drop"
    stage.pins[reference.target_pin].attributes["lookupFail"] = "fail"
    conversion = convert_job(job)
    [test] = conversion.tests
    assert test.name == "lkp_currency_unmatched"
    project, statuses, result = _build(tmp_path, job, conversion)
    assert (project / "tests" / "datastage" / "px_fct_transaction" / "lkp_currency_unmatched.sql").exists()
    assert not result.success
    assert statuses["lkp_currency_unmatched"] == "fail"
    assert statuses["fct_account_daily"] == "skipped", statuses  # never written, as the job aborts
