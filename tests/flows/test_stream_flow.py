"""The stream flow end to end on the embedded default: real DuckDB file, real dbt, real Prefect server."""

from __future__ import annotations

import contextvars
import json
import threading
import time
from datetime import date

import pytest

from dcf.paths import PROJECT_ROOT, warehouse_path
from tests.streams import BCFINSG, BCFINSG_GOOD_DAY, STAGES, fact_table, land, private_bcfinsg, query, scalar

pytestmark = pytest.mark.e2e
DAY1, DAY2 = date(2024, 3, 1), date(2024, 3, 2)


def _run(**params):
    from flows.stream_load import stream_load

    return stream_load(stream=params.pop("stream", BCFINSG), return_state=True, **params)


def _stage_statistics(stage: str) -> dict:
    return json.loads(scalar("SELECT PRCS_STATISTICS FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = :s "
                             "ORDER BY PRCS_INST_ID DESC LIMIT 1", {"s": stage}))


def test_bad_day_skips_the_load_completes_with_warnings_and_says_so(prefect_api):
    """The stream's default (the BCFINSG sequence): below the threshold the fact is not loaded at all."""
    land(DAY1, bad_day=True)

    state = _run(process_date=DAY1)

    assert state.is_completed() and state.name == "CompletedWithWarnings"
    assert "QUALITY_ISSUES" in state.message and "fct_plan_baln_segm_mstr was not loaded" in state.message
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert (instance["PRCS_STATUS"], instance["ORCHESTRATION_STATUS"]) == ("COMPLETED_WITH_WARNINGS", "QUALITY_ISSUES")
    report = json.loads(scalar("SELECT NOTIFICATION_CONTENT FROM DCF.DCF_T_NOTIFICATIONS"))
    assert report["orchestration_status"] == "QUALITY_ISSUES"
    assert report["load_summary"]["average_data_quality_score"] < 70
    assert report["load_summary"]["load_execution_status"] == "SKIPPED"
    assert report["load_summary"]["records_loaded_successfully"] == 0
    assert report["quality_metrics"]["low_quality_records"] > report["quality_metrics"]["high_quality_records"]
    gate = _stage_statistics("dbt_build")
    assert gate["quality_gate"]["load"] == "SKIPPED" and len(gate["invocation_ids"]) == 1
    assert scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'fct_plan_baln_segm_mstr'") == 0
    assert scalar("SELECT COUNT(*) FROM main.int_bcfinsg_validated") == 1500, "upstream of the target was built"
    assert _stage_statistics("profile")["skipped"] == "the quality gate skipped the load"


def test_bad_day_loads_the_ready_records_when_the_stream_says_so(prefect_api, tmp_path, monkeypatch):
    private_bcfinsg(tmp_path, monkeypatch,
                    edit=lambda d: d["quality"].update(on_quality_issues="load_with_warning"))
    land(DAY1, bad_day=True)

    state = _run(process_date=DAY1)

    assert state.is_completed() and state.name == "CompletedWithWarnings"
    report = json.loads(scalar("SELECT NOTIFICATION_CONTENT FROM DCF.DCF_T_NOTIFICATIONS"))
    assert report["orchestration_status"] == "QUALITY_ISSUES"
    assert report["load_summary"]["load_execution_status"] == "EXECUTED"
    ready = scalar("SELECT COUNT(*) FROM main.int_bcfinsg_validated "
                   "WHERE final_processing_status = 'READY_FOR_LOADING'")
    assert report["load_summary"]["records_loaded_successfully"] == ready == scalar(
        f"SELECT COUNT(*) FROM {fact_table()}") > 0
    assert _stage_statistics("dbt_build")["quality_gate"] is None, "one build, assessed after it"


def test_bad_day_fails_the_run_when_the_stream_says_so(prefect_api, tmp_path, monkeypatch):
    private_bcfinsg(tmp_path, monkeypatch, edit=lambda d: d["quality"].update(on_quality_issues="fail"))
    land(DAY1, bad_day=True)

    state = _run(process_date=DAY1)

    assert state.is_failed()
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert instance["PRCS_STATUS"] == "FAILED" and "QUALITY_ISSUES" in instance["ERROR_MESSAGE"]
    metadata = query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = 'metadata'")[0]
    assert metadata["PRCS_STATUS"] == "FAILED"
    assert json.loads(metadata["PRCS_STATISTICS"])["orchestration_status"] == "QUALITY_ISSUES"
    report = json.loads(scalar("SELECT NOTIFICATION_CONTENT FROM DCF.DCF_T_NOTIFICATIONS"))
    assert report["status"] == "FAILED" and report["orchestration_status"] == "QUALITY_ISSUES"
    assert report["load_summary"]["load_execution_status"] == "SKIPPED"


def test_a_quality_model_that_is_not_upstream_of_the_target_is_a_clear_error(prefect_api, tmp_path, monkeypatch):
    private_bcfinsg(tmp_path, monkeypatch, edit=lambda d: d["quality"].update(model="fct_plan_baln_segm_mstr"))
    land(DAY1)

    state = _run(process_date=DAY1)

    assert state.is_failed()
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert "quality.model fct_plan_baln_segm_mstr is not built before target.model" in instance["ERROR_MESSAGE"]
    stage = query("SELECT PRCS_STATUS, ERROR_MESSAGE FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = 'dbt_build'")[0]
    assert stage["PRCS_STATUS"] == "FAILED" and "load_with_warning" in stage["ERROR_MESSAGE"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"stream": "NO_SUCH_STREAM", "process_date": DAY1}, "unknown stream 'NO_SUCH_STREAM'"),
        ({"process_date": "2024-13-45"}, "process_date: Value error, '2024-13-45' is not a date of the form"),
        ({"stream": str(PROJECT_ROOT / "configs" / "streams" / "bcfinsg_plan_baln_segm_load.yaml"),
          "process_date": DAY1}, "never by a path"),
    ],
    ids=["unknown-stream", "malformed-date", "stream-as-a-path"],
)
def test_bad_input_is_refused_before_any_row(prefect_api, params, message):
    land(DAY1)
    state = _run(**params)
    assert state.is_failed()
    assert message in state.message
    assert not warehouse_path().exists() or scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'DCF_T_PRCS_INST'") == 0


def test_a_day_without_its_landing_file_fails_like_any_failure_and_resumes_once_it_lands(prefect_api):
    """Not a refusal: a FAILED instance and validate row with the one-line reason, the failure report and the
    board; once the file lands, the same instance resumes."""
    state = _run(process_date=DAY2)

    assert state.is_failed() and "no landing file for 2024-03-02" in state.message
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert instance["PRCS_STATUS"] == "FAILED" and "no landing file for 2024-03-02" in instance["ERROR_MESSAGE"]
    stages = {r["PRCS_NAME"]: r for r in query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG")}
    assert stages["validate"]["PRCS_STATUS"] == "FAILED" and "no landing file" in stages["validate"]["ERROR_MESSAGE"]
    assert set(stages) == {"validate", "process_id"}
    [report] = query("SELECT NOTIFICATION_TYPE FROM DCF.DCF_T_NOTIFICATIONS WHERE PRCS_INST_ID = :i",
                     {"i": instance["PRCS_INST_ID"]})
    assert report["NOTIFICATION_TYPE"] == "LOAD_FAILURE_REPORT"

    land(DAY2)
    resumed = _run(process_date=DAY2)
    assert resumed.is_completed(), resumed.message
    [again] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert (again["PRCS_INST_ID"], again["PRCS_STATUS"]) == (instance["PRCS_INST_ID"], BCFINSG_GOOD_DAY)


def test_second_concurrent_run_is_refused_and_writes_nothing(prefect_api, tmp_path, monkeypatch):
    project = private_bcfinsg(tmp_path, monkeypatch)
    # A model that holds the build for a few seconds, so the two runs really overlap.
    (project / "models" / "marts" / "slow_hold.py").write_text(
        "import time\n\ndef model(dbt, session):\n    dbt.config(materialized='table', tags=['stream_bcfinsg'])\n"
        "    time.sleep(12)\n    return session.sql('select 1 as held')\n")
    land(DAY1)
    states = {}

    def first():
        states["first"] = _run(process_date=DAY1)

    thread = threading.Thread(target=contextvars.copy_context().run, args=(first,))
    thread.start()

    deadline = time.monotonic() + 120
    while not warehouse_path().exists() or not _instances_exist():
        assert time.monotonic() < deadline, "the first run never allocated its instance"
        time.sleep(0.5)
    second = _run(process_date=DAY1)
    thread.join(timeout=600)

    assert second.is_failed() and "already running" in second.message
    assert states["first"].is_completed()
    assert scalar("SELECT COUNT(*) FROM DCF.DCF_T_PRCS_INST") == 1


def _instances_exist() -> bool:
    from dcf.errors import WarehouseBusyError

    try:
        return bool(scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'DCF_T_PRCS_INST'")) \
            and bool(scalar("SELECT COUNT(*) FROM DCF.DCF_T_PRCS_INST"))
    except WarehouseBusyError:
        return False


def test_another_stream_on_another_dbt_project_runs_through_the_same_flow(prefect_api, tmp_path, monkeypatch):
    import shutil

    from dcf.store.connection import open_duckdb
    from dcf.store.dialect import Namespace

    streams = tmp_path / "streams"
    streams.mkdir()
    shutil.copy(PROJECT_ROOT / "tests" / "fixtures" / "ledger_stream.yaml", streams / "ledger.yaml")
    monkeypatch.setenv("DCF_STREAMS_DIR", str(streams))
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        conn.execute("CREATE SCHEMA LEDGER_RAW")
        conn.execute("CREATE TABLE LEDGER_RAW.ENTRIES (ENTRY_ID INTEGER, AMOUNT VARCHAR, PRCS_DATE DATE)")
        conn.execute("INSERT INTO LEDGER_RAW.ENTRIES VALUES (1, '10.5', DATE '2024-03-01'), "
                     "(2, '-3', DATE '2024-03-01'), (3, '7', DATE '2024-03-01'), (4, '1', DATE '2024-03-02')")

    state = _run(stream="GENERAL_LEDGER_LOAD", process_date=DAY1)

    assert state.is_completed(), state.message
    [instance] = query("SELECT * FROM DCF.DCF_T_PRCS_INST")
    assert (instance["STRM_ID"], instance["PRCS_STATUS"]) == (2001, "SUCCEEDED")
    stages = sorted(r["PRCS_NAME"] for r in query("SELECT PRCS_NAME FROM DCF.DCF_T_PRCS_EXEC_LOG"))
    assert stages == sorted(set(STAGES) - {"profile"}), "no profiling tables listed: no profile stage"
    stats = json.loads(scalar("SELECT PRCS_STATISTICS FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = 'metadata'"))
    assert (stats["records_processed"], stats["records_loaded"]) == (3, 2)
    assert scalar("SELECT COUNT(*) FROM ledger.ledger_fact") == 2
    generic = [PROJECT_ROOT / "flows" / "stream_load.py", *(PROJECT_ROOT / "tasks").glob("*.py")]
    assert not [p.name for p in generic if "BCFINSG" in p.read_text().upper()], "the flow and tasks stay generic"


def test_parallel_allocations_never_collide(dcf_home):
    """20 allocations at once: 20 distinct ids; for one stream only one instance may be RUNNING."""
    from dcf.errors import RefusedError
    from dcf.store.clock import utcnow
    from dcf.store.connection import open_duckdb
    from dcf.store.dialect import Namespace
    from dcf.store.instances import InstanceClaim, allocate_instance
    from dcf.store.migrate import ensure_schema
    from dcf.store.schema import DCF_T_STRM

    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        ensure_schema(conn)
        now = utcnow()
        conn.merge(DCF_T_STRM, [
            {"STRM_ID": strm_id, "STRM_NAME": f"S{strm_id}", "STRM_DESC": None, "STRM_STATUS": "ACTIVE",
             "DATASTAGE_SEQUENCE": None, "CONFIG_PATH": "-", "CONFIG_HASH": "-", "CREATED_TS": now, "UPDATED_TS": now}
            for strm_id in [*range(100, 120), 999]
        ])
    results: list = []

    def allocate(strm_id: int) -> None:
        with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
            try:
                results.append(allocate_instance(conn, InstanceClaim(strm_id=strm_id, strm_name=f"S{strm_id}",
                                                                     process_date=DAY1, batch_id="b")).prcs_inst_id)
            except RefusedError as refused:
                results.append(refused)

    threads = [threading.Thread(target=allocate, args=(100 + i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20 and len(set(results)) == 20 and all(isinstance(r, int) for r in results)

    results.clear()
    threads = [threading.Thread(target=allocate, args=(999,)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [r for r in results if isinstance(r, int)]
    assert len(ids) == 1 and len(results) == 20, results
    assert all("already has process instance" in str(r) for r in results if not isinstance(r, int))


def test_a_stream_that_says_test_warnings_are_fine_succeeds_and_still_records_them(prefect_api, tmp_path,
                                                                                    monkeypatch):
    private_bcfinsg(tmp_path, monkeypatch, edit=lambda d: d["dbt"].update(test_warnings="ignore"))
    land(DAY1)
    state = _run(process_date=DAY1)
    assert state.is_completed() and state.name == "Completed", state.message
    assert scalar("SELECT PRCS_STATUS FROM DCF.DCF_T_PRCS_INST") == "SUCCEEDED"
    [build] = query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = 'dbt_build'")
    assert (build["PRCS_STATUS"], build["ERROR_MESSAGE"]) == ("COMPLETED", None)
    assert json.loads(build["PRCS_STATISTICS"])["warned_tests"], "what warned is kept on the stage row"
    [report] = query("SELECT * FROM DCF.DCF_T_NOTIFICATIONS")
    assert json.loads(report["NOTIFICATION_CONTENT"])["warnings"] == []
    # the flow run names the stream and the day; its task runs, what they do
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(state.state_details.flow_run_id)
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
    assert flow_run.name == f"{BCFINSG}-{DAY1}"
    assert set(STAGES) <= {t.name for t in tasks} and not [t.name for t in tasks if BCFINSG in t.name]


def test_report_is_delivered_through_notification_blocks_and_published_as_artifacts(prefect_api, tmp_path,
                                                                                      monkeypatch):
    """A real Prefect webhook block posting to a loopback server; a missing block is FAILED with the reason."""
    import http.server
    import uuid

    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    received: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    good, missing = f"ops-webhook-{uuid.uuid4().hex[:6]}", f"custom-webhook/no-such-block-{uuid.uuid4().hex[:6]}"
    CustomWebhookNotificationBlock(name="ops", url=f"http://127.0.0.1:{server.server_port}/hook",
                                   json_data={"subject": "{{subject}}", "text": "{{body}}"}).save(good)
    good = f"custom-webhook/{good}"
    try:
        private_bcfinsg(tmp_path, monkeypatch, edit=lambda d: d["report"].update(notification_blocks=[good]))
        land(DAY1)
        assert _run(process_date=DAY1).is_completed()
        [sent] = query("SELECT * FROM DCF.DCF_T_NOTIFICATIONS")
        assert (sent["NOTIFICATION_STATUS"], sent["DELIVERY_ERROR"]) == ("SENT", None)
        assert json.loads(sent["DELIVERY_CHANNELS"]) == [good]
        [body] = received
        message = json.loads(body)
        assert BCFINSG_GOOD_DAY in message["subject"] and "records loaded" in message["text"]
        # the run finished with warnings because dbt tests warned: the report names them
        [build] = query("SELECT * FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = 'dbt_build'")
        warned = json.loads(build["PRCS_STATISTICS"])["warned_tests"]
        assert build["PRCS_STATUS"] == "COMPLETED_WITH_WARNINGS" and warned
        assert all(t["message"].startswith("Got ") and "configured to warn" in t["message"] for t in warned)
        assert "## Warnings" in message["text"] and f"{len(warned)} dbt test(s) warned" in message["text"]
        assert all(t["test"] in message["text"] for t in warned[:10])

        private_bcfinsg(tmp_path / "second", monkeypatch,
                        edit=lambda d: d["report"].update(notification_blocks=[missing, good]))
        land(DAY2)
        assert _run(process_date=DAY2).is_completed(), "a delivery failure does not fail the load"
        failed = query("SELECT * FROM DCF.DCF_T_NOTIFICATIONS WHERE PRCS_DATE = :d", {"d": DAY2})[0]
        assert failed["NOTIFICATION_STATUS"] == "FAILED" and missing in failed["DELIVERY_ERROR"]
        assert len(received) == 2, "the working channel still got the report"
    finally:
        server.shutdown()

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[
            "stream-bcfinsg-plan-baln-segm-load-load-report", "stream-bcfinsg-plan-baln-segm-load-stages"])))
    assert {a.type for a in artifacts} == {"markdown", "table"}
    assert any("records loaded" in str(a.data) for a in artifacts if a.type == "markdown")
    # the report tells the final truth, its own line included (it is written from inside the report stage)
    table = max((a for a in artifacts if a.type == "table"), key=lambda a: a.created)  # the latest run's
    stages = {row["stage"]: row["status"] for row in json.loads(table.data)}
    assert stages == {**dict.fromkeys(STAGES, "COMPLETED"), "dbt_build": "COMPLETED_WITH_WARNINGS"}, stages
    content = json.loads(query("SELECT NOTIFICATION_CONTENT FROM DCF.DCF_T_NOTIFICATIONS WHERE PRCS_DATE = :d",
                               {"d": DAY2})[0]["NOTIFICATION_CONTENT"])
    assert {s["stage"]: s["status"] for s in content["stages"]}["report"] == "COMPLETED"


