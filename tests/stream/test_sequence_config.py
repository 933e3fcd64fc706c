"""The sequence grammar and graph checks: triggers, expressions and bad input, without running anything."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dcf.errors import ConfigError
from dcf.store.statuses import StageStatus
from dcf.stream.activities import Activity
from dcf.stream.definition import parse_stream_file
from dcf.stream.expressions import ExpressionError, parse_expression, render_template
from dcf.stream.sequence import Outcome, TriggerDecision, decide, outgoing, plan_lines

pytestmark = pytest.mark.unit
OK, WARN, FAILED, SKIPPED = (Outcome(StageStatus.COMPLETED), Outcome(StageStatus.COMPLETED_WITH_WARNINGS),
                             Outcome(StageStatus.FAILED), Outcome(StageStatus.SKIPPED))


def _values(mapping: dict) -> object:
    def resolve(ref: tuple[str, ...]) -> object:
        return mapping[".".join(ref)]

    return resolve


@pytest.mark.parametrize(("text", "values", "expected"), [
    ("a.$JobStatus = RUNOK", {"a.$JobStatus": 1}, True),
    ("a.$JobStatus = DSJS.RUNWARN Or a.$JobStatus = RUNFAILED", {"a.$JobStatus": 3}, True),
    ("Not (a.$ReturnValue <> 0) And b.count >= 10", {"a.$ReturnValue": 0, "b.count": "12"}, True),
    ("b.count > 9", {"b.count": "10"}, True),  # numbers compare as numbers, even from strings
    ("name < 'b'", {"name": "abc"}, True),  # strings compare as strings
    ("a.$CommandOutput : '-x' = 'y-x'", {"a.$CommandOutput": "y"}, True),
    ("process_date = '2024-03-01' and not 1 = 2", {"process_date": "2024-03-01"}, True),
    ("a.$UserStatus = 'READY_FOR_LOADING'", {"a.$UserStatus": "QUALITY_ISSUES"}, False),
])
def test_expressions_evaluate_without_eval(text, values, expected):
    assert parse_expression(text).evaluate(_values(values)) is expected


@pytest.mark.parametrize(("text", "message"), [
    ("a.$JobStatus = = 1", "expected a value, found '=' at column 16"),
    ("a.$JobStatus = 1 b", "expected And, Or or the end, found 'b' at column 18"),
    ("(a = 1", "expected ')'"),
    ("a.$Nope = 1", "an activity has $JobStatus"),
    ("__import__('os').system('x')", "expected And, Or or the end"),
    ("a = 1; b", "unexpected ';' at column 6"),
    ("DSJS.RUNSOMETIMES", "known are DSJS.RUNOK"),
])
def test_a_bad_expression_says_where(text, message):
    with pytest.raises(ExpressionError, match=None) as caught:
        parse_expression(text)
    assert message in str(caught.value)


def test_templates_fill_in_references():
    assert render_template("#a.x#-#process_date#-##", _values({"a.x": 3, "process_date": "2024-03-01"})) == \
        "3-2024-03-01-#"


def _activities(*items: dict) -> list[Activity]:
    return [Activity.model_validate(item) for item in items]


def test_triggers_fire_skip_and_wait_as_datastage_links_do():
    graph = _activities(
        {"name": "a", "set_vars": {"x": 1}},
        {"name": "b", "set_vars": {"x": 1}},
        {"name": "all_ok", "after": ["a", "b"], "set_vars": {"x": 1}},
        {"name": "any_ok", "after": ["a", "b"], "wait_for": "any", "set_vars": {"x": 1}},
        {"name": "on_fail", "after": {"a": "failed"}, "set_vars": {"x": 1}},
        {"name": "else", "after": {"a": "otherwise"}, "set_vars": {"x": 1}},
        {"name": "warned", "after": {"a": "warnings"}, "set_vars": {"x": 1}},
    )
    links = outgoing(graph)
    by_name = {a.name: a for a in graph}
    assert decide(by_name["all_ok"], {"a": OK}, links)[0] == TriggerDecision.WAIT
    assert decide(by_name["any_ok"], {"a": OK}, links)[0] == TriggerDecision.RUN, "any: one input is enough"
    assert decide(by_name["any_ok"], {"a": FAILED}, links)[0] == TriggerDecision.WAIT, "any: b may still fire"
    assert decide(by_name["any_ok"], {"a": FAILED, "b": SKIPPED}, links)[0] == TriggerDecision.SKIP
    assert decide(by_name["all_ok"], {"a": OK, "b": WARN}, links)[0] == TriggerDecision.SKIP, "ok is not warnings"
    assert decide(by_name["on_fail"], {"a": FAILED}, links)[0] == TriggerDecision.RUN
    # otherwise fires when no other trigger leaving a fires: a failed fires on_fail; a warned fires warned
    assert decide(by_name["else"], {"a": FAILED}, links)[0] == TriggerDecision.SKIP
    assert decide(by_name["else"], {"a": OK}, links)[0] == TriggerDecision.SKIP, "a ok fires all_ok/any_ok"
    assert decide(by_name["warned"], {"a": WARN}, links)[0] == TriggerDecision.RUN
    assert decide(by_name["else"], {"a": WARN}, links)[0] == TriggerDecision.SKIP


def _stream_file(tmp_path: Path, sequence: list, **extra) -> Path:
    data = {"stream": {"name": "BAD_SEQ", "id": 9}, "dbt": {"project_dir": "tests/fixtures/shop_dbt",
                                                          "select": ["package:shop"]},
            "sequence": sequence, **extra}
    path = tmp_path / "bad_seq.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(("sequence", "message", "line_text"), [
    ([{"name": "a", "command": ["true"]}, {"name": "b", "when": "a.$JobStatus = (", "command": ["true"]}],
     "sequence.1.when: activity b: when 'a.$JobStatus = (': expected a value, found the end", "when:"),
    ([{"name": "a", "command": "rm -rf /tmp/x && echo done"}],
     "sequence.0: command must be a list of arguments", "- name: a"),
    ([{"name": "a", "command": ["true"], "dbt": {}}],
     "sequence.0: an activity has exactly one kind key (dbt, stream, command, wait_for_file, set_vars, loop, "
     "notify, terminate, ingest, quality_gate, compare, sequencer, nested_condition); found dbt and command",
     "- name: a"),
    ([{"name": "outer", "command": ["true"]},
      {"name": "each", "loop": {"over": [1, 2], "as": "n", "do": [{"name": "x", "after": ["outer"],
                                                                  "command": ["true"]}]}}],
     "sequence.1.loop.do.0.after: activity x: after names an activity outside its loop body", "after:"),
    ([{"name": "a", "after": ["a"], "command": ["true"]}], "cycle of triggers: a -> a", "after:"),
    ([{"name": "metadata", "command": ["true"]}], "'metadata' is a DCF bookkeeping stage", "name: metadata"),
    ([{"name": "a", "command": ["echo", "#b.nothing#"]}, {"name": "b", "set_vars": {"x": 1}}],
     "activity 'b' sets no variable 'nothing'", "command:"),
    ([{"name": "a", "dbt": {"operation": "px_truncate_stage", "select": ["tag:x"]}}],
     "sequence.0.dbt: select: an operation runs a macro and builds nothing", "dbt:"),
    ([{"name": "a", "dbt": {"select": ["tag:x"], "args": {"table": "T"}}}],
     "sequence.0.dbt: args: only an operation takes args", "dbt:"),
    ([{"name": "a", "dbt": {"operation": "drop table x"}}],
     "dbt operation (macro name) 'drop table x' is not a plain SQL identifier", "operation:"),
])
def test_bad_sequence_input_is_one_line_with_its_yaml_line(tmp_path, sequence, message, line_text):
    path = _stream_file(tmp_path, sequence)
    with pytest.raises(ConfigError) as caught:
        parse_stream_file(path)
    text = str(caught.value)
    assert "\n" not in text and "bad_seq.yaml" in text and message in text, text
    line = int(re.search(r"\(line (\d+)\)$", text).group(1))
    assert line_text in path.read_text().splitlines()[line - 1], (text, line)


def test_the_shorthand_stream_is_one_activity_and_a_plan_lists_the_graph(tmp_path):
    path = tmp_path / "four.yaml"
    path.write_text(yaml.safe_dump({"stream": {"name": "FOUR", "id": 1},
                                    "dbt": {"project_dir": "tests/fixtures/shop_dbt", "select": ["package:shop"]}}))
    config = parse_stream_file(path).config
    assert [(a.name, a.kind, a.inputs) for a in config.activities] == [("dbt_build", "dbt", {})]
    graph = _activities({"name": "b", "after": {"a": "ok_or_warnings"}, "command": ["true"]},
                        {"name": "a", "command": ["true"]},
                        {"name": "c", "after": ["a", "b"], "wait_for": "any", "when": "a.$ReturnValue = 0",
                         "command": ["true"]})
    assert plan_lines(graph, []) == ["1. a [command] starts with the sequence",
                                     "2. b [command] after a ok_or_warnings",
                                     "3. c [command] after a ok or b ok, when a.$ReturnValue = 0"]


def _parameter_set(tmp_path: Path, name: str, content: dict | str) -> Path:
    folder = tmp_path / "parameter_sets"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
    return path


def test_a_shared_parameter_set_is_read_as_set_dot_name_and_its_file_is_part_of_the_stream_hash(tmp_path,
                                                                                                monkeypatch):
    set_file = _parameter_set(tmp_path, "PS_DB", {"parameter_set": "PS_DB", "parameters": {
        "server": {"default": "DEVDB", "prompt": "Database server"}, "level": {"default": "1", "values": ["1", "2"]}}})
    path = _stream_file(tmp_path, [{"name": "a", "command": ["echo", "#PS_DB.server#"]},
                                   {"name": "b", "after": ["a"], "when": "PS_DB.level = '2'", "command": ["true"]}],
                        parameter_sets=["PS_DB"], parameters={"mode": "full"})
    loaded = parse_stream_file(path)
    assert loaded.config.parameter_values() == {"mode": "full", "PS_DB.server": "DEVDB", "PS_DB.level": "1"}
    from dcf.errors import RefusedError
    from dcf.stream.run import prepare_run

    monkeypatch.setenv("DCF_STREAMS_DIR", str(tmp_path))
    run = prepare_run("BAD_SEQ", "2024-03-01", None, parameters={"PS_DB.server": "PRODDB"})
    assert run.parameter_values()["PS_DB.server"] == "PRODDB"
    with pytest.raises(RefusedError, match=r"parameter PS_DB.level = '3': must be one of \['1', '2'\]"):
        prepare_run("BAD_SEQ", "2024-03-01", None, parameters={"PS_DB.level": "3"})

    set_file.write_text(set_file.read_text().replace("DEVDB", "TESTDB"))
    assert parse_stream_file(path).sha256 != loaded.sha256, "a changed set changes the stream's hash"


@pytest.mark.parametrize(("set_content", "sequence", "message"), [
    (None, [{"name": "a", "command": ["true"]}], "parameter_sets.0: parameter set 'PS_DB': no file"),
    ({"parameter_set": "PS_OTHER", "parameters": {}}, [{"name": "a", "command": ["true"]}],
     "PS_DB.yaml: parameter_set: 'PS_OTHER' differs from the file's name 'PS_DB' (line 1)"),
    ({"parameter_set": "PS_DB", "parameters": {"db_pwd": "x"}}, [{"name": "a", "command": ["true"]}],
     "PS_DB.yaml: parameters.db_pwd: secrets do not belong in a parameter set"),
    ({"parameter_set": "PS_DB", "parameters": {"server": "x"}}, [{"name": "a", "command": ["echo", "#PS_DB.port#"]}],
     "'PS_DB.port': parameter set PS_DB has no parameter 'port'"),
    ({"parameter_set": "PS_DB", "parameters": {"server": "x"}}, [{"name": "PS_DB", "command": ["true"]}],
     "'PS_DB' is also an activity's name"),
])
def test_a_bad_parameter_set_is_one_line_naming_its_file(tmp_path, set_content, sequence, message):
    if set_content is not None:
        _parameter_set(tmp_path, "PS_DB", set_content)
    path = _stream_file(tmp_path, sequence, parameter_sets=["PS_DB"])
    with pytest.raises(ConfigError) as caught:
        parse_stream_file(path)
    text = str(caught.value)
    assert "\n" not in text and "bad_seq.yaml" in text and message in text, text
