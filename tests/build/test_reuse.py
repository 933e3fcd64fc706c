"""State-aware reuse: what is reused, what is rebuilt and why, on real dbt builds over a DuckDB file.

The first test drives :func:`dcf.build.runner.run_dbt_build` directly through every reason to build. The
module fixture runs a stream three times for one process date (issue 7, "what it must show" 1) plus a full
refresh; the tests after it check the runs and the savings report the model-costs flow builds over them (2).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from bench.reuse import ReuseProject, change_sources, create_sources, write_reuse_project
from dcf.build.fingerprints import fingerprints
from dcf.build.request import BuildRequest
from dcf.build.reuse import ReuseStore
from dcf.build.runner import RunContext, run_dbt_build
from dcf.paths import warehouse_path
from dcf.store.connection import open_duckdb
from dcf.store.dialect import Namespace
from dcf.store.migrate import ensure_schema

DAY = date(2024, 3, 1)
#: small and fast: 20 models in chains of 5 over 4 sources, fan-ins, tests on every 5th model
SHAPE = {"n_models": 20, "n_sources": 4, "chain_length": 5, "fan_in_every": 3, "tests_every": 5, "threads": 2}
#: models the tests add to the synthetic ones -> the model each reads
EXTRAS = {"m_var": "m0005", "fct_target": "m0005", "audit_clock": "m0001", "q_scored": "m0010"}


def _project(root: Path) -> ReuseProject:
    project = write_reuse_project(root, **SHAPE)
    models = project.root / "models"
    # a model reading a var, one reading the clock (never reused), and what a stream needs: a quality model
    # (one score per record) and a target with a process date
    (models / "m_var.sql").write_text("select a.id, '{{ var(\"region\", \"eu\") }}' as region "
                                      "from {{ ref('m0005') }} a\n")
    (models / "audit_clock.sql").write_text("select a.id, current_timestamp as loaded_at from {{ ref('m0001') }} a\n")
    (models / "q_scored.sql").write_text("select a.id, 100 as dq_score, 'OK' as dq_status from {{ ref('m0010') }} a\n")
    (models / "fct_target.sql").write_text(
        "select a.id, cast('{{ var(\"run_stream_process_date\", \"2024-03-01\") }}' as date) as process_date "
        "from {{ ref('m0005') }} a\n")
    (project.root / "seeds").mkdir()
    (project.root / "seeds" / "ref_codes.csv").write_text("code,label\n1,one\n2,two\n")
    return project


def _downstream(project: ReuseProject, *models: str) -> set[str]:
    """``models`` and everything that reads them, the added models included."""
    found = set(models).union(*(project.synthetic.downstream(m) for m in models))
    return found | {extra for extra, parent in EXTRAS.items() if parent in found}


def _statuses(conn, invocation_id: str) -> dict[str, str]:
    rows = conn.fetchall("SELECT MODEL_NAME, STATUS FROM DCF.DBT_MODEL_EXECUTIONS WHERE INVOCATION_ID = :i",
                         {"i": invocation_id})
    return dict(rows)


def test_every_reason_to_build(tmp_path, monkeypatch):
    """Unchanged nodes are reused; code, vars, inputs, a dropped relation, another writer, a failed test and
    a full refresh each rebuild what they must — and the log records reused nodes without running them. The
    reuse state is the warehouse's: a second worker (another DCF_HOME, nothing on its disk) decides the same."""
    project = _project(tmp_path / "proj")
    (project.root / "tests").mkdir()
    (project.root / "tests" / "assert_small_ids.sql").write_text("select id from {{ ref('m0005') }} where id >= 100\n")
    warehouse = warehouse_path()
    conn = open_duckdb(warehouse, Namespace("DCF"))
    ensure_schema(conn)
    create_sources(conn, project)

    def build(stream: str = "S", **kwargs):
        outcome = run_dbt_build(BuildRequest(project_dir=project.root, profiles_dir=project.root, target="local",
                                select=[], env={"DCF_WAREHOUSE_PATH": str(warehouse)},
                                context=RunContext(stream_name=stream), **{"reuse": True, **kwargs}), log_to=conn)
        built = {n.name for n in outcome.nodes if n.resource_type == "model" and n.status != "reused"}
        reused = {n.name for n in outcome.nodes if n.resource_type == "model" and n.status == "reused"}
        reasons = {n.name: n.message for n in outcome.nodes if n.status == "reused"}
        return outcome, built, reused, reasons

    first, built, reused, _ = build()
    everything = set(first.relations)
    assert first.success and built == everything and not reused and first.reuse["reused"] == 0
    assert first.reuse["build_reasons"]["no successful build on record"] == len(first.nodes) - 1
    assert set(ReuseStore(conn, "synthetic", "S").load()) == {
        n.unique_id for n in first.nodes if n.status in ("success", "pass")}

    first_home = Path(os.environ["DCF_HOME"])
    monkeypatch.setenv("DCF_HOME", str(tmp_path / "second-worker"))  # no dbt target, no state on this disk
    second, built, reused, reasons = build()
    assert not (first_home / "dbt" / "synthetic" / "state").exists()
    assert second.success and built == {"audit_clock"} and reused == everything - {"audit_clock"}
    assert reasons["m0001"].startswith("unchanged since invocation " + first.invocation_id)
    assert second.counts["models_reused"] == len(everything) - 1 and second.counts["tests_reused"] > 0
    statuses = _statuses(conn, second.invocation_id)
    assert statuses["audit_clock"] == "success" and statuses["m0003"] == statuses["unique_m0005_id"] == "reused"
    log = {r["PROCESS_STEP_ID"].rsplit("_MODEL_", 1)[-1]: r for r in conn.fetch_dicts(
        "SELECT * FROM DCF.PROCESS_EXECUTION_LOG WHERE PARENT_STEP_ID = :p", {"p": f"JOB_{second.invocation_id}"})}
    assert set(log) == everything | {"ref_codes"} and log["m0003"]["EXECUTION_STATUS_NAME"] == "REUSED"
    steps = json.loads(log["m0003"]["STEP_EXECUTION_OBJ"])["execution_timeline"]
    assert steps[0]["step_type"] == "MODEL_REUSED" and steps[0]["content"]["reused_from_invocation"] == \
        first.invocation_id
    assert log["m0003"]["SOURCE_DATA_CNT"] == 100  # the rows the reused build left
    job = conn.fetch_dicts("SELECT * FROM DCF.PROCESS_EXECUTION_LOG WHERE PROCESS_STEP_ID = :p",
                           {"p": f"JOB_{second.invocation_id}"})[0]
    counts = json.loads(job["DESTINATION_DATA_CNT_OBJ"])
    assert (job["EXECUTION_STATUS_NAME"], counts["reused_models"], counts["total_models"]) == \
        ("SUCCESS", len(everything) - 1, len(everything))

    monkeypatch.setenv("DCF_HOME", str(first_home))  # back on the first worker: it sees the second one's builds
    model = project.root / "models" / "m0003.sql"  # a code change: the model and its downstream
    model.write_text(model.read_text() + "-- reviewed\n")
    _, built, _, _ = build()
    assert built == {"audit_clock", *_downstream(project, "m0003")}

    conn.execute("DROP TABLE main.m0012")  # a relation gone
    _, built, _, _ = build()
    assert built == {"audit_clock", *_downstream(project, "m0012")}

    other = run_dbt_build(BuildRequest(project_dir=project.root, profiles_dir=project.root, target="local",
                          select=["m0016"], env={"DCF_WAREHOUSE_PATH": str(warehouse)},
                          context=RunContext(stream_name="OTHER")), log_to=conn)  # another stream writes m0016
    assert other.success
    outcome, built, _, _ = build()
    assert built == {"audit_clock", *_downstream(project, "m0016")}
    assert "relation written by another invocation since" in outcome.reuse["build_reasons"]

    _, built, _, _ = build(vars={"region": "us"})  # m_var reads the var; nothing else does
    assert built == {"m_var", "audit_clock"}

    change_sources(conn, ["events_00"])  # id 100 reaches m0005: the singular test fails
    failed, built, _, _ = build(vars={"region": "us"})
    assert not failed.success and "assert_small_ids" in failed.error
    assert built >= _downstream(project, *project.sources["events_00"])
    again, built, _, _ = build(vars={"region": "us"})  # nothing changed, yet the failure is not hidden
    assert not again.success and "assert_small_ids" in again.error and "m0005" in built
    conn.execute("DELETE FROM raw.events_00 WHERE id >= 100")  # incremental models keep id 100: start over

    refreshed, built, _, _ = build(vars={"region": "us"}, full_refresh=True)
    assert refreshed.success and built == everything
    assert refreshed.reuse["build_reasons"] == {"full refresh requested": len(refreshed.nodes)}
    _, built, _, _ = build(vars={"region": "us"})
    assert built == {"audit_clock"}
    conn.close()


def test_the_reuse_state_round_trips_on_duckdb_and_snowflake_writing_only_what_changed(duckdb_conn, fakesnow_conn):
    """The store's rows: another store (another worker) reads what one saved; a save deletes the records gone in
    one statement and writes the changed ones, nothing else; streams and projects keep their own records."""
    records = {f"model.p.m{i}": {"built_by": "inv1", "signature": f"s{i}", "env": {"var:x": "d"},
                                 "inputs": {"source.p.raw.t": "5:abc"}, "parents": {}, "rows": i} for i in range(3)}
    for conn in (duckdb_conn, fakesnow_conn):
        ensure_schema(conn)
        store = ReuseStore(conn, "p", "S")
        assert store.load() == {}
        store.save(records)
        assert ReuseStore(conn, "p", "S").load() == records
        assert ReuseStore(conn, "p", "OTHER").load() == ReuseStore(conn, "q", "S").load() == {}

        before = conn.statements
        rebuilt = {**{k: v for k, v in records.items() if k != "model.p.m0"},
                   "model.p.m1": {**records["model.p.m1"], "built_by": "inv2", "rows": 9}}
        store.save(rebuilt)
        assert conn.statements - before == 2, "one DELETE (m0 gone), one MERGE (m1 rebuilt); m2 unchanged"
        assert ReuseStore(conn, "p", "S").load() == rebuilt
        before = conn.statements
        store.save(rebuilt)
        assert conn.statements == before, "nothing changed, nothing written"


def test_probes_on_duckdb_and_snowflake(duckdb_conn, fakesnow_conn):
    """The warehouse facts behind a decision: fingerprints (an unreadable input is None, the others still
    count), existence, and the last invocation that wrote a relation; rendered for both dialects."""
    from dcf.build.fingerprints import existing, last_builds
    from dcf.store.clock import utcnow
    from dcf.store.schema import DBT_MODEL_EXECUTIONS

    duckdb_conn.execute("CREATE TABLE main.src AS SELECT range AS id FROM range(5)")
    before = fingerprints(duckdb_conn, {"a": "main.src", "b": '"control"."main"."src"', "gone": "main.nope"})
    assert before["a"] == before["b"] and before["a"].startswith("5:") and before["gone"] is None
    duckdb_conn.execute("UPDATE main.src SET id = 7 WHERE id = 4")  # same count, other content
    assert fingerprints(duckdb_conn, {"a": "main.src"})["a"] != before["a"]

    now = utcnow()
    for conn in (duckdb_conn, fakesnow_conn):
        ensure_schema(conn)
        conn.execute("CREATE SCHEMA IF NOT EXISTS MARTS")
        conn.execute("CREATE TABLE MARTS.FCT (ID INTEGER)")
        database = conn.namespace.database or "control"
        assert existing(conn, {"fct": (database, "marts", "fct"), "other": (database, "MARTS", "NOPE"),
                               "bare": (None, "MARTS", "FCT")}) == {"fct", "bare"}
        rows = [{"INVOCATION_ID": invocation, "NODE_ID": "model.p.fct", "MODEL_NAME": "fct", "RELATION_NAME": "R",
                 "MODEL_PACKAGE": "p", "MODEL_TYPE": "table", "STATUS": status, "EXECUTION_TIME": None,
                 "QUERY_ID": None, "INSERT_TIMESTAMP": now + timedelta(seconds=i), "PREFECT_FLOW_RUN_ID": None,
                 "PREFECT_DEPLOYMENT_ID": None, "PREFECT_FLOW_ID": None, "STREAM_NAME": None, "PRCS_INST_ID": None,
                 "DBT_VERSION": "1.11", "RUN_STARTED_AT": now, "NODE_CONFIG": None}
                for i, (invocation, status) in enumerate([("i1", "success"), ("i2", "error"), ("i3", "reused")])]
        conn.merge(DBT_MODEL_EXECUTIONS, rows)
        assert last_builds(conn, ["R", "unknown"]) == {"R": ("i2", "error")}  # reused rows write nothing


# -- three runs of a stream (issue 7, "what it must show" 1 and 2) ---------------------------------------------
STREAM = "REUSE_DEMO_LOAD"
CHANGED = "events_01"
PRICE, CREDITS_PER_HOUR = 2.5, 4.0


@pytest.fixture(scope="module")
def three_runs(prefect_api, tmp_path_factory):
    """Runs 1-3 of the stream for one process date (source ``events_01`` changes before run 3), then a full
    refresh; per run: its dbt invocation and a fingerprint of every model relation."""
    root = tmp_path_factory.mktemp("three-runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DCF_HOME", str(root / "home"))
        project = _project(root / "proj")
        streams = root / "streams"
        streams.mkdir()
        (streams / "reuse.yaml").write_text(yaml.safe_dump({
            "stream": {"name": STREAM, "id": 3001, "description": "reuse demo on a synthetic project"},
            "dbt": {"project_dir": str(project.root), "select": ["package:synthetic"], "reuse": True},
            "source": {"relation": "RAW.EVENTS_00", "process_date_column": "PRCS_DATE"},
            "quality": {"model": "q_scored", "score_column": "dq_score", "status_column": "dq_status",
                        "ready_status": "OK"},
            "target": {"model": "fct_target", "process_date_column": "process_date"},
        }, sort_keys=False))
        mp.setenv("DCF_STREAMS_DIR", str(streams))
        with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
            create_sources(conn, project, process_date=DAY)
        from flows.stream_load import stream_load

        runs = []
        for run in range(4):
            if run == 2:
                with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
                    change_sources(conn, [CHANGED])
            state = stream_load(stream=STREAM, process_date=DAY, full_refresh=run == 3, return_state=True)
            assert state.is_completed(), state.message
            runs.append(_run_facts())
        yield {"home": root / "home", "project": project, "runs": runs}


def _run_facts() -> dict:
    """The dbt invocation of the latest stream run, its statuses, stage statistics and model fingerprints."""
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        stage = conn.fetch_dicts("SELECT PRCS_STATISTICS FROM DCF.DCF_T_PRCS_EXEC_LOG WHERE PRCS_NAME = 'dbt_build' "
                                 "ORDER BY PRCS_INST_ID DESC LIMIT 1")[0]
        statistics = json.loads(stage["PRCS_STATISTICS"])
        # the quality gate splits the build in two invocations: upstream of the target, then the target
        statuses, relations = {}, {}
        for invocation in statistics["invocation_ids"]:
            statuses.update(_statuses(conn, invocation))
            relations.update(conn.fetchall("SELECT MODEL_NAME, RELATION_NAME FROM DCF.DBT_MODEL_EXECUTIONS WHERE "
                                           "INVOCATION_ID = :i AND NODE_ID LIKE 'model.%'", {"i": invocation}))
        prints = fingerprints(conn, {m: r for m, r in relations.items() if m != "audit_clock"})
    return {"invocation_ids": statistics["invocation_ids"], "statuses": statuses, "counts": statistics["counts"],
            "prints": prints}


def _models(statuses: dict[str, str], status: str) -> set[str]:
    return {name for name, s in statuses.items() if s == status and not name.startswith(("unique_", "not_null_"))}


def test_three_runs_reuse_what_is_unchanged(three_runs, monkeypatch):
    monkeypatch.setenv("DCF_HOME", str(three_runs["home"]))
    project, (first, second, third, full) = three_runs["project"], three_runs["runs"]
    models = set(first["statuses"]) - {n for n in first["statuses"] if n.startswith(("unique_", "not_null_"))}
    assert _models(first["statuses"], "success") == models and len(models) == 25 and "ref_codes" in models

    # 2: unchanged inputs: everything but the model that reads the clock is reused, tests included
    assert _models(second["statuses"], "success") == {"audit_clock"}
    assert _models(second["statuses"], "reused") == models - {"audit_clock"}
    assert {s for n, s in second["statuses"].items() if n.startswith(("unique_", "not_null_"))} == {"reused"}
    assert second["counts"]["models_reused"] == 23 and second["counts"]["models_total"] == 24  # seeds not counted

    # 3: one source changed: exactly its downstream closure runs (and the clock model), the rest is reused
    closure = _downstream(project, *project.sources[CHANGED])
    assert _models(third["statuses"], "success") == closure | {"audit_clock"}
    assert _models(third["statuses"], "reused") == models - closure - {"audit_clock"}
    assert third["counts"]["models_reused"] == len(models - closure - {"audit_clock", "ref_codes"})  # seeds uncounted

    # the marts after reuse are the marts of a full build: same rows, same content
    assert full["counts"]["models_reused"] == 0
    assert third["prints"] == full["prints"] and all(third["prints"].values())
    assert third["prints"] != second["prints"]  # the change did reach the marts


def test_savings_report_matches_a_hand_computation(three_runs, monkeypatch):
    """The model-costs flow over the four runs: counts per model and day, and the amounts the rates imply."""
    monkeypatch.setenv("DCF_HOME", str(three_runs["home"]))
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        rows = conn.fetch_dicts("SELECT NODE_ID, MODEL_NAME, STATUS, EXECUTION_TIME, RUN_STARTED_AT "
                                "FROM DCF.DBT_MODEL_EXECUTIONS WHERE STREAM_NAME = :s", {"s": STREAM})
    from flows.model_costs import model_costs
    from tasks.cost_reports import SUMMARY_ARTIFACT

    state = model_costs(window_days=7, price_per_credit=PRICE, credits_per_hour=CREDITS_PER_HOUR, return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()

    # by hand: cost of a run = execution seconds / 3600 x credits per hour x price
    runs: dict[tuple, list] = defaultdict(list)
    times: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        if row["NODE_ID"].split(".")[0] in ("model", "seed"):
            runs[(row["MODEL_NAME"], row["RUN_STARTED_AT"].date())].append(row)
            if row["STATUS"] == "success":
                times[row["MODEL_NAME"]].append(row["EXECUTION_TIME"] / 3600 * CREDITS_PER_HOUR * PRICE)
    expected = {}
    for (model, day), model_runs in runs.items():
        reuses = sum(1 for r in model_runs if r["STATUS"] == "reused")
        average = sum(times[model]) / len(times[model])
        expected[(model, day)] = {"reuse_count": reuses, "execute_count": len(model_runs) - reuses,
                                  "estimated_cost_saved_usd": reuses * average,
                                  "cost_spent_usd": sum(r["EXECUTION_TIME"] for r in model_runs if r["STATUS"] ==
                                                        "success") / 3600 * CREDITS_PER_HOUR * PRICE}
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        report = conn.fetch_dicts("SELECT * FROM dcf_costs.rpt_daily_sao_model_savings WHERE model_package = "
                                  "'synthetic'")
    assert {(r["MODEL_NAME"], r["RUN_DATE"]) for r in report} == set(expected)
    for row in report:
        want = expected[(row["MODEL_NAME"], row["RUN_DATE"])]
        assert (row["REUSE_COUNT"], row["EXECUTE_COUNT"]) == (want["reuse_count"], want["execute_count"])
        assert row["ESTIMATED_COST_SAVED_USD"] == pytest.approx(want["estimated_cost_saved_usd"], rel=1e-9)
        assert row["COST_SPENT_USD"] == pytest.approx(want["cost_spent_usd"], rel=1e-9)
        assert row["COST_BASIS"].startswith("estimate")
    per_model = defaultdict(lambda: [0, 0])
    for row in report:
        per_model[row["MODEL_NAME"]][0] += row["REUSE_COUNT"]
        per_model[row["MODEL_NAME"]][1] += row["EXECUTE_COUNT"]
    # runs 1-3 and the full refresh: a model of the changed closure ran in 1, 3, 4; any other in 1 and 4
    assert per_model["m0007"] == [1, 3]
    assert per_model["m0001"] == per_model["ref_codes"] == [2, 2] and per_model["audit_clock"] == [0, 4]

    saved = sum(e["estimated_cost_saved_usd"] for e in expected.values())
    spent = sum(e["cost_spent_usd"] for e in expected.values())
    synthetic = [r for r in rows if r["NODE_ID"].split(".")[0] in ("model", "seed")]
    assert summary["total_reuses"] == sum(1 for r in synthetic if r["STATUS"] == "reused")
    assert summary["total_executions"] == sum(1 for r in synthetic if r["STATUS"] == "success")
    assert summary["cost_saved_usd"] == pytest.approx(saved, rel=1e-9)
    assert summary["percent_saved"] == pytest.approx(100 * saved / (saved + spent), rel=1e-9)
    assert summary["price_per_credit_usd"] == PRICE and summary["window_days"] == 7

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    table = next(a for a in artifacts if a.key == SUMMARY_ARTIFACT)
    data = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert data[0]["total_reuses"] == summary["total_reuses"]
