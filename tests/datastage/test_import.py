"""DataStage import: the three containers, the mapping onto stream YAMLs, the report, hostile exports."""

from __future__ import annotations

import re
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from dcf.datastage.containers import read_export
from dcf.datastage.importer import import_exports
from dcf.datastage.mapping import JobMap
from dcf.datastage.model import DsJob, ReadProblem
from dcf.paths import PROJECT_ROOT

pytestmark = pytest.mark.unit
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "datastage"
DSX = FIXTURES / "orders_project.dsx"
XML = FIXTURES / "daily_export.xml"
LEGACY = FIXTURES / "legacy_export.xml"  # the older <DSExport><Job><Record> form
JOB_MAP = JobMap({"PxLoadCustomers": "+customers", "PxLoadOrders": ["+orders"], "PxWeekly": "+orders"})


def build_isx(path: Path) -> Path:
    """The ISX fixture: the XML assets under tests/fixtures/datastage/isx, zipped as an ISX export holds them."""
    root = FIXTURES / "isx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("META-INF/IS-MANIFEST.MF", "Manifest-Version: 1.0\n")
        for asset in sorted(root.rglob("*.*")):
            archive.write(asset, f"DSENGINE/ORDERS/{asset.relative_to(root)}")
    return path


def _fixture_counts() -> dict[str, tuple[int, int]]:
    """Activities and triggers per sequence, counted from the fixture files' text (not by the importer)."""
    counts: dict[str, tuple[int, int]] = {}
    for job in re.split(r"^BEGIN DSJOB$", DSX.read_text(), flags=re.M)[1:]:
        if 'JobType "2"' in job:
            name = re.search(r'Identifier "ROOT".*?Name "([^"]+)"', job, re.S).group(1)
            activities = len(re.findall(r'OLEType "CJS(?!ActivityOutput|ActivityInput)', job))
            counts[name] = (activities, job.count('OLEType "CJSActivityOutput"'))
    for job in re.split(r"<Job ", LEGACY.read_text())[1:]:
        if '<Property Name="JobType">2<' in job:
            name = re.search(r'<Property Name="Name">([^<]+)<', job).group(1)
            counts[name] = (len(re.findall(r'Type="JS(?!ActivityOutput|ActivityInput)', job)),
                            job.count('Type="JSActivityOutput"'))
    for text in [*(p.read_text() for p in (FIXTURES / "isx").rglob("*.qjb")), XML.read_text()]:
        for job in re.split(r"<ds:DSJobDefSDO ", text)[1:]:
            if 'jobType="Sequence"' in job:
                name = re.match(r'[^>]*name="([^"]+)"', job).group(1)
                counts[name] = (job.count('"ds:DSStageSDO"'), job.count('"ds:DSLinkSDO"'))
    return counts


def test_every_container_is_recognised_by_content_and_read(tmp_path):
    isx = build_isx(tmp_path / "export.bin")  # the extension says nothing
    jobs = {item.name: item for source in (DSX, XML, isx, LEGACY) for item in read_export(source)
            if isinstance(item, DsJob)}
    assert {name: job.kind for name, job in jobs.items()} == {
        "SqLoadOrders": "sequence", "SqChild": "sequence", "PxLoadCustomers": "parallel", "SvDriver": "server",
        "SqWeekly": "sequence",
        "PxWeekly": "parallel", "SqDaily": "sequence", "PS_Orders": "parameter_set", "SqLegacy": "sequence",
        "PxLegacy": "parallel"}
    counts = _fixture_counts()
    for name, (activities, links) in counts.items():
        assert (len(jobs[name].activities), len(jobs[name].links)) == (activities, links), name
    assert jobs["SqDaily"].folder == "Jobs/Daily" and jobs["SqLegacy"].folder == "Jobs/Legacy"
    assert [p.values for p in jobs["SqLoadOrders"].parameters] == [["EMEA", "APAC"], []]


def test_hostile_exports_are_refused_one_line_each_and_the_others_still_import(tmp_path):
    truncated = tmp_path / "truncated.isx"
    truncated.write_bytes(build_isx(tmp_path / "whole.isx").read_bytes()[:300])
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
                    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]>\n<x><ds:DSJobDefSDO xmlns:ds="d" name="&c;"/></x>\n')
    unterminated = tmp_path / "unterminated.dsx"
    unterminated.write_text(DSX.read_text().split("BEGIN DSJOB\n   Identifier \"SqChild\"")[0]
                            + 'BEGIN DSJOB\n   Identifier "SqBroken"\n   BEGIN DSRECORD\n      Identifier "ROOT"\n')
    colliding = tmp_path / "colliding.dsx"
    colliding.write_text(DSX.read_text().replace('"SqChild"', '"Sq-Child"').replace("Jobname \"SqChild\"", "x")
                         + DSX.read_text().split("END DSJOB\n", 1)[1].split("BEGIN DSJOB\n   Identifier \"PxLoad")[0]
                         .replace('"SqChild"', '"Sq_Child"'))
    old_form = tmp_path / "old.xml"
    old_form.write_text('<?xml version="1.0"?>\n<DSExport><Job Identifier="SqOld"/></DSExport>\n')
    result = import_exports([truncated, bomb, unterminated, colliding, old_form, XML], out=tmp_path / "out",
                            job_map=JOB_MAP)

    problems = "\n".join(result.problems)
    assert f"{truncated}: not a readable ISX archive" in problems
    assert f"{bomb}: refused: EntitiesForbidden" in problems
    assert f"{unterminated}: the file ends inside DSJOB SqBroken" in problems
    assert f"{old_form}: no job definition in this XML" in problems
    assert "job Sq_Child: its stream name SQ_CHILD collides with job Sq-Child" in problems
    assert "job Sq-Child: not a valid identifier; imported as stream SQ_CHILD" in problems
    assert all("\n" not in p for p in result.problems)
    assert {p.name for p in result.written} >= {"sqweekly.yaml", "sqloadorders.yaml", "sq_child.yaml"}


def test_a_large_dsx_of_parallel_jobs_streams_through(tmp_path):
    """50 MB of generated parallel-job OSH: read record by record, the sequence in it still found."""
    big = tmp_path / "big.dsx"
    # OSH as exports carry it: operator blocks of long option lines
    osh = ("## Operator\ncopy\n## General options\n" + "[ident('Customers'); jobmon_ident('Customers')] " * 8
           + "\n") * 400
    with big.open("w") as out:
        out.write(DSX.read_text().split("BEGIN DSJOB\n   Identifier \"PxLoadCustomers\"")[0])
        number = 0
        while out.tell() < 50_000_000:
            number += 1
            out.write(f'BEGIN DSJOB\n   Identifier "Px{number}"\n   BEGIN DSRECORD\n      Identifier "ROOT"\n'
                      f'      OLEType "CJobDefn"\n      Name "Px{number}"\n      JobType "3"\n'
                      f"      OrchestrateCode =+=+=+=\n{osh}=+=+=+=\n   END DSRECORD\nEND DSJOB\n")
    tracemalloc.start()
    items = list(read_export(big))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20_000_000, f"{peak:,} bytes at peak for a 50 MB file: the reader must stream"
    assert not [i for i in items if isinstance(i, ReadProblem)]
    kinds = [i.kind for i in items]
    assert kinds.count("sequence") == 2 and kinds.count("parallel") == number
