"""Imported corpus sequences run for real on the embedded default, their jobs stubbed by commands that end as
the scenario says: the activities that ran, in the order they started, and how the run ended are the answer
key's (which its authors replayed on each sequence's compiled job control)."""

from __future__ import annotations

import sys
from datetime import date

import duckdb
import pytest
import yaml

from dcf.datastage.importer import import_exports
from dcf.paths import warehouse_path
from flows.import_datastage import _import
from tests.convert.corpus_rows import (
    expected_csv,
    key_rows,
    load_existing_targets,
    load_sources,
    output_directories,
    warehouse_text,
)
from tests.datastage.corpus import (
    PARALLEL,
    SEQUENCES_ISX,
    parallel_jobs,
    parallel_key,
    parallel_parameter_sets,
    parallel_parameters,
    sequence_key,
)
from tests.streams import query

pytestmark = pytest.mark.e2e
DAY = date(2024, 3, 1)
#: The key's final status -> the instance's status in DCF_T_PRCS_INST.
FINAL = {"finished OK": "SUCCEEDED", "finished with warnings": "COMPLETED_WITH_WARNINGS",
         "aborted by terminator": "FAILED", "aborted (unhandled failure, no exception handler)": "FAILED"}
CASES = [("SQ_LEVELS", "levels-2"), ("SQ_LEVELS", "levels-5"), ("SQ_LEVELS", "levels-5-dim-aborted"),
         ("SQ_CUSTOMER", "customer-stg-failed"), ("SQ_CUSTOMER", "customer-dim-failed")]


def _stubbed(stream: dict, statuses: dict[str, int]) -> dict:
    """Every job, command and terminator as it is; each job activity a command exiting as its status says
    (1 -> 0, else 1); commands stubbed to succeed."""
    for activity in stream["sequence"]:
        if "dbt" in activity or "command" in activity:
            activity.pop("dbt", None)
            code = 0 if statuses.get(activity["name"], 1) == 1 else 1
            activity["command"] = [sys.executable, "-c", f"raise SystemExit({code})"]
    return stream


@pytest.mark.parametrize(("sequence", "scenario_id"), CASES, ids=[c[1] for c in CASES])
def test_an_imported_sequence_runs_its_scenario_for_real(prefect_api, tmp_path, monkeypatch, sequence, scenario_id):
    from flows.stream_load import stream_load

    scenario = next(s for s in sequence_key()[sequence]["scenarios"] if s["id"] == scenario_id)
    given = scenario.get("given") or {}
    out = tmp_path / "imported"
    assert not import_exports([SEQUENCES_ISX], out=out).not_loading
    path = out / f"{sequence.lower()}.yaml"
    stream = _stubbed(yaml.safe_load(path.read_text(encoding="utf-8")), given.get("jobs") or {})
    path.write_text(yaml.safe_dump(stream, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("DCF_STREAMS_DIR", str(out))

    parameters = {k: str(v) for k, v in (given.get("parameters") or {}).items()}
    stream_load(stream=sequence, process_date=DAY, return_state=True,
                **({"parameters": parameters} if parameters else {}))
    rows = query("SELECT PRCS_NAME, PRCS_STATUS FROM DCF.DCF_T_PRCS_EXEC_LOG ORDER BY PRCS_START_TS, PRCS_NAME")
    kinds = {a["name"]: a for a in stream["sequence"]}
    ran = [r["PRCS_NAME"] for r in rows if r["PRCS_NAME"] in kinds and r["PRCS_STATUS"] != "SKIPPED"
           and not {"sequencer", "nested_condition"} & set(kinds[r["PRCS_NAME"]])]
    assert ran == scenario["runs"], scenario["why"]
    [instance] = query("SELECT PRCS_STATUS FROM DCF.DCF_T_PRCS_INST")
    assert instance["PRCS_STATUS"] == FINAL[scenario["final"]]


def test_every_imported_sequence_passes_validate_with_a_job_map(prefect_api, tmp_path, monkeypatch):
    """The job map sends the corpus's parallel jobs to a dbt project's models and mail to a real block: every
    imported stream passes VALIDATE (selections match nodes, executables exist, the block exists)."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    from flows.stream_load import stream_load

    CustomWebhookNotificationBlock(name="ops", url="http://127.0.0.1:9/hook").save("corpus-ops", overwrite=True)
    job_map = tmp_path / "job_map.yaml"
    job_map.write_text(yaml.safe_dump({"PX_*": "package:shop", "notify": "custom-webhook/corpus-ops"}))
    out = tmp_path / "imported"
    # the import flow's own VALIDATE column
    result = _import([str(SEQUENCES_ISX)], str(out), str(job_map), 5000, "tests/fixtures/shop_dbt")
    assert not result.not_loading
    report = (out / "migration_report.md").read_text(encoding="utf-8")
    rows = [line for line in report.splitlines() if line.startswith("| SQ_")]
    assert len(rows) == len(sequence_key()) and all("| yes | passes | agrees |" in row for row in rows), rows
    unmapped = _import([str(SEQUENCES_ISX)], str(tmp_path / "unmapped"), None, 5000, "tests/fixtures/shop_dbt")
    for name, sequence in unmapped.sequences.items():  # every job activity (from the XML) fails VALIDATE
        problems = sequence["validate"]
        assert sum("matches no node" in p for p in problems) == len(_job_activities(name)), (name, problems)
    monkeypatch.setenv("DCF_STREAMS_DIR", str(out))
    for sequence in sorted(sequence_key()):
        state = stream_load(stream=sequence, mode="VALIDATE", return_state=True)
        assert state.is_completed(), f"{sequence}: {state.message}"
        assert "VALIDATE: no problems" in state.message



def _job_activities(sequence: str) -> list[str]:
    """The activities of ``sequence`` that run a parallel job, from the answer key (not from the importer)."""
    return [a["name"] for a in sequence_key()[sequence]["activities"]
            if a["class"] == "JSJobActivity" and a["job"].startswith("PX_")]


def test_sequences_imported_with_their_converted_jobs_select_the_generated_models(prefect_api, tmp_path):
    """Import the sequences together with the parallel jobs, converting them: the written job map sends each
    job to the tag its generated models carry (or the operation a job that only runs SQL became), and a sequence
    passes VALIDATE exactly when every parallel job it calls (from the answer key) has generated models or a
    macro (from the files written), the others each naming theirs."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    from dcf.datastage.importer import JOB_MAP_FILE

    CustomWebhookNotificationBlock(name="ops", url="http://127.0.0.1:9/hook").save("corpus-ops", overwrite=True)
    given = tmp_path / "given_map.yaml"
    given.write_text(yaml.safe_dump({"notify": "custom-webhook/corpus-ops"}))
    dbt_out, out = tmp_path / "dbt", tmp_path / "imported"
    result = _import([str(SEQUENCES_ISX), str(PARALLEL / "DEMO_DWH_parallel.isx")], str(out), str(given), 5000,
                     None, dbt_out=str(dbt_out), dbt_vars=parallel_parameter_sets())
    job_map = yaml.safe_load((out / JOB_MAP_FILE).read_text(encoding="utf-8"))
    macros = {path.stem.upper() for path in (dbt_out / "macros" / "datastage").glob("*.sql")}
    writes_no_table = {job for job, key in parallel_key().items()
                       if all(t.get("table", "") is None for t in key["targets"])}
    assert macros == writes_no_table
    assert job_map == {"notify": "custom-webhook/corpus-ops",
                       **{job: {"operation": job.lower()} if job in macros else f"tag:{job.lower()}"
                          for job in parallel_key()}}
    has_models = {job: job in macros or any((dbt_out / "models" / "datastage" / job.lower()).glob("*.sql"))
                  for job in parallel_key()}
    for name, sequence in result.sequences.items():
        called = {a["job"] for a in sequence_key()[name]["activities"]
                  if a["class"] == "JSJobActivity" and a["job"].startswith("PX_")}
        missing = sorted(job for job in called if not has_models[job])
        problems = sequence["validate"]
        assert (problems == []) == (not missing), (name, problems)
        for job in missing:
            assert any(f"tag:{job.lower()}" in p and "matches no node" in p for p in problems), (name, job)
        if called:  # the streams build the generated project
            assert yaml.safe_load((out / sequence["file"]).read_text())["dbt"]["project_dir"] == str(dbt_out)
    passing = [name for name, sequence in result.sequences.items() if sequence["validate"] == []]
    assert len(passing) == len(sequence_key()) == 6, result.sequences  # every job converted: every stream passes


def test_an_imported_sequence_builds_its_converted_jobs_for_real(prefect_api, tmp_path, monkeypatch):
    """SQ_CUSTOMER imported with its parallel jobs converted, run by the stream flow on the local DuckDB over
    the corpus's input rows: both job activities build the generated models (a JOB row each, a MODEL row per
    model in the execution log) and every target holds the rows DataStage writes (the key's CSVs). The second
    job reads what the first wrote (its model, by ref()): its staging input is not loaded from the key."""
    from flows.stream_load import stream_load

    export = PARALLEL / "DEMO_DWH_parallel.isx"
    dbt_out, out, landing = tmp_path / "dbt", tmp_path / "imported", tmp_path / "landing"
    result = _import([str(SEQUENCES_ISX), str(export)], str(out), None, 5000, None, validate=False,
                     dbt_out=str(dbt_out), dbt_vars={**parallel_parameter_sets(), **parallel_parameters(),
                                                     **output_directories(tmp_path / "files")})
    conversions = {c.job: c for c in result.conversions}
    assert ("ps_dwh", "PS_DWH.SCHEMA", "STG_CUSTOMER") not in conversions["PX_DIM_CUSTOMER_SCD"].sources
    called = ["PX_STG_CUSTOMER", "PX_DIM_CUSTOMER_SCD"]  # the key's job activities of SQ_CUSTOMER
    assert called == [a["job"] for a in sequence_key()["SQ_CUSTOMER"]["activities"] if a["class"] == "JSJobActivity"]
    jobs = parallel_jobs()
    with duckdb.connect(str(warehouse_path())) as conn:
        for name in called:
            load_sources(conn, jobs[name], conversions[name])
            load_existing_targets(conn, jobs[name], conversions[name])
    (landing / "done").mkdir(parents=True)
    monkeypatch.setenv("DCF_STREAMS_DIR", str(out))

    state = stream_load(stream="SQ_CUSTOMER", process_date=DAY, parameters={"PS_ENV.LANDING_DIR": str(landing)},
                        return_state=True)

    assert state.is_completed(), state.message
    builds = query("SELECT PROCESS_STEP_ID, RECORD_TYPE, EXECUTION_STATUS_NAME FROM DCF.PROCESS_EXECUTION_LOG")
    assert len([b for b in builds if b["RECORD_TYPE"] == "JOB"]) == len(called)
    models = {b["PROCESS_STEP_ID"].split("_MODEL_", 1)[1].lower(): b["EXECUTION_STATUS_NAME"] for b in builds
              if b["RECORD_TYPE"] == "MODEL"}
    built = {m.name for name in called for m in conversions[name].models}
    assert {name: status for name, status in models.items() if name in built} == dict.fromkeys(built, "SUCCESS")
    assert (landing / "done" / "customer_2024-01-31.done").exists(), "the marker after the dimension"
    for name in called:  # read as the run left them (the flow's own connection to the file is still open)
        targets = {t["stage"]: t for t in parallel_key()[name]["targets"]}
        for model in conversions[name].models:
            stored = query(f"SELECT * FROM main.{model.name}")
            rows = sorted((tuple(warehouse_text(v) for v in row.values()) for row in stored), key=str)
            assert rows == sorted(key_rows(expected_csv(name, targets[model.stage])), key=str), model.name


def test_an_imported_master_runs_the_generated_operation_then_its_child_for_real(prefect_api, tmp_path, monkeypatch):
    """SQ_MASTER imported with its jobs converted, its first child SQ_CUSTOMER kept (the other two children, the
    sequencer and the mail that wait for them left out): JA_TRUNCATE runs the operation PX_TRUNCATE_STAGE became
    (a JOB row and a MODEL row of type OPERATION), emptying the staging tables the key's statements name — one
    the project builds (by ref()), one in the schema PS_DWH.SCHEMA names — then the child builds its models
    with the key's rows."""
    from flows.stream_load import stream_load

    dbt_out, out, landing = tmp_path / "dbt", tmp_path / "imported", tmp_path / "landing"
    result = _import([str(SEQUENCES_ISX), str(PARALLEL / "DEMO_DWH_parallel.isx")], str(out), None, 5000, None,
                     validate=False, dbt_out=str(dbt_out),
                     dbt_vars={**parallel_parameter_sets(), **output_directories(tmp_path / "files")})
    conversions = {c.job: c for c in result.conversions}
    kept = {"JA_TRUNCATE", "JA_SQ_CUSTOMER"}
    path = out / "sq_master.yaml"
    master = yaml.safe_load(path.read_text(encoding="utf-8"))
    master["sequence"] = [a for a in master["sequence"] if a["name"] in kept]
    assert master["sequence"][0]["dbt"]["operation"] == "px_truncate_stage"
    path.write_text(yaml.safe_dump(master, sort_keys=False), encoding="utf-8")
    schema = parallel_parameter_sets()["PS_DWH.SCHEMA"]
    jobs = parallel_jobs()
    with duckdb.connect(str(warehouse_path())) as conn:
        for name in ("PX_STG_CUSTOMER", "PX_DIM_CUSTOMER_SCD"):
            load_sources(conn, jobs[name], conversions[name])
            load_existing_targets(conn, jobs[name], conversions[name])
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"CREATE TABLE {schema}.STG_TRANSACTION AS SELECT range AS ID FROM range(3)")
        conn.execute("CREATE TABLE main.stg_account AS SELECT range AS ID FROM range(2)")  # a model built before
    (landing / "done").mkdir(parents=True)
    monkeypatch.setenv("DCF_STREAMS_DIR", str(out))

    state = stream_load(stream="SQ_MASTER", process_date=DAY, parameters={"PS_ENV.LANDING_DIR": str(landing)},
                        return_state=True)

    assert state.is_completed(), state.message
    log = query("SELECT PROCESS_STEP_ID, RECORD_TYPE, EXECUTION_TYPE_NAME, EXECUTION_STATUS_NAME "
                "FROM DCF.PROCESS_EXECUTION_LOG")
    [operation] = [row for row in log if row["EXECUTION_TYPE_NAME"] == "OPERATION"]
    assert operation["PROCESS_STEP_ID"].endswith("_MODEL_px_truncate_stage")
    assert operation["EXECUTION_STATUS_NAME"] == "SUCCESS"
    assert len([row for row in log if row["RECORD_TYPE"] == "JOB"]) == 3  # the operation, the child's two builds
    assert query(f"SELECT COUNT(*) AS N FROM {schema}.STG_TRANSACTION") == [{"N": 0}]
    assert query("SELECT COUNT(*) AS N FROM main.stg_account") == [{"N": 0}]
    targets = {t["stage"]: t for t in parallel_key()["PX_STG_CUSTOMER"]["targets"]}
    for model in conversions["PX_STG_CUSTOMER"].models:
        stored = query(f"SELECT * FROM main.{model.name}")
        rows = sorted((tuple(warehouse_text(v) for v in row.values()) for row in stored), key=str)
        assert rows == sorted(key_rows(expected_csv("PX_STG_CUSTOMER", targets[model.stage])), key=str), model.name
