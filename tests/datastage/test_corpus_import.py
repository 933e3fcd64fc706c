"""The import of the DEMO_DWH corpus as shipped: every stream loads, nothing secret or host-specific is written,
every trigger of the export is in the report once, and the three containers give the same streams."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
import yaml

from dcf.datastage.importer import import_exports
from dcf.stream.definition import parse_stream_file
from flows.import_datastage import main as import_main
from tests.datastage.corpus import SEQUENCES_DSX, SEQUENCES_ISX, SEQUENCES_XML, sequence_key

pytestmark = pytest.mark.unit


def _sets_only(path: Path) -> Path:
    """The corpus ISX's parameter-set assets alone (a DSX export holds no parameter set)."""
    with zipfile.ZipFile(SEQUENCES_ISX) as source, zipfile.ZipFile(path, "w") as target:
        for entry in source.namelist():
            if entry.endswith(".pst"):
                target.writestr(entry, source.read(entry))
    return path


def test_the_corpus_imports_into_streams_that_load_with_their_secrets_left_out(tmp_path):
    out = tmp_path / "imported"
    assert import_main([str(SEQUENCES_ISX), "--out", str(out)]) == 0
    written = sorted(out.glob("*.yaml"))
    assert [p.stem.upper() for p in written] == sorted(sequence_key())
    for path in written:
        parse_stream_file(path)
    texts = {p: p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file()}
    for path, text in texts.items():
        assert "{iisenc}" not in text, f"{path.name} holds a cipher text"
        assert "DSENGINE01" not in text and str(SEQUENCES_ISX.parent) not in text, f"{path.name}: host or path"
    shared = yaml.safe_load((out / "parameter_sets" / "PS_SRC.yaml").read_text())
    assert shared["parameters"]["SRC_PASSWORD"] == {"secret_block": "ps-src-src-password", "prompt": "Password"}
    report = (out / "migration_report.md").read_text(encoding="utf-8")
    assert "## Blocks to create" in report and "`ps-src-src-password`" in report
    # every trigger of the export exactly once in the report, whatever became of it
    entries = json.loads((out / "migration_report.json").read_text())["entries"]
    for name, key in sequence_key().items():
        triggers = sorted(e["name"].split(" (")[0] for e in entries if e["sequence"] == name and e["what"] == "trigger")
        assert triggers == sorted(t["name"] for t in key["triggers"]), name
        activities = sorted(e["name"] for e in entries if e["sequence"] == name and e["what"] == "activity")
        assert activities == sorted(a["name"] for a in key["activities"]), name


def _streams(out: Path) -> dict[str, dict]:
    streams = {}
    for path in out.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["stream"].pop("id")  # allocated in the order of the sequences an import holds
        streams[data["stream"]["name"]] = data
    return streams


def test_the_xml_and_dsx_forms_import_to_the_same_streams_as_the_isx(tmp_path):
    isx = _streams(_imported([SEQUENCES_ISX], tmp_path / "isx"))
    xml = _streams(_imported([SEQUENCES_XML], tmp_path / "xml"))
    dsx = _streams(_imported([SEQUENCES_DSX, _sets_only(tmp_path / "sets.isx")], tmp_path / "dsx"))
    assert set(xml) == set(dsx) == {"SQ_LEVELS", "SQ_CUSTOMER"}
    for name in xml:
        assert xml[name] == isx[name], name
        assert dsx[name] == isx[name], name


def _imported(exports: list[Path], out: Path) -> Path:
    result = import_exports(exports, out=out)
    assert not result.not_loading and not result.problems, result.problems
    return out


def test_a_shell_command_runs_as_datastage_ran_it_quotes_and_globs_included(tmp_path):
    """XC_LIST_FILES ("lists the account files as one |-separated line", the key's `output`) and XC_ARCHIVE
    (a glob) run from the imported YAML: re-joining the words of a shell line loses its quoting, and
    `tr '\\n' '|'` then becomes a pipe."""
    import subprocess

    [files] = [s for s in _streams(_imported([SEQUENCES_ISX], tmp_path / "out")).values()
               if s["stream"]["name"] == "SQ_FILES"]
    commands = {a["name"]: a["command"] for a in files["sequence"] if "command" in a}
    landing = tmp_path / "landing"
    (landing / "in").mkdir(parents=True)
    (landing / "archive").mkdir()
    for name in ("ACCOUNTS_20240131_01.csv", "ACCOUNTS_20240131_02.csv", "ACCOUNTS.ready", "NOTES.txt"):
        (landing / "in" / name).touch()

    def run(argv: list[str]) -> str:
        values = {"#PS_ENV.LANDING_DIR#": str(landing), "#PM_RUN_DATE#": "2024-01-31"}
        for reference, value in values.items():
            argv = [part.replace(reference, value) for part in argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    [listing] = [s for s in sequence_key()["SQ_FILES"]["scenarios"] if s["id"] == "files-3"]
    assert "|" in listing["given"]["commands"]["XC_LIST_FILES"]["output"]  # the form the key says it prints
    assert run(commands["XC_LIST_FILES"]).strip() == "ACCOUNTS_20240131_01.csv|ACCOUNTS_20240131_02.csv"
    run(commands["XC_ARCHIVE"])
    assert sorted(p.name for p in (landing / "archive").iterdir()) == [
        "ACCOUNTS_20240131_01.csv", "ACCOUNTS_20240131_02.csv", "accounts_2024-01-31.ok"]


def test_a_job_activity_is_checked_against_the_parameters_of_the_job_it_calls(tmp_path):
    """Imported with the parallel jobs, each job activity's note names what it passes that the called job (as
    exported) does not define, and the job's parameters left at their defaults — both computed here from the two
    answer keys (the activities' passes, the jobs' parameter lists)."""
    from tests.datastage.corpus import PARALLEL, parallel_key

    result = import_exports([SEQUENCES_ISX, PARALLEL / "DEMO_DWH_parallel.isx"], out=tmp_path / "out")
    notes = {(e.sequence, e.name): e.note for e in result.entries if e.what == "activity"}
    checked = 0
    for name, sequence in sequence_key().items():
        for activity in sequence["activities"]:
            if activity["class"] != "JSJobActivity" or activity["job"] not in parallel_key():
                continue
            job = activity["job"]
            defined = parallel_key()[job]["parameters"]
            unknown = {p for p in activity.get("passes", {}) if p not in defined}
            note = notes[(name, activity["name"])]
            said = re.search(rf"passes ([^;]*), which job {job} as exported does not define", note)
            assert set(said.group(1).split(", ")) == unknown, note
            defaulted = {p for p in defined if p not in activity["passes"] and not p.startswith("$")}
            kept = re.search(rf"; ([^;]*) of {job} keep their defaults", note)
            assert set(kept.group(1).split(", ")) == defaulted, note
            checked += 1
    assert checked == 12
