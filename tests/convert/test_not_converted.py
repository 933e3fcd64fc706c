"""What is not translated stays visible: the corpus's PX_CHECKSUM_HASH with one derivation changed to a function
the catalogue does not have. The report lists that derivation, untranslated, with why; the job is MANUAL; its
target is still a model — the generated project parses and the job's tag selects it — but the model does not
build: dbt stops it with the reasons, naming the stage, until someone writes it by hand."""

from __future__ import annotations

import copy

import pytest

from dcf.convert.job import convert_job
from dcf.convert.parts import MANUAL
from dcf.convert.rate import conversion_markdown
from tests.convert.corpus_rows import build_converted

pytestmark = pytest.mark.dbt
JOB = "PX_CHECKSUM_HASH"


def test_an_untranslated_derivation_leaves_a_model_that_stops_with_why(jobs, tmp_path) -> None:
    job = copy.deepcopy(jobs[JOB])
    [column] = [c for c in job.graph.link("lnk_parsed").columns if c.name == "MSG_TYPE"]
    column.derivation = "Soundex(lnk_msg.RAW_REF)"
    conversion = convert_job(job)
    assert conversion.tier == MANUAL
    [untranslated] = [d for d in conversion.derivations if not d.translated]
    assert (untranslated.target, untranslated.original) == ("lnk_parsed.MSG_TYPE", "Soundex(lnk_msg.RAW_REF)")
    assert "Soundex" in untranslated.note
    assert sum(d.translated for d in conversion.derivations) == len(conversion.derivations) - 1
    report = "\n".join(conversion_markdown([conversion]))
    assert "| lnk_parsed.MSG_TYPE | `Soundex(lnk_msg.RAW_REF)` | not translated: " in report
    assert "payment_check (to write by hand)" in report
    [model] = conversion.models
    assert model.placeholder and model.name == "payment_check"

    _project, _database, result = build_converted(tmp_path, job, conversion)

    assert not result.success
    [failed] = [r for r in result.result.results if r.node.name == "payment_check"]
    assert str(failed.status) == "error"
    assert "target ORA_TGT_PAYMENT_CHECK, is not converted" in failed.message
    assert "Soundex" in failed.message and "Write this model by hand" in failed.message
