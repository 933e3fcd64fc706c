"""Streams are DataStage sequences: an activity graph with triggers, run by the one stream flow.

Real runs on the embedded default: the shop dbt project for the dbt activities, real subprocesses for the
commands, a real webhook block on a loopback server for the notification, a child stream as a real subflow.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
import uuid
from datetime import date
from pathlib import Path

import pytest
import yaml

from dcf.paths import dcf_home
from tests.streams import query

pytestmark = pytest.mark.e2e
DAY = date(2024, 3, 1)
PY = sys.executable
SHOP_DBT = {"project_dir": "tests/fixtures/shop_dbt", "select": ["package:shop"]}


def _write_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *streams: dict) -> None:
    folder = tmp_path / "streams"
    folder.mkdir(exist_ok=True)
    for data in streams:
        (folder / f"{data['stream']['name'].lower()}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv("DCF_STREAMS_DIR", str(folder))


def _py(code: str) -> list[str]:
    return [PY, "-c", code]


def _run(stream: str, **parameters):
    from flows.stream_load import stream_load

    return stream_load(stream=stream, process_date=DAY, return_state=True, **parameters)


def _rows(prcs_inst_id: int | None = None) -> dict[str, dict]:
    where = "" if prcs_inst_id is None else f"WHERE PRCS_INST_ID = {int(prcs_inst_id)}"
    return {r["PRCS_NAME"]: r for r in query(f"SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG {where}")}


def _statuses(prcs_inst_id: int) -> dict[str, str]:
    return {name: row["PRCS_STATUS"] for name, row in _rows(prcs_inst_id).items()}


class _Webhook:
    """A loopback HTTP server a real Prefect webhook block posts to."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def block(self) -> str:
        from prefect.blocks.notifications import CustomWebhookNotificationBlock

        name = f"seq-{uuid.uuid4().hex[:8]}"
        CustomWebhookNotificationBlock(name="seq", url=f"http://127.0.0.1:{self.server.server_port}/hook",
                                       json_data={"subject": "{{subject}}", "text": "{{body}}"}).save(name)
        return f"custom-webhook/{name}"


def _every_kind_stream(block: str) -> dict:
    """Every activity kind and every trigger form; ``final`` fails unless the run's batch id says otherwise."""
    return {
        "stream": {"name": "SEQ_ALL", "id": 3201},
        "dbt": SHOP_DBT,
        "max_parallel": 4,
        "sequence": [
            {"name": "setup", "set_vars": {"region": "'EMEA'", "limit": 2}},
            {"name": "stop", "after": ["setup"], "when": "batch_id = 'STOP'",
             "terminate": "stopped for #process_date#"},
            # two independent dbt builds (each its own JOB row), then a sequencer all and a sequencer any
            # two independent dbt builds: neither reads what the other builds (orders' test against customers
            # is left out), so they may run in either order
            {"name": "customers_build", "after": ["setup"], "dbt": {"select": ["+stg_customers"]}},
            {"name": "orders_build", "after": ["setup"],
             "dbt": {"select": ["+orders"], "exclude": ["test_name:relationships"]}},
            {"name": "both_built", "after": ["customers_build", "orders_build"], "wait_for": "all",
             "set_vars": {"done": "'yes'"}},
            {"name": "one_built", "after": ["customers_build", "orders_build"], "wait_for": "any",
             "set_vars": {"done": "'one'"}},
            {"name": "gate", "after": ["orders_build"],
             "quality_gate": {"model": "orders", "score_column": "amount", "status_column": "status",
                              "ready_status": "completed", "load_threshold": 1, "high_threshold": 30}},
            {"name": "bad_gate", "after": ["orders_build"],
             "quality_gate": {"model": "orders", "score_column": "amount", "status_column": "status",
                              "load_threshold": 99, "high_threshold": 99}},
            {"name": "load_if_ready", "after": {"gate": "ok"}, "command": _py("print('load')")},
            {"name": "load_if_bad", "after": {"bad_gate": "ok"}, "command": _py("print('never')")},
            {"name": "warned", "after": {"bad_gate": "warnings"}, "set_vars": {"verdict": "bad_gate.$UserStatus"}},
            {"name": "check", "after": ["setup"], "command": _py("print(3)")},
            {"name": "echo", "after": ["check"], "when": "check.$CommandOutput = 3 And setup.region = 'EMEA'",
             "command": [*_py("import sys; print(sys.argv[1])"), "#setup.region#-#process_date#"]},
            {"name": "failing", "after": ["setup"], "command": _py("import sys; sys.exit(4)")},
            {"name": "on_failed", "after": {"failing": "failed"}, "set_vars": {"code": "failing.$ReturnValue"}},
            {"name": "on_ok", "after": {"failing": "ok"}, "command": _py("print('never')")},
            {"name": "on_otherwise", "after": {"failing": "otherwise"}, "command": _py("print('never')")},
            {"name": "on_always", "after": {"failing": "always"}, "command": _py("print('always')")},
            {"name": "either", "after": {"failing": "ok_or_warnings", "check": "ok_or_warnings"}, "wait_for": "any",
             "command": _py("print('either')")},
            {"name": "not_when", "after": ["check"], "when": "check.$ReturnValue <> 0", "command": _py("print(1)")},
            {"name": "make_flag", "after": ["setup"],
             "command": _py("import pathlib; pathlib.Path('ready').mkdir(exist_ok=True); "
                            "pathlib.Path('ready/go.flag').write_text('x')")},
            {"name": "flag", "after": ["setup"],
             "wait_for_file": {"path": "ready/*.flag", "timeout_s": 60, "poll_s": 0.2}},
            {"name": "each", "after": ["echo"],
             "loop": {"over": "north,south,#setup.region#", "as": "area",
                      "do": [{"name": "step", "command": [*_py("import sys; print(sys.argv[1])"), "#area#"]},
                             {"name": "after_step", "after": ["step"], "when": "step.$CommandOutput = area",
                              "set_vars": {"seen": "area"}}]}},
            {"name": "tell", "after": {"each": "ok", "flag": "ok"},
             "notify": {"blocks": [block], "subject": "#stream_name# #process_date#", "body": "areas done"}},
            {"name": "child", "after": ["setup"], "stream": "SEQ_CHILD"},
            {"name": "final", "after": ["tell", "both_built", "warned", "on_failed", "child"],
             "when": "batch_id <> 'PASS'", "command": _py("import sys; sys.exit(9)")},
        ],
        "on_failure": [{"name": "handler", "command": _py("print('handled')")},
                       {"name": "handler_note", "after": ["handler"],
                        "set_vars": {"handled": "handler.$CommandOutput"}}],
    }


CHILD = {"stream": {"name": "SEQ_CHILD", "id": 3202}, "dbt": SHOP_DBT,
         "parameters": {"region": {"default": "EMEA", "values": ["EMEA", "APAC"]}},
         "sequence": [{"name": "child_step",
                       "command": _py("import os, sys; sys.exit(1 if os.path.exists('child.fail') else 0)")},
                      {"name": "child_region", "command": [*_py("import sys; print(sys.argv[1])"), "#region#"]}]}


def test_a_sequence_runs_every_activity_kind_with_its_triggers(prefect_api, tmp_path, monkeypatch):
    webhook = _Webhook()
    _write_streams(tmp_path, monkeypatch, _every_kind_stream(webhook.block()), CHILD)

    state = _run("SEQ_ALL")

    assert state.is_failed(), state.message
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST WHERE STRM_NAME = 'SEQ_ALL'")
    assert instance["PRCS_STATUS"] == "FAILED" and "final" in instance["ERROR_MESSAGE"], instance
    statuses = _statuses(instance["PRCS_INST_ID"])
    assert statuses == {
        "validate": "COMPLETED", "process_id": "COMPLETED", "setup": "COMPLETED",
        "stop": "SKIPPED", "customers_build": "COMPLETED", "orders_build": "COMPLETED",
        "both_built": "COMPLETED", "one_built": "COMPLETED", "gate": "COMPLETED",
        "bad_gate": "COMPLETED_WITH_WARNINGS", "load_if_ready": "COMPLETED", "load_if_bad": "SKIPPED",
        "warned": "COMPLETED", "check": "COMPLETED", "echo": "COMPLETED", "failing": "FAILED",
        "on_failed": "COMPLETED", "on_ok": "SKIPPED", "on_otherwise": "SKIPPED", "on_always": "COMPLETED",
        "either": "COMPLETED", "not_when": "SKIPPED", "make_flag": "COMPLETED", "flag": "COMPLETED",
        "each": "COMPLETED", "each[1].step": "COMPLETED", "each[1].after_step": "COMPLETED",
        "each[2].step": "COMPLETED", "each[2].after_step": "COMPLETED", "each[3].step": "COMPLETED",
        "each[3].after_step": "COMPLETED", "tell": "COMPLETED", "child": "COMPLETED", "final": "FAILED",
        "handler": "COMPLETED", "handler_note": "COMPLETED",
    }, statuses
    rows = _rows(instance["PRCS_INST_ID"])
    outputs = {name: json.loads(row["PRCS_STATISTICS"] or "{}").get("outputs", {}) for name, row in rows.items()}
    # values flow from activity to activity: user variables, $CommandOutput, $ReturnValue, $UserStatus, #refs#
    assert outputs["echo"]["$CommandOutput"] == "EMEA-2024-03-01"
    assert outputs["on_failed"]["vars"] == {"code": 4}
    assert outputs["warned"]["vars"] == {"verdict": "QUALITY_ISSUES"}
    assert outputs["gate"]["$UserStatus"] == "READY_FOR_LOADING"
    assert outputs["handler_note"]["vars"] == {"handled": "handled"}
    assert [outputs[f"each[{n}].step"]["$CommandOutput"] for n in (1, 2, 3)] == ["north", "south", "EMEA"]
    assert json.loads(rows["each[3].step"]["PRCS_STATISTICS"])["item"] == "EMEA", "an iteration's rows carry the item"
    assert "trigger did not fire: failing ended FAILED, needs ok" in rows["on_ok"]["ERROR_MESSAGE"]
    assert rows["stop"]["ERROR_MESSAGE"] == "when \"batch_id = 'STOP'\" is false"
    # the two independent dbt activities were started together: their rows overlap in time
    a, b = rows["customers_build"], rows["orders_build"]
    assert a["PRCS_START_TS"] < b["PRCS_END_TS"] and b["PRCS_START_TS"] < a["PRCS_END_TS"], (a, b)
    jobs = query("SELECT COUNT(*) AS N FROM DCF.PROCESS_EXECUTION_LOG WHERE RECORD_TYPE = 'JOB'")[0]["N"]
    assert jobs == 2, "each dbt activity is one dbt invocation with its JOB row"
    # the notification went through the block and is recorded
    [note] = query("SELECT * FROM DCF.DCF_T_NOTIFICATIONS WHERE NOTIFICATION_TYPE = 'ACTIVITY_NOTIFICATION'")
    assert note["NOTIFICATION_STATUS"] == "SENT"
    assert webhook.received == [{"subject": "SEQ_ALL 2024-03-01", "text": "areas done"}]
    # the nested stream: its own instance, linked to the parent
    [child] = query("SELECT * FROM DCF.DCF_T_PRCS_INST WHERE STRM_NAME = 'SEQ_CHILD'")
    assert (child["PARENT_PRCS_INST_ID"], child["PRCS_STATUS"]) == (instance["PRCS_INST_ID"], "SUCCEEDED")
    assert json.loads(rows["child"]["PRCS_STATISTICS"])["child_prcs_inst_id"] == child["PRCS_INST_ID"]
    assert (dcf_home() / "ready" / "go.flag").exists()

    # A terminator ends the run FAILED with its message; the exception handler does not run after it.
    stopped = _run("SEQ_ALL", batch_id="STOP", mode="RESET")
    assert stopped.is_failed()
    [second] = query("SELECT * FROM DCF.DCF_T_PRCS_INST WHERE STRM_NAME = 'SEQ_ALL' AND ODS_BATCH_ID = 'STOP'")
    assert "terminated by stop: stopped for 2024-03-01" in second["ERROR_MESSAGE"]
    after_stop = _statuses(second["PRCS_INST_ID"])
    assert after_stop["stop"] == "FAILED" and "handler" not in after_stop and "final" not in after_stop


def test_a_restart_resumes_a_failed_branch_and_a_failed_loop_iteration(prefect_api, tmp_path, monkeypatch):
    marker = "import pathlib, sys; name = sys.argv[1]; open('ran.log', 'a').write(name + '\\n'); " \
             "sys.exit(1 if pathlib.Path(sys.argv[2]).exists() else 0)"
    stream = {
        "stream": {"name": "SEQ_RESTART", "id": 3203}, "dbt": SHOP_DBT,
        "sequence": [
            {"name": "start", "command": [*_py(marker), "start", "none"]},
            {"name": "branch_ok", "after": ["start"], "command": [*_py(marker), "branch_ok", "none"]},
            {"name": "branch_bad", "after": ["start"], "command": [*_py(marker), "branch_bad", "branch.fail"]},
            {"name": "each", "after": ["start"],
             "loop": {"over": [1, 2, 3, 4], "as": "n",
                      "do": [{"name": "step", "command": [*_py(marker), "step#n#", "loop#n#.fail"]}]}},
            {"name": "join", "after": ["branch_ok", "branch_bad", "each"], "command": [*_py(marker), "join", "none"]},
        ],
    }
    _write_streams(tmp_path, monkeypatch, stream)
    (dcf_home() / "branch.fail").write_text("")
    (dcf_home() / "loop3.fail").write_text("")

    assert _run("SEQ_RESTART").is_failed()
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    first = _statuses(instance["PRCS_INST_ID"])
    assert {k: first[k] for k in ("branch_ok", "branch_bad", "each", "each[2].step", "each[3].step")} == {
        "branch_ok": "COMPLETED", "branch_bad": "FAILED", "each": "FAILED", "each[2].step": "COMPLETED",
        "each[3].step": "FAILED"}
    assert "each[4].step" not in first and "join" not in first

    (dcf_home() / "branch.fail").unlink()
    (dcf_home() / "loop3.fail").unlink()
    (dcf_home() / "ran.log").write_text("")
    assert _run("SEQ_RESTART").is_completed()

    [resumed] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert (resumed["PRCS_INST_ID"], resumed["PRCS_STATUS"]) == (instance["PRCS_INST_ID"], "SUCCEEDED")
    rows = _rows()
    attempts = {name: (row["PRCS_STATUS"], row["ATTEMPT"]) for name, row in rows.items()}
    assert {k: attempts[k] for k in ("start", "branch_ok", "each[1].step", "each[2].step")} == \
        dict.fromkeys(("start", "branch_ok", "each[1].step", "each[2].step"), ("COMPLETED", 1)), "restored"
    assert attempts["branch_bad"] == attempts["each[3].step"] == attempts["each"] == ("COMPLETED", 2)
    assert attempts["each[4].step"] == attempts["join"] == ("COMPLETED", 1)
    assert sorted((dcf_home() / "ran.log").read_text().split()) == ["branch_bad", "join", "step3", "step4"], \
        "only what had not completed ran again"
    count = query("SELECT COUNT(*) AS N, COUNT(DISTINCT PRCS_NAME) AS D FROM DCF.DCF_T_PRCS_EXEC_LOG")[0]
    assert count["N"] == count["D"] == len(rows), "no duplicate rows"


def test_a_child_streams_failure_fails_the_parents_activity_and_both_resume(prefect_api, tmp_path, monkeypatch):
    parent = {"stream": {"name": "SEQ_PARENT", "id": 3204}, "dbt": SHOP_DBT,
              "sequence": [{"name": "run_child",
                            "stream": {"name": "SEQ_CHILD",
                                       "parameters": {"batch_id": "#batch_id#", "region": "APAC"}}},
                           {"name": "after_child", "after": ["run_child"], "command": _py("print('ok')")}]}
    _write_streams(tmp_path, monkeypatch, parent, CHILD)
    (dcf_home() / "child.fail").write_text("")

    assert _run("SEQ_PARENT").is_failed()
    instances = {r["STRM_NAME"]: r for r in query("SELECT * FROM DCF.DCF_T_PRCS_INST")}
    assert instances["SEQ_PARENT"]["PRCS_STATUS"] == instances["SEQ_CHILD"]["PRCS_STATUS"] == "FAILED"
    assert instances["SEQ_CHILD"]["PARENT_PRCS_INST_ID"] == instances["SEQ_PARENT"]["PRCS_INST_ID"]
    assert instances["SEQ_CHILD"]["ODS_BATCH_ID"] == instances["SEQ_PARENT"]["ODS_BATCH_ID"], "#batch_id# passed on"
    parent_rows = _rows(instances["SEQ_PARENT"]["PRCS_INST_ID"])
    assert parent_rows["run_child"]["PRCS_STATUS"] == "FAILED"
    assert "child stream SEQ_CHILD ended Failed" in parent_rows["run_child"]["ERROR_MESSAGE"]
    assert "after_child" not in parent_rows

    (dcf_home() / "child.fail").unlink()
    assert _run("SEQ_PARENT").is_completed()
    again = {r["STRM_NAME"]: r for r in query("SELECT * FROM DCF.DCF_T_PRCS_INST")}
    assert len(again) == 2, "the child's failed instance was resumed, not duplicated"
    assert again["SEQ_PARENT"]["PRCS_STATUS"] == again["SEQ_CHILD"]["PRCS_STATUS"] == "SUCCEEDED"
    child_rows = _rows(again["SEQ_CHILD"]["PRCS_INST_ID"])
    assert child_rows["child_step"]["ATTEMPT"] == 2
    assert json.loads(child_rows["child_region"]["PRCS_STATISTICS"])["outputs"]["$CommandOutput"] == "APAC", \
        "the parent's value for the child's parameter"
    refused = _run("SEQ_CHILD", parameters={"nope": "1"}, mode="RESET")
    assert refused.is_failed() and "stream SEQ_CHILD has no parameter 'nope'" in refused.message
    assert len(query("SELECT * FROM DCF.DCF_T_PRCS_INST")) == 2, "a bad parameter is refused before any row"


def test_validate_reports_every_problem_on_its_own_line_and_writes_nothing(prefect_api, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    broken = {
        "stream": {"name": "SEQ_BROKEN", "id": 3205}, "dbt": SHOP_DBT,
        "sequence": [
            {"name": "a", "after": ["c"], "command": _py("print(1)")},
            {"name": "b", "after": ["a"], "command": _py("print(1)")},
            {"name": "c", "after": ["b"], "command": _py("print(1)")},
            {"name": "d", "after": ["nowhere"], "command": _py("print(1)")},
            {"name": "e", "when": "a.$JobStatus = = 1", "command": _py("print(1)")},
            {"name": "f", "dbt": {"select": ["tag:no_such_tag"]}},
        ],
    }
    good = {"stream": {"name": "SEQ_GOOD", "id": 3206}, "dbt": SHOP_DBT,
            "sequence": [{"name": "build", "dbt": {}},
                         {"name": "notify_done", "after": {"build": "ok_or_warnings"}, "command": _py("print(1)")}]}
    _write_streams(tmp_path, monkeypatch, broken, good)

    state = _run("SEQ_BROKEN", mode="VALIDATE")

    assert state.is_failed()
    lines = [line for line in state.message.splitlines() if "seq_broken.yaml" in line]
    assert len(lines) == 4, state.message
    assert any(".after: activity" in line and "cycle of triggers: " in line and "(line" in line for line in lines)
    assert any("sequence.3.after" in line and "activity d" in line and "'nowhere'" in line for line in lines)
    assert any("sequence.4.when" in line and "activity e" in line and "expected a value" in line for line in lines)
    assert any("sequence.5" in line and "activity f" in line and "matches no node" in line for line in lines)
    assert not (dcf_home() / "warehouse.duckdb").exists(), "VALIDATE writes no row anywhere"

    planned = _run("SEQ_GOOD", mode="VALIDATE")
    assert planned.is_completed(), planned.message
    assert "1. build [dbt] starts with the sequence" in planned.message
    assert "2. notify_done [command] after build ok_or_warnings" in planned.message
    assert not (dcf_home() / "warehouse.duckdb").exists()

    # what the UI's run form can ask: assumed outcomes give the what-if plan, in the run's artifact too
    what_if = _run("SEQ_GOOD", mode="VALIDATE", assume={"build": "failed"})
    assert what_if.is_completed(), what_if.message
    assert what_if.message.splitlines()[-3:] == [
        "what if the defaults; assumed build = failed:", "  1. build",
        "  final: aborted (unhandled failure, no exception handler)"], what_if.message
    bad = _run("SEQ_GOOD", mode="VALIDATE", assume={"buld": "failed"})
    assert bad.is_failed() and "assume: buld: no such activity in SEQ_GOOD" in bad.message, bad.message
    with get_client(sync_client=True) as client:
        runs = {r.id: r for r in client.read_flow_runs()}
        artifacts = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(
            any_=[what_if.state_details.flow_run_id])))
    assert runs[what_if.state_details.flow_run_id].name == "SEQ_GOOD-VALIDATE"
    [artifact] = [a for a in artifacts if a.key == "stream-seq-good-validate"]
    assert "VALIDATE SEQ_GOOD: no problems" in artifact.data and "  1. build" in artifact.data


def test_a_password_parameter_is_read_from_its_secret_block_and_never_logged_or_recorded(
        prefect_api, tmp_path, monkeypatch):
    """An imported password (``secret_block``) reaches the command that needs it from a real Prefect Secret
    block; the run's logs in the API and its DCF rows show the command line with the password masked."""
    from prefect.blocks.system import Secret
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    password = f"pw-{uuid.uuid4().hex}"
    block = f"seq-db-pwd-{uuid.uuid4().hex[:6]}"
    Secret(value=password).save(block)
    expected = tmp_path / "expected"
    expected.write_text(password)
    # the command compares what it is given with the file: exit 0 means the block's value reached it
    check = f"import pathlib, sys; raise SystemExit(sys.argv[1] != pathlib.Path({str(expected)!r}).read_text())"
    _write_streams(tmp_path, monkeypatch, {
        "stream": {"name": "SEQ_SECRET", "id": 9311},
        "parameters": {"db_pwd": {"secret_block": block}},
        "sequence": [{"name": "connect", "command": [*_py(check), "#db_pwd#"]}],
    })

    state = _run("SEQ_SECRET")

    assert state.is_completed(), state.message
    row = _rows()["connect"]
    assert row["PRCS_STATUS"] == "COMPLETED"
    assert json.loads(row["PRCS_STATISTICS"])["argv"][-1] == "********"
    assert not [r for r in query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG") if password in str(r)]
    APILogHandler().flush()  # the run's logs are sent in batches
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    assert [log.message for log in logs if "connect: running" in log.message and "********" in log.message]
    assert not [log.message for log in logs if password in log.message]
    # and no hook chatter: a hook that ran fine is not two log lines
    chatter = [log.message for log in logs if "Running hook" in log.message or "finished running" in log.message]
    assert logs and not chatter, chatter
