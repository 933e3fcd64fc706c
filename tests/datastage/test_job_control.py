"""The compiled job control as a witness: on the corpus it agrees with every graph read, in every container;
a graph that differs from it (a trigger lost, a condition misread, an expression changed, a job swapped) is
reported, one line naming both sides."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from dcf.datastage.containers import read_export
from dcf.datastage.job_control import check_job_control
from dcf.datastage.model import DsJob
from tests.datastage.corpus import SEQUENCES_DSX, SEQUENCES_ISX, SEQUENCES_XML

pytestmark = pytest.mark.unit


def _sequences(path) -> dict[str, DsJob]:
    return {j.name: j for j in read_export(path) if isinstance(j, DsJob) and j.kind == "sequence"}


@pytest.mark.parametrize("export", [SEQUENCES_ISX, SEQUENCES_XML, SEQUENCES_DSX], ids=["isx", "xml", "dsx"])
def test_every_sequence_agrees_with_its_compiled_job_control(export):
    sequences = _sequences(export)
    assert sequences
    assert {name: check_job_control(job) for name, job in sequences.items()} == {name: [] for name in sequences}


def _link(job: DsJob, name: str):
    return next(link for link in job.links if link.name == name)


def test_a_graph_that_differs_from_the_job_control_is_reported_with_both_sides():
    levels = _sequences(SEQUENCES_ISX)["SQ_LEVELS"]
    lost = copy.deepcopy(levels)
    lost.links.remove(_link(lost, "L_DIM"))
    assert check_job_control(lost) == ["the job control jumps from NC_START to SEQ_DIM: no trigger of the graph does"]

    misread = copy.deepcopy(levels)
    index = misread.links.index(_link(misread, "DSLink5"))
    misread.links[index] = dataclasses.replace(misread.links[index], condition_type="0")
    assert check_job_control(misread) == [
        "trigger DSLink5 (JA_STG -> NC_AFTER_STG): ConditionType 0 in the graph, a ok test in the job control"]

    changed = copy.deepcopy(levels)
    index = changed.links.index(_link(changed, "L_STG"))
    changed.links[index] = dataclasses.replace(changed.links[index], expression='LEVEL = "1" And LEVEL >= 4')
    (line,) = check_job_control(changed)
    assert "the graph tests 'LEVEL = \"1\" And LEVEL >= 4', the job control '(LEVEL = \"1\" Or LEVEL >= 4)'" in line

    swapped = copy.deepcopy(levels)
    swapped.activities["V0S0"].settings["jobname"] = "PX_OTHER"
    assert check_job_control(swapped) == [
        "activity JA_STG: the graph runs job PX_OTHER, the job control attaches PX_STG_CUSTOMER"]
