"""Two streams at once, each run by its own process with its own DCF_HOME (two workers on two hosts), one
Prefect server. On the Snowflake path (fakesnow's server: every statement over the wire, one control schema)
both run side by side; on the local DuckDB file the second queues for the file and says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import pytest
import yaml

from dcf.demo.synthetic_landing import generate_landing_file
from dcf.paths import PROJECT_ROOT
from tests.streams import BCFINSG, BCFINSG_YAML

pytestmark = pytest.mark.e2e
DAY = date(2024, 3, 1)
SHOP = "SHOP_DAILY"


def _streams(root: Path, *, warehouse_block: str | None) -> Path:
    """BCFINSG and the shop stream, each on a private copy of its dbt project; on Snowflake they build with the
    warehouse's own profile (dbt-snowflake, pointed at the same endpoint as the control store)."""
    streams = root / "streams"
    streams.mkdir()
    for name, yaml_path, project in ((BCFINSG, BCFINSG_YAML, PROJECT_ROOT / "dbt" / "gdw1"),
                                     (SHOP, PROJECT_ROOT / "tests" / "fixtures" / "shop_stream.yaml",
                                      PROJECT_ROOT / "tests" / "fixtures" / "shop_dbt")):
        copy = root / project.name
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns("target", "logs"))
        data = yaml.safe_load(yaml_path.read_text())
        data["dbt"]["project_dir"] = str(copy)
        if warehouse_block:
            data["warehouse_block"] = warehouse_block
            data["dbt"]["target"] = "snowflake"
            data["dbt"].pop("profiles_dir", None)
        elif "profiles_dir" in data["dbt"]:  # BCFINSG's own profile (the shop's writes elsewhere: left out)
            data["dbt"]["profiles_dir"] = str(copy)
        (streams / f"{name.lower()}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return streams


def _start(stream: str, home: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flows.stream_load", "--stream", stream, "--process-date",
                             DAY.isoformat()], cwd=PROJECT_ROOT, env={**env, "DCF_HOME": str(home)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _both(first: subprocess.Popen, second: subprocess.Popen) -> tuple[str, str]:
    outputs = tuple(process.communicate(timeout=600)[0] for process in (first, second))
    for process, output in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, output[-4000:]
    return outputs


def test_two_streams_on_two_workers_run_side_by_side_on_the_snowflake_path(prefect_api, fakesnow_server,
                                                                         tmp_path):
    import snowflake.connector
    from prefect_snowflake import SnowflakeConnector, SnowflakeCredentials

    from blocks.warehouse import DcfWarehouse
    from dcf.store.connection import Connection
    from dcf.store.dialect import Dialect, Namespace

    database = f"DB_{uuid.uuid4().hex[:8].upper()}"  # the fakesnow server is the session's
    setup = snowflake.connector.connect(**fakesnow_server)
    for statement in (f"CREATE DATABASE {database}", f"USE DATABASE {database}", "CREATE SCHEMA DCF",
                      "CREATE SCHEMA RAW"):
        setup.cursor().execute(statement)
    endpoint = {k: fakesnow_server[k] for k in ("host", "port", "protocol", "session_parameters", "network_timeout")}
    credentials = SnowflakeCredentials(account=fakesnow_server["account"], user=fakesnow_server["user"],
                                       password=fakesnow_server["password"])
    # The control schema is the connector's too: see tests/flows/test_snowflake_stream.py (fakesnow's sequences).
    connector = SnowflakeConnector(credentials=credentials, database=database, schema="DCF", warehouse="DCF_WH")
    DcfWarehouse(kind="snowflake", snowflake_connector=connector, snowflake_connect_args=endpoint,
                 control_database=database, control_schema="DCF").save("concurrent-warehouse", overwrite=True)

    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PREFECT_API_URL": prefect_api,
           "DCF_STREAMS_DIR": str(_streams(tmp_path, warehouse_block="concurrent-warehouse"))}
    worker_a, worker_b = tmp_path / "worker-a", tmp_path / "worker-b"
    generate_landing_file(DAY, worker_a / "landing" / "bcfinsg", rows=300)
    _both(_start(BCFINSG, worker_a, env), _start(SHOP, worker_b, env))

    conn = Connection(snowflake.connector.connect(**fakesnow_server, database=database, schema="DCF"),
                      Dialect.SNOWFLAKE, Namespace("DCF", database))
    instances = {r["STRM_NAME"]: r for r in conn.fetch_dicts("SELECT * FROM DCF.DCF_T_PRCS_INST")}
    assert {name: row["PRCS_STATUS"] for name, row in instances.items()} == {BCFINSG: "SUCCEEDED", SHOP: "SUCCEEDED"}
    starts = [row["PRCS_START_TS"] for row in instances.values()]
    ends = [row["PRCS_END_TS"] for row in instances.values()]
    assert max(starts) < min(ends), "side by side: each began before the other ended"
    assert conn.scalar("SELECT COUNT(*) FROM DCF.DCF_T_STRM WHERE CLAIM_OWNER IS NOT NULL") == 0
    jobs = conn.fetch_dicts("SELECT PROCESS_STEP_ID, EXECUTION_STATUS_NAME, PROCESS_CONFIG_OBJ "
                            "FROM DCF.PROCESS_EXECUTION_LOG WHERE RECORD_TYPE = 'JOB'")
    per_stream = {}
    for job in jobs:
        stream = json.loads(job["PROCESS_CONFIG_OBJ"])["stream_name"]
        per_stream.setdefault(stream, []).append(job["EXECUTION_STATUS_NAME"])
    assert per_stream == {BCFINSG: ["SUCCESS", "SUCCESS"], SHOP: ["SUCCESS"]}, per_stream
    assert conn.scalar("SELECT COUNT(*) FROM DCF.PROCESS_EXECUTION_LOG WHERE EXECUTION_STATUS_NAME = 'RUNNING'") == 0
    stages = conn.fetch_dicts("SELECT PRCS_STATUS, COUNT(*) AS N FROM DCF.DCF_T_PRCS_EXEC_LOG GROUP BY 1")
    assert [(r["PRCS_STATUS"], r["N"] > 0) for r in stages] == [("COMPLETED", True)]
    [lineage] = conn.fetch_dicts("SELECT RECORD_COUNT, LIFECYCLE_STAGE FROM DCF.DCF_T_DATA_LINEAGE")
    assert (lineage["RECORD_COUNT"], lineage["LIFECYCLE_STAGE"]) == (300, "ARCHIVED")


def test_two_streams_at_once_on_the_local_file_queue_for_it_and_say_so(prefect_api, tmp_path):
    home = tmp_path / "dcf-home"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PREFECT_API_URL": prefect_api,
           "DCF_STREAMS_DIR": str(_streams(tmp_path, warehouse_block=None))}
    generate_landing_file(DAY, home / "landing" / "bcfinsg", rows=300)
    outputs = _both(_start(BCFINSG, home, env), _start(SHOP, home, env))
    waited = [output for output in outputs if "waiting for the local DuckDB warehouse (held by another run)" in output]
    assert len(waited) == 1, "the second run queued for the file, and said so once"

    from dcf.store.connection import open_duckdb
    from dcf.store.dialect import Namespace

    with open_duckdb(home / "warehouse.duckdb", Namespace("DCF"), read_only=True) as conn:
        statuses = dict(conn.fetchall("SELECT STRM_NAME, PRCS_STATUS FROM DCF.DCF_T_PRCS_INST"))
    assert statuses == {BCFINSG: "SUCCEEDED", SHOP: "SUCCEEDED"}
