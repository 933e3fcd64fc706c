"""Every scenario of the corpus's answer key (replayed by its authors on each sequence's compiled job control),
driven through the what-if plan of the imported stream: the same activities, in the same order, and the same
final status."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcf.datastage.importer import import_exports
from dcf.stream.definition import parse_stream_file
from dcf.stream.what_if import Assumptions, what_if
from tests.datastage.corpus import SEQUENCES_ISX, sequence_key

pytestmark = pytest.mark.unit
#: The key's runtime: "PS_ENV.LANDING_DIR = /data/demo_dwh/landing, PS_ENV.ENV_NAME = PRD".
RUNTIME = {"PS_ENV.LANDING_DIR": "/data/demo_dwh/landing", "PS_ENV.ENV_NAME": "PRD"}
SCENARIOS = [(name, scenario) for name, key in sorted(sequence_key().items()) for scenario in key["scenarios"]]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("imported")
    result = import_exports([SEQUENCES_ISX], out=out)
    assert not result.not_loading
    return out


def _assumptions(given: dict, names: dict[str, str]) -> Assumptions:
    outcomes: dict[str, object] = {}
    for group in ("jobs", "commands", "routines", "wait_for_file"):
        for activity, outcome in (given.get(group) or {}).items():
            outcomes[names[activity]] = outcome
    return Assumptions(parameters={**RUNTIME, **{k: str(v) for k, v in (given.get("parameters") or {}).items()}},
                       outcomes=outcomes)


def _as_datastage(runs: list[str], names: dict[str, str], handler: str) -> list[str]:
    """The plan's rows as the key names them: DataStage names, the handler for on_failure."""
    back = {stream: datastage for datastage, stream in names.items()}
    shown = []
    for row in runs:
        if row == "on_failure":
            shown.append(handler)
            continue
        row = row.removeprefix("on_failure:")
        name, hash_, number = row.partition("#")
        name = back.get(name.removesuffix("_on_failure"), name)
        shown.append(f"{name}{hash_}{number}")
    return shown


@pytest.mark.parametrize(("sequence", "scenario"), SCENARIOS, ids=[s["id"] for _, s in SCENARIOS])
def test_each_scenario_of_the_answer_key_is_what_the_imported_stream_plans(imported, sequence, scenario):
    config = parse_stream_file(imported / f"{sequence.lower()}.yaml").config
    names = config.datastage.activities
    handler = next((a["name"] for a in sequence_key()[sequence]["activities"]
                    if a["class"] == "JSExceptionHandler"), "")
    plan = what_if(config, _assumptions(scenario.get("given") or {}, names))
    assert (_as_datastage(plan.runs, names, handler), plan.final) == (scenario["runs"], scenario["final"]), \
        scenario["why"]


#: Keys the answer key lists that the stream hands on differently, and why: a password stays in its Prefect
#: Secret block (the child reads it there); a parameter set passed whole is handed member by member.
NOT_HANDED = {"PM_NZ_PASSWORD": "a password: read from its secret block, never passed",
              "PS_SRC": "a parameter set passed whole: its members are passed"}
WITH_JOB_PARAMETERS = [(q, s) for q, s in SCENARIOS if s.get("job_parameters")]


@pytest.mark.parametrize(("sequence", "scenario"), WITH_JOB_PARAMETERS, ids=[s["id"] for _, s in WITH_JOB_PARAMETERS])
def test_each_job_of_a_scenario_is_handed_the_values_the_answer_key_says(imported, sequence, scenario):
    """DSSetParam as the compiled job control does it, against what each imported activity is handed (dbt vars,
    child stream parameters) in the same scenario; a multi-instance job's invocation is ``job.<id>``."""
    config = parse_stream_file(imported / f"{sequence.lower()}.yaml").config
    names = config.datastage.activities
    plan = what_if(config, _assumptions(scenario.get("given") or {}, names))
    jobs = {a["name"]: a.get("job") for a in sequence_key()[sequence]["activities"]}
    for run, expected in scenario["job_parameters"].items():
        [row] = [r for r in plan.passed if _as_datastage([r], names, "")[0] == run]
        handed = dict(plan.passed[row])
        if "dcf_invocation_id" in handed:
            handed["@invocation"] = f"{jobs[run.partition('#')[0]]}.{handed.pop('dcf_invocation_id')}"
        wanted = {k: v for k, v in expected.items() if k not in NOT_HANDED}
        assert {k: handed.get(k) for k in wanted} == wanted, (run, handed)
        assert not NOT_HANDED.keys() & handed.keys(), (run, handed)


def test_make_run_validate_prints_the_what_if_plan_of_an_imported_stream(imported, monkeypatch, capsys):
    from flows.run_local import main

    monkeypatch.setenv("DCF_STREAMS_DIR", str(imported))
    assume = "{XC_LIST_FILES: {reply: 0, output: 'a.csv|b.csv|c.csv'}, JA_LOAD_ACCOUNTS: [1, 3, 1]}"
    assert main(["--stream", "SQ_FILES", "--mode", "VALIDATE", "--assume", assume]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == ["1. WF_TRIGGER_FILE", "2. XC_LIST_FILES", "3. UV_FILE#1", "4. JA_LOAD_ACCOUNTS#1",
                         "5. UV_FILE#2", "6. JA_LOAD_ACCOUNTS#2", "7. on_failure", "8. on_failure:TA_FILES_ABORT",
                         "final: aborted with handler run"]
    assert main(["--stream", "SQ_FILES", "--mode", "VALIDATE", "--assume", "{NO_SUCH: 3}"]) == 2
    assert "error: assume: NO_SUCH: no such activity in SQ_FILES" in capsys.readouterr().err
