"""Parallel jobs read into stage graphs: every stage, link and column as the answer key and the XML text count
them (not as the reader counts them), derivations, stage variables in order, constraints, lookup keys and
failure actions, composite properties."""

from __future__ import annotations

import re
import zipfile

import pytest

from dcf.datastage.containers import read_export
from dcf.datastage.model import DsJob
from dcf.datastage.properties import composite, unescape
from tests.datastage.corpus import PARALLEL, parallel_key

pytestmark = pytest.mark.unit
ISX = PARALLEL / "DEMO_DWH_parallel.isx"


@pytest.fixture(scope="module")
def jobs() -> dict[str, DsJob]:
    read = {job.name: job for job in read_export(ISX) if isinstance(job, DsJob)}
    assert all(not job.problems for job in read.values()), {j.name: j.problems for j in read.values()}
    return read


def _xml_counts() -> dict[str, tuple[int, int, int]]:
    """Stages, links and column elements per job, counted in each asset's text."""
    counts = {}
    with zipfile.ZipFile(ISX) as archive:
        for entry in (n for n in archive.namelist() if n.endswith(".pjb")):
            text = archive.read(entry).decode("utf-8")
            name = re.search(r'DSJobDefSDO [^>]*? name="([^"]+)"', text).group(1)
            stage_vars = sum(block.count(':DSFlowVariableSDO"') for block in re.findall(
                r':DSStageSDO".*?</contains_JobObject>', text, flags=re.S))
            counts[name] = (text.count(':DSStageSDO"'), text.count(':DSLinkSDO"'),
                            text.count(':DSFlowVariableSDO"') - stage_vars)
    return counts


def test_every_stage_link_and_column_is_read_as_the_export_and_the_key_count_them(jobs):
    counted = _xml_counts()
    assert set(jobs) == set(counted) == set(parallel_key())
    for name, job in jobs.items():
        graph, key = job.graph, parallel_key()[name]
        stages, links, column_elements = counted[name]
        assert (len(graph.stages), len(graph.links)) == (stages, links) == (len(key["stages"]), len(key["links"]))
        assert {s: graph.stage(s).stage_type for s in graph.stages} == {
            s["name"]: s["stageType"] for s in key["stages"]}, name
        assert {s: graph.stage(s).sequential for s in graph.stages} == {
            s["name"]: s["execution"] == "sequential" for s in key["stages"]}, name
        assert sum(not c.compact for link in graph.links for c in link.columns) == column_elements, name
        for expected in key["links"]:
            link = graph.link(expected["name"])
            assert (link.source, link.target, link.link_type) == (expected["from"], expected["to"],
                                                                  expected["linkType"]), (name, link.name)
            compact = sum(c.compact for c in link.columns)
            # the key's "columns" counts both forms, "compact_columns" the compact ones among them
            assert (len(link.columns), compact) == (expected["columns"], expected["compact_columns"]), \
                (name, link.name)
            assert link.constraint == expected.get("constraint"), (name, link.name)
            assert link.otherwise == bool(expected.get("otherwise")), (name, link.name)


def test_a_transformer_keeps_its_stage_variables_in_evaluation_order_and_its_derivations(jobs):
    graph = jobs["PX_STG_CUSTOMER"].graph
    variables = graph.stage("TRX_CLEANSE").variables
    assert [v.name for v in variables] == ["svIsDup", "svPrevCustomerId", "svEmail", "svValid"]
    assert variables[0].derivation == "If lnk_src_customer.CUSTOMER_ID = svPrevCustomerId Then 1 Else 0"
    assert variables[2].initial == '""'
    assert [link.name for link in graph.outputs("TRX_CLEANSE")] == ["lnk_stg_customer", "lnk_rej_customer"]
    derived = {c.name: c.derivation for c in graph.link("lnk_stg_customer").columns}
    assert "Trim" in derived["FULL_NAME"] and derived["LOAD_DATE"]


def test_a_lookup_knows_its_primary_its_key_and_its_failure_action(jobs):
    graph = jobs["PX_DIM_CUSTOMER_SCD"].graph
    primary, reference = graph.inputs("LKP_DIM_CURRENT")
    assert (primary.name, reference.name, reference.link_type) == ("lnk_stg", "lnk_dim_current", "Reference")
    assert graph.stage("LKP_DIM_CURRENT").pins[reference.target_pin].attributes["lookupFail"] == "continue"
    [key] = [c for c in reference.columns if c.key]
    assert (key.name, key.lookup_key) == ("CUSTOMER_ID", "lnk_stg.CUSTOMER_ID")
    compact = {c.name: c for c in graph.link("lnk_lkp_out").columns if c.compact}
    assert set(compact) == {"DIM_SEGMENT_CODE", "DIM_COUNTRY_CODE"}
    assert (compact["DIM_COUNTRY_CODE"].type_code, compact["DIM_COUNTRY_CODE"].length) == ("String", 2)
    assert compact["DIM_SEGMENT_CODE"].source_column == "lnk_dim_current.SEGMENT_CODE"


def test_composite_properties_and_escapes_are_read(jobs):
    assert unescape(r"lookup\\type \(41)\(2)") == "lookup\\type A\x02"
    where = composite(jobs["PX_FILTER_SPLIT"].graph.stage("FLT_LOAN_STATUS").properties["where"])
    assert [(e.name, e.value, e.sub.get("target")) for e in where] == [
        ("where", "STATUS = 'ACTIVE'", "0"), ("where", "STATUS = 'CLOSED' OR PRINCIPAL > 250000", "1")]
    by_type = {s.stage_type: s for s in jobs["PX_FUNNEL_ADDRESSES"].graph.stages.values()}
    assert [e.value for e in composite(by_type["PxRemDup"].properties["key"])] == ["CUSTOMER_ID"]
    assert [(e.value, e.sub["asc\\desc"]) for e in composite(by_type["PxSort"].properties["key"])] == [
        ("COUNTRY_CODE", "asc"), ("CUSTOMER_ID", "asc")]
    assert "key" not in by_type["PxFunnel"].properties  # a continuous funnel


def test_the_dsx_form_reads_into_the_same_graph_and_converts_to_the_same_models(jobs):
    """The jobs the corpus also exports as text DSX: the stages and links the key lists, each link's columns
    (name, type, length, scale, nullability, key, derivation, lookup key), stage variables and constraints equal
    to the ISX form's, and the converter writes the same models from either."""
    from dcf.convert.job import convert_job

    dsx = {job.name: job for job in read_export(PARALLEL / "legacy_px.dsx") if isinstance(job, DsJob)}
    assert sorted(dsx) == sorted(name for name, key in parallel_key().items() if key["also_in_dsx"])
    for name, job in dsx.items():
        assert job.kind == "parallel" and not job.problems, job.problems
        key = parallel_key()[name]
        assert sorted(job.graph.stages) == sorted(s["name"] for s in key["stages"])
        assert sorted(link.name for link in job.graph.links) == sorted(link["name"] for link in key["links"])
        isx = jobs[name].graph
        for link in job.graph.links:
            mine = [(c.name, c.type_code, c.length, c.scale, c.nullable, c.key, c.derivation, c.lookup_key)
                    for c in link.columns]
            theirs = [(c.name, c.type_code, c.length, c.scale, c.nullable, c.key, c.derivation, c.lookup_key)
                      for c in isx.link(link.name).columns]
            assert mine == theirs, link.name
            assert (link.link_type, link.source, link.target, link.constraint) == (
                isx.link(link.name).link_type, isx.link(link.name).source, isx.link(link.name).target,
                isx.link(link.name).constraint)
        assert [[(v.name, v.derivation, v.initial) for v in s.variables] for s in job.graph.stages.values()] == \
            [[(v.name, v.derivation, v.initial) for v in isx.stage(s).variables] for s in job.graph.stages]
        from_dsx, from_isx = convert_job(job), convert_job(jobs[name])
        assert [(m.name, m.sql) for m in from_dsx.models] == [(m.name, m.sql) for m in from_isx.models]
        assert [(v.stage, v.tier) for v in from_dsx.verdicts] == [(v.stage, v.tier) for v in from_isx.verdicts]
