"""The readers on the DEMO_DWH corpus as shipped: every activity and every trigger of every sequence read, in
the three containers, checked against the export's own text and against the corpus's answer key."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from dcf.datastage.containers import read_export
from dcf.datastage.model import DsJob, ReadProblem
from dcf.datastage.xmi import read_xmi
from tests.datastage.corpus import PARALLEL, SEQUENCES_DSX, SEQUENCES_ISX, SEQUENCES_XML, sequence_key

pytestmark = pytest.mark.unit


def _jobs(path) -> dict[str, DsJob]:
    items = list(read_export(path))
    problems = [f"{p.source}: {p.message}" for p in items if isinstance(p, ReadProblem)]
    assert not problems, problems
    return {job.name: job for job in items}


def _counted_in_xml(text: str) -> dict[str, tuple[int, int]]:
    """Activities and trigger links per sequence, counted in the XMI text itself (not by the reader)."""
    counts = {}
    for job in re.split(r"<com\.ibm\.datastage\.ai\.dtm\.ds:DSJobDefSDO ", text)[1:]:
        if 'jobType="Sequence"' in job[:5000]:
            name = re.search(r' name="([^"]+)"', job).group(1)
            counts[name] = (job.count(':DSStageSDO"'), job.count(':DSLinkSDO"'))
    return counts


def _counted_in_dsx(text: str) -> dict[str, tuple[int, int]]:
    counts = {}
    for job in re.split(r"^BEGIN DSJOB$", text, flags=re.M)[1:]:
        name = re.search(r'^\s*Identifier "([^"]+)"', job, re.M).group(1)
        activities = len(re.findall(r'OLEType "CJS(?!ActivityInput|ActivityOutput)', job))
        counts[name] = (activities, job.count('OLEType "CJSActivityOutput"'))
    return counts


def test_every_activity_and_trigger_of_the_isx_is_read_as_the_export_counts_them():
    with zipfile.ZipFile(SEQUENCES_ISX) as archive:
        expected = {}
        for entry in archive.namelist():
            if entry.endswith(".qjb"):
                expected.update(_counted_in_xml(archive.read(entry).decode("utf-8")))
    jobs = _jobs(SEQUENCES_ISX)
    assert len(expected) == 6
    assert {name: (len(jobs[name].activities), len(jobs[name].links)) for name in expected} == expected
    assert sum(links for _, links in expected.values()) == 51
    assert all(not job.problems for job in jobs.values())


def test_the_xml_and_dsx_exports_are_read_as_their_text_counts_them():
    xml, dsx = _jobs(SEQUENCES_XML), _jobs(SEQUENCES_DSX)
    for jobs, counted in ((xml, _counted_in_xml(SEQUENCES_XML.read_text(encoding="utf-8"))),
                          (dsx, _counted_in_dsx(SEQUENCES_DSX.read_text(encoding="utf-8")))):
        assert set(counted) == {"SQ_LEVELS", "SQ_CUSTOMER"}
        assert {name: (len(jobs[name].activities), len(jobs[name].links)) for name in counted} == counted


@pytest.mark.parametrize("sequence", sorted(sequence_key()))
def test_each_sequence_reads_as_the_answer_key_describes_it(sequence):
    key = sequence_key()[sequence]
    job = _jobs(SEQUENCES_ISX)[sequence]
    by_id = job.activities
    assert sorted((a["id"], a["name"], a["class"]) for a in key["activities"]) == sorted(
        (a.identifier, a.name, a.class_name) for a in by_id.values())
    # the key gives the expression of custom (6) and return-value (7) triggers; the others hold N/A or
    # "Executed OK"
    read = sorted((link.name, by_id[link.source].name, by_id[link.target].name, link.condition_type,
                   link.expression if link.condition_type in ("6", "7") else "") for link in job.links)
    assert read == sorted((t["name"], t["from"], t["to"], t["type"].split()[0], t.get("expression", ""))
                          for t in key["triggers"])
    assert {o for o in key["job_control_options"].split(",")} == job.options
    for activity in key["activities"]:
        read_activity = by_id[activity["id"]]
        assert read_activity.invocation_id == activity.get("invocation_id", "")
        assert dict(read_activity.values) == {**activity.get("passes", {}), **activity.get("variables", {})}
        if "job" in activity:
            assert read_activity.settings["jobname"] == activity["job"]
    for parameter in key["parameters"]:
        read_parameter = next(p for p in job.parameters if p.name == parameter["name"])
        assert read_parameter.default == parameter.get("default", "")
        assert read_parameter.values == parameter.get("values", [])
        assert read_parameter.extended_type in (parameter["type"], "")


def test_loop_backs_are_told_apart_by_their_input_pin():
    jobs = _jobs(SEQUENCES_ISX)
    backs = {(jobs[n].activities[link.source].name, jobs[n].activities[link.target].name)
             for n in jobs if jobs[n].kind == "sequence" for link in jobs[n].links if link.loop_back}
    assert backs == {("EL_FILES", "SL_FILES"), ("EL_DAYS", "SL_DAYS")}


@pytest.mark.parametrize("other", [SEQUENCES_XML, SEQUENCES_DSX], ids=["xml", "dsx"])
def test_the_three_containers_read_the_same_sequences(other):
    isx, read = _jobs(SEQUENCES_ISX), _jobs(other)
    for name in ("SQ_LEVELS", "SQ_CUSTOMER"):
        a, b = isx[name], read[name]
        assert {i: (x.name, x.class_name, x.values, x.invocation_id) for i, x in a.activities.items()} == {
            i: (x.name, x.class_name, x.values, x.invocation_id) for i, x in b.activities.items()}
        assert sorted(map(repr, a.links)) == sorted(map(repr, b.links))
        assert [(p.name, p.default, p.prompt, p.values, p.extended_type) for p in a.parameters] == [
            (p.name, p.default, p.prompt, p.values, p.extended_type) for p in b.parameters]
        assert a.options == b.options and a.job_control_code == b.job_control_code
        assert a.job_control_code.count("DSRunJob(") >= 1


def test_every_parallel_job_asset_is_read_xml_1_1_and_control_characters_included():
    isx = _jobs(PARALLEL / "DEMO_DWH_parallel.isx")
    assert {job.kind for job in isx.values()} == {"parallel"}
    with zipfile.ZipFile(PARALLEL / "DEMO_DWH_parallel.isx") as archive:
        assets = [n for n in archive.namelist() if n.endswith(".pjb")]
        with_control_references = [n for n in assets if b"&#x1D;" in archive.read(n) or b"&#x1E;" in archive.read(n)]
    assert len(isx) == len(assets) == 10
    assert with_control_references, "the corpus holds XML 1.1 assets with control-character references"
    dsx = _jobs(PARALLEL / "legacy_px.dsx")
    assert set(dsx) == {"PX_STG_CUSTOMER", "PX_FCT_TRANSACTION"} and {j.kind for j in dsx.values()} == {"parallel"}


def test_an_xml_1_1_value_keeps_its_control_characters():
    document = ('<?xml version="1.1" encoding="UTF-8"?>\n<ds:DSJobDefSDO xmlns:ds="x" name="J" jobType="Parallel">'
                '<has_ParameterDef name="P" defaultValue="a&#x1D;b&#x1E;c&#x9;d"/></ds:DSJobDefSDO>')
    (job,) = read_xmi(io.BytesIO(document.encode()), "inline.xml")
    assert isinstance(job, DsJob), job
    assert job.parameters[0].default == "a\x1db\x1ec\td"
