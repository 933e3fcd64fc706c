"""Stream YAML validation: one actionable line per broken file, and nothing written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dcf.errors import ConfigError
from dcf.paths import PROJECT_ROOT
from dcf.stream.definition import load_all_streams, load_stream

BCFINSG = PROJECT_ROOT / "configs" / "streams" / "bcfinsg_plan_baln_segm_load.yaml"


def test_the_bcfinsg_stream_is_complete():
    stream = load_stream("BCFINSG_PLAN_BALN_SEGM_LOAD").config
    assert (stream.stream.id, stream.stream.status) == (1490, "ACTIVE")
    assert stream.datastage.sequence == "SQ60BCFINSGLdPlnBalSegMstr"
    assert set(stream.datastage.activities) == {
        "JobOccrStart", "GetODSProcId", "GetFileList", "LdBCFINSGPlanBalnSegmMstr",
        "GDWUtilProcessMetaDataFL", "MvLoadFiles", "report",
    }
    assert (stream.quality.load_threshold, stream.quality.high_threshold) == (70, 85)
    assert stream.lifecycle.retention_days == 2555
    assert stream.dbt.project_path.is_dir()
    # by file stem and by path, too
    assert load_stream("bcfinsg_plan_baln_segm_load").name == load_stream(BCFINSG).name


def _broken(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(BCFINSG.read_text())
    edit(data)
    path = tmp_path / "streams" / "broken.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _misspelt(d):
    d["dbt"]["selct"] = d["dbt"].pop("select")


def _wrong_type(d):
    d["lifecycle"]["retention_days"] = "seven years"


def _missing(d):
    del d["stream"]["id"]


def _secret(d):
    d["dbt"]["vars"]["snowflake_password"] = "hunter2"


def _bad_identifier(d):
    d["source"]["relation"] = "RAW.X; DROP TABLE Y"


def _bad_block_name(d):
    d["report"]["notification_blocks"] = ["just-a-name"]


CASES = {
    "misspelt key": (_misspelt, "dbt.selct: unknown key"),
    "wrong type": (_wrong_type, "lifecycle.retention_days: Input should be a valid integer"),
    "missing field": (_missing, "stream.id: required field is missing"),
    "secret in yaml": (_secret, "dbt.vars.snowflake_password: secrets do not belong"),
    "bad identifier": (_bad_identifier, "is not a plain SQL identifier"),
    "bad block name": (_bad_block_name, "report.notification_blocks: 'just-a-name' must be '<block-type-slug>/"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_broken_yaml_names_file_field_and_line(tmp_path, case):
    edit, expected = CASES[case]
    path = _broken(tmp_path, edit)
    with pytest.raises(ConfigError) as raised:
        load_stream(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(str(path)) or message.startswith("broken.yaml") or "broken.yaml" in message
    assert expected in message
    if case != "bad identifier":
        assert "(line " in message


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("stream:\n  name: X\n  id: [1, 2\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: not valid YAML: .*\(line \d+\)"):
        load_stream(path)


def test_unknown_stream_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown stream 'NO_SUCH_STREAM'; known streams: .*BCFINSG"):
        load_stream("NO_SUCH_STREAM")


def test_duplicate_stream_ids_are_refused(tmp_path, monkeypatch):
    streams = tmp_path / "streams"
    streams.mkdir()
    for name in ("a.yaml", "b.yaml"):
        (streams / name).write_text(BCFINSG.read_text())
    monkeypatch.setenv("DCF_STREAMS_DIR", str(streams))
    with pytest.raises(ConfigError, match="already used by"):
        load_all_streams()


def _run_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("case", list(CASES))
def test_control_tables_refuses_a_broken_stream_and_creates_nothing(tmp_path, dcf_home, monkeypatch, capsys, case):
    from flows.control_tables import main

    edit, expected = CASES[case]
    path = _broken(tmp_path, edit)
    monkeypatch.setenv("DCF_STREAMS_DIR", str(path.parent))
    assert main([]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    assert not (dcf_home / "warehouse.duckdb").exists()


@pytest.mark.e2e  # flows.control_tables starts an ephemeral Prefect server
def test_the_real_cli_exits_non_zero_with_one_line(tmp_path, dcf_home):
    path = _broken(tmp_path, _misspelt)
    env = {**os.environ, "DCF_STREAMS_DIR": str(path.parent), "PYTHONPATH": str(PROJECT_ROOT)}
    result = _run_cli("-m", "flows.control_tables", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "dbt.selct: unknown key" in result.stderr
    assert not (dcf_home / "warehouse.duckdb").exists()


def test_config_cli_validates_every_stream():
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    ok = _run_cli("-m", "dcf.config", env=env)
    assert ok.returncode == 0 and "stream 1490 BCFINSG_PLAN_BALN_SEGM_LOAD" in ok.stdout
    unknown = _run_cli("-m", "dcf.config", "NOPE", env=env)
    assert unknown.returncode == 2 and "unknown stream 'NOPE'" in unknown.stderr


def test_four_keys_make_a_stream(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text("stream: {name: SHOP, id: 9}\ndbt: {project_dir: tests/fixtures/shop_dbt, select: [x]}\n")
    config = load_stream(path).config
    assert (config.source, config.quality, config.target) == (None, None, None)
    assert config.dbt.profiles_path is None, "no profiles dir named: the build writes one for the warehouse"


def test_a_quality_gate_without_a_target_is_refused_with_its_line(tmp_path):
    path = tmp_path / "gate.yaml"
    path.write_text("stream: {name: SHOP, id: 9}\ndbt: {project_dir: x, select: [x]}\nquality: {model: q}\n")
    with pytest.raises(ConfigError, match=r"gate\.yaml: .*quality needs target"):
        load_stream(path)


def _hostile(tmp_path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    """The billion-laughs shape: nine levels of ten aliases would expand to 10^9 strings."""
    lines = ['a0: &a0 "lol"']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    path = _hostile(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"bomb\.yaml: more than 50 aliases \(\*a\d, line \d+\): refused"):
        load_stream(path)


def test_a_stream_yaml_over_one_megabyte_is_refused_unread(tmp_path):
    path = _hostile(tmp_path, "huge.yaml", "stream: {name: X, id: 1}\n" + "# padding\n" * 120_000)
    with pytest.raises(ConfigError, match=r"huge\.yaml: 1,[0-9,]+ bytes; a stream YAML may be at most 1,000,000"):
        load_stream(path)


def test_non_utf8_is_one_line_with_the_byte_offset(tmp_path):
    prefix = b"stream:\n  name: X\n  description: caf"
    path = _hostile(tmp_path, "latin1.yaml", prefix + b"\xe9\n")  # Latin-1 "cafe" with an acute accent
    with pytest.raises(ConfigError) as raised:
        load_stream(path)
    assert str(raised.value).endswith(f"latin1.yaml: not UTF-8 text (byte {len(prefix)} is b'\\xe9')")


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    path = _hostile(tmp_path, "twice.yaml", "stream: {name: X, id: 1}\ndbt:\n  project_dir: a\n  select: [x]\n"
                                            "  project_dir: b\n")
    with pytest.raises(ConfigError, match=r"twice\.yaml: key 'project_dir' is given twice in one mapping "
                                          r"\(lines 3 and 5\); keep one"):
        load_stream(path)


def test_an_identifier_error_names_the_field_and_the_line(tmp_path):
    path = _broken(tmp_path, _bad_identifier)
    with pytest.raises(ConfigError) as raised:
        load_stream(path)
    assert "source.relation: " in str(raised.value) and "is not a plain SQL identifier" in str(raised.value)
    assert "(line " in str(raised.value)


@pytest.mark.parametrize("key", ["db_pwd", "credentials", "api-key", "authToken", "passphrase", "key",
                                 "ssh_key", "pass"])
def test_every_secret_looking_key_is_refused(tmp_path, key):
    path = _broken(tmp_path, lambda d: d["dbt"]["vars"].update({key: "x"}))
    with pytest.raises(ConfigError, match=rf"dbt\.vars\.{re.escape(key)}: secrets do not belong"):
        load_stream(path)


@pytest.mark.parametrize("key", ["primary_key", "unique_key", "passenger_count", "author", "keystone"])
def test_ordinary_keys_are_not_taken_for_secrets(key):
    from dcf.stream.yaml_source import looks_secret

    assert not looks_secret(key)


@pytest.mark.parametrize("name", ["../../etc/passwd", "configs/streams/bcfinsg_plan_baln_segm_load.yaml",
                                  str(BCFINSG), "BCFINSG PLAN", ""])
def test_a_run_names_its_stream_never_a_path(name):
    from dcf.stream.run import prepare_run

    with pytest.raises(ConfigError, match="never by a path"):
        prepare_run(name, None, None)


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda d: d["source"]["landing"].update(glob="../../../outside/*.csv"),
     "source.landing.glob: '../../../outside/*.csv' must be a file-name pattern inside landing.directory"),
    (lambda d: d["source"]["landing"].update(directory="/etc"), "source.landing.directory: '/etc' resolves to"),
    (lambda d: d["lifecycle"].update(archive_dir="../x"), "lifecycle.archive_dir: '../x' resolves to"),
    (lambda d: d["source"]["landing"].update(glob="*.csv"), "does not contain the process date"),
], ids=["glob-escapes", "landing-outside", "archive-outside", "glob-without-date"])
def test_paths_stay_inside_their_roots(tmp_path, dcf_home, edit, expected):
    path = _broken(tmp_path, edit)
    with pytest.raises(ConfigError) as raised:
        load_stream(path)
    assert expected in str(raised.value) and "(line " in str(raised.value), str(raised.value)


def test_allowed_roots_and_any_file_are_the_explicit_ways_out(tmp_path, dcf_home):
    mount = tmp_path / "mnt" / "landing"

    def edit(d):
        d["allowed_roots"] = [str(tmp_path / "mnt")]
        d["source"]["landing"].update(directory=str(mount), glob="*.csv", any_file=True)

    config = load_stream(_broken(tmp_path, edit)).config
    assert config.source.landing.directory == str(mount) and config.source.landing.any_file


def test_config_cli_lists_every_broken_file_not_only_the_first(tmp_path):
    folder = tmp_path / "streams"
    folder.mkdir()
    (folder / "a_bad.yaml").write_text("stream: {name: A_BAD, id: 1}\ndbt: {project_dir: x, selct: [y]}\n")
    (folder / "b_bad.yaml").write_text("stream: {name: B_BAD, id: 2}\n")
    (folder / "c_good.yaml").write_text("stream: {name: C_GOOD, id: 3}\ndbt: {project_dir: x, select: [y]}\n")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "DCF_STREAMS_DIR": str(folder)}
    result = _run_cli("-m", "dcf.config", env=env)
    assert result.returncode == 2
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and "a_bad.yaml" in errors[0] and "selct" in errors[0] and "b_bad.yaml" in errors[1]
    assert "stream 3 C_GOOD" in result.stdout


def _stream_file(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "streams" / f"{data['stream']['name'].lower()}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


DBT_CASES = {
    "commands only: no dbt section": ({}, [{"name": "a", "command": ["true"]}], None),
    "each activity selects its own": ({"project_dir": "dbt/gdw1"}, [{"name": "a", "dbt": {"select": ["x"]}}], None),
    "a dbt activity, no dbt section": ({}, [{"name": "a", "dbt": {"select": ["x"]}}],
                                       "dbt: required field is missing (activity a builds with dbt"),
    "an activity relying on dbt.select": ({"project_dir": "dbt/gdw1"}, [{"name": "a", "dbt": {}}],
                                          "dbt.select: required field is missing (activity a selects nothing"),
}


@pytest.mark.parametrize("case", list(DBT_CASES))
def test_the_stream_dbt_section_is_required_only_where_an_activity_relies_on_it(tmp_path, case):
    dbt, sequence, expected = DBT_CASES[case]
    data = {"stream": {"name": "NO_DBT", "id": 9401}, **({"dbt": dbt} if dbt else {}), "sequence": sequence}
    path = _stream_file(tmp_path, data)
    if expected is None:
        assert load_stream(path).config.activities[0].name == "a"
        return
    with pytest.raises(ConfigError) as raised:
        load_stream(path)
    assert expected in str(raised.value) and "no_dbt.yaml" in str(raised.value), raised.value
