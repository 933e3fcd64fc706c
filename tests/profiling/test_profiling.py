"""The profiling engine and its records: real DuckDB files, real Great Expectations, fakesnow for Snowflake.

Expected figures come from an independent computation (pandas / numpy on the rows read back), never
from the code under test. Exact metrics must match exactly (floats to 1e-9 relative: summation order);
approximate distinct counts within 10 % (DuckDB's HyperLogLog: measured up to 6 % on this machine).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dcf.errors import IllegalTransitionError, RefusedError
from dcf.paths import warehouse_path
from dcf.profiling import (
    ProfileContext,
    ProfileOptions,
    RunStatus,
    SnowflakeSource,
    finish_run,
    get_run,
    profile_column,
    profile_table,
    resolve_relation,
    run_profile,
    start_run,
)
from dcf.profiling.records import close_orphaned_runs, write_results
from dcf.store.connection import Connection, open_duckdb
from dcf.store.dialect import Namespace
from dcf.store.migrate import ensure_schema
from tasks.table_profiles import profile_with

ROWS = 20_000
TABLE_SQL = f"""
CREATE TABLE main.profiled AS
SELECT
    i AS ID,
    CASE WHEN i % 10 = 3 THEN NULL ELSE (i * 7919) % 1000 END AS AMOUNT_INT,
    CASE WHEN i % 8 = 0 THEN NULL ELSE ((i * 37) % 2000) / 4.0 END AS AMOUNT,
    CASE WHEN i % 5 = 0 THEN NULL ELSE 'cat_' || (i % 7) END AS CATEGORY,
    'name_' || i AS NAME,
    DATE '2024-01-01' + (i % 90)::INTEGER AS BUSINESS_DATE,
    i % 3 = 0 AS FLAG
FROM range({ROWS}) AS r(i)
"""
NUMERIC, TEXT = ("ID", "AMOUNT_INT", "AMOUNT"), ("CATEGORY", "NAME")
QUANTILES = (0.25, 0.5, 0.75)


@pytest.fixture
def warehouse(dcf_home: Path) -> Connection:
    conn = open_duckdb(warehouse_path(), Namespace("DCF"))  # the local default's file, under DCF_HOME
    ensure_schema(conn)
    conn.execute(TABLE_SQL)
    yield conn
    conn.close()


def frame(conn: Connection, sql: str) -> pd.DataFrame:
    return pd.DataFrame(conn.fetch_dicts(sql))


def table_counts(conn: Connection) -> tuple[int, int]:
    return tuple(conn.scalar(f"SELECT COUNT(*) FROM DCF.{table}") for table in ("PROFILE_RUNS", "PROFILE_RESULTS"))


def scratch_tables(conn: Connection) -> list[tuple]:
    return conn.fetchall("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'PROFILE_SAMPLE_%'")


def results(conn: Connection, run_id: str) -> dict[tuple[str, str], tuple]:
    rows = conn.fetchall(
        "SELECT COLUMN_NAME, METRIC_NAME, METRIC_VALUE, METRIC_TEXT, CAST(METRIC_JSON AS VARCHAR) "
        "FROM DCF.PROFILE_RESULTS WHERE RUN_ID = :run_id",
        {"run_id": run_id},
    )
    return {(column, metric): tuple(values) for column, metric, *values in rows}


def expected_top_values(series: pd.Series) -> list[dict]:
    counts = series.dropna().value_counts().rename_axis("value").reset_index(name="count")
    counts = counts.sort_values(["count", "value"], ascending=[False, True])
    return [{"value": v.isoformat() if hasattr(v, "isoformat") else v, "count": int(c)} for v, c in counts.values]


# -- 1. correctness -----------------------------------------------------------------------------------
def test_exact_profile_matches_pandas(warehouse):
    profile = profile_table(warehouse, "main.profiled")
    df = frame(warehouse, "SELECT * FROM main.profiled")

    assert profile.row_count == len(df) == ROWS
    assert [c.name for c in profile.columns] == list(df.columns)
    for column in profile.columns:
        series, m = df[column.name], column.metrics
        assert m["null_count"] == series.isna().sum(), column.name
        assert m["null_rate"] == pytest.approx(series.isna().sum() / ROWS)
        assert m["distinct_count"] == series.nunique(), column.name
        if column.kind in ("numeric", "text", "temporal"):
            low, high = series.dropna().min(), series.dropna().max()
            assert (m["min"], m["max"]) == (
                (low.isoformat(), high.isoformat()) if column.kind == "temporal" else (low, high)
            ), column.name
        if column.name in NUMERIC:
            values = series.dropna().astype(float)
            assert m["mean"] == pytest.approx(values.mean(), rel=1e-9)
            assert m["stddev"] == pytest.approx(values.std(ddof=1), rel=1e-9)
            # SQL PERCENTILE_DISC is numpy's inverted CDF: the smallest value with F(x) >= q
            assert m["quantiles"] == {repr(q): np.quantile(values, q, method="inverted_cdf") for q in QUANTILES}
        if column.name in TEXT:
            lengths = series.dropna().str.len()
            assert (m["min_length"], m["max_length"]) == (lengths.min(), lengths.max())
        if series.nunique() < 50:
            assert m["top_values"] == expected_top_values(series), column.name
        else:
            assert "top_values" not in m, f"{column.name}: top values must stay bounded"
    assert profile.column("FLAG").kind == "boolean" and "min" not in profile.column("FLAG").metrics


def test_approximate_distinct_counts_within_ten_percent(warehouse):
    exact = profile_table(warehouse, "main.profiled")
    approximate = profile_table(warehouse, "main.profiled", ProfileOptions(approximate=True))

    for column in approximate.columns:
        truth = exact.column(column.name).metrics["distinct_count"]
        estimate = column.metrics["approx_distinct_count"]
        assert "distinct_count" not in column.metrics
        assert abs(estimate - truth) <= 0.10 * truth, f"{column.name}: {estimate} vs {truth}"
        # everything else is still exact
        assert column.metrics["null_count"] == exact.column(column.name).metrics["null_count"]


def test_profile_column_returns_the_column_and_writes_nothing(warehouse):
    before = table_counts(warehouse)

    column = profile_column(warehouse, "profiled", "category", ProfileOptions(sample_rate=0.5, seed=3))

    assert column.name == "CATEGORY" and column.kind == "text"
    assert sum(v["count"] for v in column.metrics["top_values"]) + column.metrics["null_count"] == column.rows
    assert table_counts(warehouse) == before
    assert scratch_tables(warehouse) == []


def test_metric_groups_can_be_chosen(warehouse):
    profile = profile_table(warehouse, "main.profiled", ProfileOptions(metrics=("nulls", "quantiles")))

    assert profile.column("AMOUNT").metrics.keys() == {"null_count", "null_rate", "quantiles"}
    assert profile.column("NAME").metrics.keys() == {"null_count", "null_rate"}


# -- 2. PROFILE_RUNS follows the spec ------------------------------------------------------------------
NOT_NULL = ("RUN_ID", "TARGET_DB", "TARGET_SCHEMA", "TARGET_TABLE", "STARTED_AT", "STATUS")


def test_succeeded_run_row_follows_the_spec(warehouse):
    outcome = run_profile(warehouse, "main.profiled", ProfileOptions(approximate=True))

    row = get_run(warehouse, outcome.run_id)
    assert all(row[c] is not None for c in NOT_NULL)
    assert (row["TARGET_DB"], row["TARGET_SCHEMA"], row["TARGET_TABLE"]) == ("warehouse", "main", "profiled")
    assert row["STATUS"] == "SUCCEEDED" and row["FINISHED_AT"] >= row["STARTED_AT"]
    assert row["ROW_COUNT"] == ROWS and row["ERROR_CODE"] is None and row["ERROR_MESSAGE"] is None
    assert row["SAMPLE_RATE"] is None and row["SAMPLE_SEED"] is None
    assert row["WAREHOUSE_NAME"] is None and row["ROLE_NAME"] is None  # DuckDB: no session warehouse/role
    assert row["TRIGGERED_BY"] and row["UPDATED_AT"] == row["FINISHED_AT"]
    stored = results(warehouse, outcome.run_id)
    assert stored[("*", "row_count")][0] == ROWS
    assert len(stored) == len(outcome.profile.result_rows(outcome.run_id, datetime.now()))
    assert '"0.5"' in stored[("AMOUNT", "quantiles")][2]  # quantiles and top values are JSON


def test_finished_at_is_null_exactly_while_running(warehouse):
    relation = resolve_relation(warehouse, "main.profiled")
    assert start_run(warehouse, relation, ProfileOptions(), run_id="run-1") is True
    running = get_run(warehouse, "run-1")
    assert running["STATUS"] == "RUNNING" and running["FINISHED_AT"] is None and running["UPDATED_AT"] is None

    assert start_run(warehouse, relation, ProfileOptions(), run_id="run-1") is False  # a repeated start
    finish_run(warehouse, "run-1", RunStatus.SUCCEEDED, row_count=0)
    assert get_run(warehouse, "run-1")["FINISHED_AT"] is not None


def test_forced_failure_ends_failed_with_the_error(warehouse):
    # resolves and has columns, but every query over it fails: a real error in the middle of a run
    warehouse.execute("CREATE VIEW main.broken AS SELECT CAST('not a number' AS INTEGER) AS X")

    with pytest.raises(Exception, match="not a number"):
        run_profile(warehouse, "main.broken")

    (row,) = warehouse.fetch_dicts("SELECT * FROM DCF.PROFILE_RUNS")
    assert row["STATUS"] == "FAILED" and row["FINISHED_AT"] is not None
    assert row["ERROR_CODE"] and "not a number" in row["ERROR_MESSAGE"]
    assert row["ROW_COUNT"] is None
    assert warehouse.scalar("SELECT COUNT(*) FROM DCF.PROFILE_RESULTS") == 0


@pytest.mark.parametrize(
    ("first", "then"),
    [(RunStatus.SUCCEEDED, RunStatus.FAILED), (RunStatus.FAILED, RunStatus.SUCCEEDED)],
)
def test_illegal_transitions_are_refused(warehouse, first, then):
    relation = resolve_relation(warehouse, "main.profiled")
    start_run(warehouse, relation, ProfileOptions(), run_id="run-2")
    finish_run(warehouse, "run-2", first, row_count=1, error=None if first is RunStatus.SUCCEEDED else ValueError("x"))
    before = get_run(warehouse, "run-2")

    with pytest.raises(IllegalTransitionError, match=f"is {first.value}: it cannot become {then.value}"):
        finish_run(warehouse, "run-2", then, row_count=2)
    with pytest.raises(IllegalTransitionError, match="cannot become RUNNING"):
        start_run(warehouse, relation, ProfileOptions(), run_id="run-2")
    with pytest.raises(IllegalTransitionError, match="run-unknown is unknown"):
        finish_run(warehouse, "run-unknown", RunStatus.SUCCEEDED)
    assert get_run(warehouse, "run-2") == before
    assert warehouse.scalar("SELECT COUNT(*) FROM DCF.PROFILE_RUNS") == 1


def test_orphaned_running_runs_are_closed_failed(warehouse):
    relation = resolve_relation(warehouse, "main.profiled")
    start_run(warehouse, relation, ProfileOptions(), run_id="old", started_at=datetime(2020, 1, 1))
    start_run(warehouse, relation, ProfileOptions(), run_id="new")

    assert close_orphaned_runs(warehouse, timedelta(hours=6)) == ["old"]
    assert close_orphaned_runs(warehouse, timedelta(hours=6)) == []

    old = get_run(warehouse, "old")
    assert (old["STATUS"], old["ERROR_CODE"]) == ("FAILED", "OrphanedRun") and old["FINISHED_AT"] is not None
    assert get_run(warehouse, "new")["STATUS"] == "RUNNING"


# -- 3. idempotence ------------------------------------------------------------------------------------
def test_rewriting_a_finished_run_changes_nothing(warehouse):
    outcome = run_profile(warehouse, "main.profiled")
    snapshot = (warehouse.fetchall("SELECT * FROM DCF.PROFILE_RUNS ORDER BY RUN_ID"),
                warehouse.fetchall("SELECT * FROM DCF.PROFILE_RESULTS ORDER BY COLUMN_NAME, METRIC_NAME"))
    rows = outcome.profile.result_rows(outcome.run_id, datetime(2030, 1, 1))

    assert finish_run(warehouse, outcome.run_id, RunStatus.SUCCEEDED, row_count=ROWS, results=rows) is False
    write_results(warehouse, rows)  # the results MERGE alone, twice: no duplicates, CREATED_AT kept
    write_results(warehouse, rows)

    assert (warehouse.fetchall("SELECT * FROM DCF.PROFILE_RUNS ORDER BY RUN_ID"),
            warehouse.fetchall("SELECT * FROM DCF.PROFILE_RESULTS ORDER BY COLUMN_NAME, METRIC_NAME")) == snapshot


# -- 4. sampling ---------------------------------------------------------------------------------------
def test_sample_is_shared_by_all_metrics_and_repeatable(warehouse):
    options = ProfileOptions(sample_rate=0.3, seed=11)
    first = run_profile(warehouse, "main.profiled", options)
    second = run_profile(warehouse, "main.profiled", options)

    sample = frame(warehouse, "SELECT * FROM main.profiled TABLESAMPLE BERNOULLI(30 PERCENT) REPEATABLE (11)")
    profile = first.profile
    assert 0 < profile.row_count < ROWS and profile.row_count == len(sample)
    for column in profile.columns:  # every metric saw the same rows
        assert column.rows == profile.row_count
        assert column.metrics["null_count"] == sample[column.name].isna().sum()
        if "top_values" in column.metrics:
            counted = sum(v["count"] for v in column.metrics["top_values"]) + column.metrics["null_count"]
            assert counted == profile.row_count, column.name
    assert profile.column("AMOUNT").metrics["mean"] == pytest.approx(sample["AMOUNT"].mean(), rel=1e-9)

    # same rows, same figures (floating sums may differ in the last bits: DuckDB adds in parallel)
    assert comparable(warehouse, first.run_id) == comparable(warehouse, second.run_id)
    row = get_run(warehouse, first.run_id)
    assert (row["SAMPLE_RATE"], row["SAMPLE_SEED"], row["ROW_COUNT"]) == (0.3, 11, len(sample))
    assert scratch_tables(warehouse) == []


# -- 6. bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("main.no_such_table", "unknown table 'main.no_such_table'"),
        ("no_such_table", "unknown table 'no_such_table'"),
        ("main.profiled; DROP TABLE x", "not a plain SQL identifier"),
    ],
)
def test_unknown_table_is_refused_and_no_run_is_written(warehouse, table, message):
    with pytest.raises(RefusedError, match=message):
        run_profile(warehouse, table)
    assert table_counts(warehouse) == (0, 0)


def test_unknown_column_is_refused(warehouse):
    with pytest.raises(RefusedError, match="has no column 'NOPE'; columns: ID, AMOUNT_INT"):
        profile_column(warehouse, "main.profiled", "NOPE")
    assert scratch_tables(warehouse) == []


@pytest.mark.parametrize("rate", [0, 1.5, -0.1, float("nan"), True])
def test_bad_sample_rate_is_refused(warehouse, rate):
    with pytest.raises(RefusedError, match=r"sample_rate must be > 0 and <= 1 \(got "):
        run_profile(warehouse, "main.profiled", ProfileOptions(sample_rate=rate))
    assert table_counts(warehouse) == (0, 0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"seed": -1}, "seed must be an integer between 0 and 2147483647"),
        ({"quantiles": (0.5, 2)}, "quantiles must be numbers between 0 and 1"),
        ({"metrics": ("nulls", "entropy")}, "unknown metric group"),
        ({"top_values_max_distinct": 0}, "top_values_max_distinct must be a positive integer"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(RefusedError, match=message):
        ProfileOptions(**options)


def test_a_stream_profiling_section_gives_the_defaults():
    from dcf.stream.settings import ProfilingSettings

    settings = ProfilingSettings(tables=["t"], sample_rate=0.5, seed=9, quantiles=[0.9, 0.1], approximate=True)
    options = ProfileOptions.build(settings, sample_rate=0.25, seed=None)

    assert (options.sample_rate, options.seed, options.quantiles, options.approximate) == (0.25, 9, (0.1, 0.9), True)


# -- 5. the Snowflake path, through fakesnow's server --------------------------------------------------
SNOWFLAKE_ROWS = [
    (i, (i * 7919) % 1000 if i % 10 != 3 else None, ((i * 37) % 200) / 4 if i % 8 else None,
     f"cat_{i % 7}" if i % 5 else None, f"2024-01-{1 + i % 28:02d}")
    for i in range(1000)
]
SNOWFLAKE_DDL = (
    "CREATE TABLE {schema}.PROFILED (ID INTEGER, AMOUNT_INT INTEGER, AMOUNT DOUBLE, CATEGORY VARCHAR, D DATE)"
)


def snowflake_block(fakesnow_server: dict, database: str):
    from prefect_snowflake import SnowflakeConnector, SnowflakeCredentials

    from blocks.warehouse import DcfWarehouse

    connect_args = {k: v for k, v in fakesnow_server.items() if k not in ("user", "password", "account")}
    credentials = SnowflakeCredentials(account=fakesnow_server["account"], user=fakesnow_server["user"],
                                       password=fakesnow_server["password"], role="PROFILER")
    connector = SnowflakeConnector(credentials=credentials, database=database, schema="DATA", warehouse="WH_XS")
    return DcfWarehouse(kind="snowflake", snowflake_connector=connector, snowflake_connect_args=connect_args,
                        control_database=database, control_schema="PROVIDERPDM_CORE_TARGET")


def comparable(conn: Connection, run_id: str) -> dict[tuple[str, str], tuple]:
    """Results without what differs by engine on purpose (column type names)."""
    rows = conn.fetch_dicts(
        f"SELECT COLUMN_NAME, METRIC_NAME, METRIC_VALUE, METRIC_TEXT, METRIC_JSON FROM "
        f"{conn.qualify('PROFILE_RESULTS')} WHERE RUN_ID = :run_id", {"run_id": run_id},
    )
    import json

    def value(row):
        structured = row["METRIC_JSON"]
        structured = json.loads(structured) if isinstance(structured, str) else structured
        number = row["METRIC_VALUE"]
        return (None if number is None else pytest.approx(number, rel=1e-9), row["METRIC_TEXT"], structured)

    return {(r["COLUMN_NAME"], r["METRIC_NAME"]): value(r) for r in rows}


def test_snowflake_path_writes_the_same_rows_as_duckdb(fakesnow_server, fakesnow_server_conn, dcf_home):
    snow = fakesnow_server_conn
    database = snow.namespace.database
    ensure_schema(snow)
    snow.execute(f"CREATE SCHEMA {database}.DATA")
    snow.execute(SNOWFLAKE_DDL.format(schema=f"{database}.DATA"))
    snow.raw.cursor().executemany(f"INSERT INTO {database}.DATA.PROFILED VALUES (%s, %s, %s, %s, %s)", SNOWFLAKE_ROWS)
    local = open_duckdb(warehouse_path(), Namespace("DCF"))
    ensure_schema(local)
    local.execute(SNOWFLAKE_DDL.format(schema="main"))
    local.raw.register("snowflake_rows", pd.DataFrame(SNOWFLAKE_ROWS, columns=list("abcde")))
    local.execute("INSERT INTO main.PROFILED SELECT a, b, c, d, CAST(e AS DATE) FROM snowflake_rows")
    block = snowflake_block(fakesnow_server, database)
    source = block.profiling_source()
    assert isinstance(source, SnowflakeSource) and (source.warehouse, source.role) == ("WH_XS", "PROFILER")
    assert "password" not in repr(source)  # secrets stay out of logs

    summary = profile_with(block, "DATA.PROFILED", ProfileOptions(), ProfileContext(job_name="test"))
    duck = run_profile(local, "main.PROFILED", ProfileOptions())

    assert summary["row_count"] == duck.profile.row_count == len(SNOWFLAKE_ROWS)
    assert comparable(snow, summary["run_id"]) == comparable(local, duck.run_id)
    row = get_run(snow, summary["run_id"])
    assert (row["TARGET_DB"], row["TARGET_SCHEMA"], row["TARGET_TABLE"]) == (database, "DATA", "PROFILED")
    assert row["STATUS"] == "SUCCEEDED" and row["FINISHED_AT"] is not None and row["JOB_NAME"] == "test"
    assert row["WAREHOUSE_NAME"] is None  # fakesnow has no CURRENT_WAREHOUSE(): NULL, "not known"
    local.close()


def test_snowflake_approximate_quantiles_within_two_percent_of_rank(fakesnow_server, fakesnow_server_conn):
    snow = fakesnow_server_conn
    database = snow.namespace.database
    snow.execute(f"CREATE SCHEMA {database}.DATA")
    snow.execute(SNOWFLAKE_DDL.format(schema=f"{database}.DATA"))
    snow.raw.cursor().executemany(f"INSERT INTO {database}.DATA.PROFILED VALUES (%s, %s, %s, %s, %s)", SNOWFLAKE_ROWS)
    source = snowflake_block(fakesnow_server, database).profiling_source()

    column = profile_column(snow, "DATA.PROFILED", "AMOUNT_INT", ProfileOptions(approximate=True), source=source)

    values = np.sort(np.array([r[1] for r in SNOWFLAKE_ROWS if r[1] is not None], dtype=float))
    for q, estimate in column.metrics["quantiles"].items():
        rank = np.searchsorted(values, estimate, side="right") / len(values)  # empirical CDF at the estimate
        assert abs(rank - float(q)) <= 0.02, (q, estimate, rank)
    truth = len(set(values))
    assert abs(column.metrics["approx_distinct_count"] - truth) <= 0.10 * truth



def _in_a_fresh_interpreter(script: str) -> str:
    """Standard output of ``script`` run by a new Python (this one imported GE long ago)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_the_background_warm_up_imports_great_expectations_once_while_the_caller_goes_on() -> None:
    """The warm-up starts once, the stage's own import meets it under the import lock, and both end with the
    same module and a warm GE."""
    assert _in_a_fresh_interpreter(
        "import sys\n"
        "from dcf.profiling.warm_up import warm_up_in_background\n"
        "thread = warm_up_in_background()\n"
        "assert warm_up_in_background() is thread, 'started once per process'\n"
        "from dcf.profiling import gx\n"  # what the profile stage does, possibly mid-import
        "thread.join(timeout=120)\n"
        "assert not thread.is_alive()\n"
        "assert sys.modules['dcf.profiling.gx'] is gx and hasattr(gx, 'compute')\n"
        "print('warm')\n"
    ) == "warm"


def test_importing_ge_for_a_profile_leaves_scipy_stats_for_its_first_use() -> None:
    """GE's expectations that use SciPy's statistics get a stand-in that imports ``scipy.stats`` on first use;
    ``import scipy.stats`` elsewhere still gets the real module."""
    assert _in_a_fresh_interpreter(
        "import sys\n"
        "import dcf.profiling.gx\n"
        "assert 'scipy.stats' not in sys.modules, 'not imported by a profile'\n"
        "from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl\n"
        "print(round(kl.stats.entropy([0.5, 0.5], [0.9, 0.1]), 6))\n"  # GE's own use still works
        "import scipy.stats\n"
        "assert scipy.stats is sys.modules['scipy.stats'] and kl.stats.entropy is scipy.stats.entropy\n"
    ) == "0.510826"
