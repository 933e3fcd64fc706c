"""Real dbt builds of dbt/gdw1 on a real DuckDB file, fed by dcf.demo.synthetic_landing landing files.

The RAW load below follows the ingest contract of the source ``bcfinsg_raw.plan_baln_segm``:
every CSV column as VARCHAR, plus SRC_FILE_NAME, SRC_ROW_NUM, PRCS_INST_ID, PRCS_DATE,
ODS_BATCH_ID, INGEST_TS; re-ingesting a file replaces that file's rows.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

from dcf import synthetic
from dcf.demo import synthetic_landing

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt" / "gdw1"
ROWS = 2000
DAY_1 = date(2024, 3, 1)
DAY_2 = date(2024, 3, 2)
FACT = "main.fct_plan_baln_segm_mstr"
VALIDATED = "main.int_bcfinsg_validated"


# --- helpers -------------------------------------------------------------------------------------


def ingest(db: Path, csv_path: Path, process_date: date, prcs_inst_id: int) -> None:
    """Load one landing file into RAW.BCFINSG_PLAN_BALN_SEGM, replacing that file's earlier rows."""
    source = str(csv_path).replace("'", "''")
    select = f"""
        select
            *,
            '{csv_path.name}'                          as SRC_FILE_NAME,
            cast(row_number() over () as bigint)       as SRC_ROW_NUM,
            cast({prcs_inst_id} as bigint)             as PRCS_INST_ID,
            cast('{process_date.isoformat()}' as date) as PRCS_DATE,
            'ODS-{process_date:%Y%m%d}-{prcs_inst_id}' as ODS_BATCH_ID,
            cast(now() as timestamp)                   as INGEST_TS
        from read_csv('{source}', all_varchar = true, header = true)
    """
    with duckdb.connect(str(db)) as con:
        con.execute("create schema if not exists RAW")
        con.execute(f"create table if not exists RAW.BCFINSG_PLAN_BALN_SEGM as {select} limit 0")
        con.execute("delete from RAW.BCFINSG_PLAN_BALN_SEGM where SRC_FILE_NAME = ?", [csv_path.name])
        con.execute(f"insert into RAW.BCFINSG_PLAN_BALN_SEGM by name {select}")


def run_dbt(args: list[str], work: Path) -> dbtRunnerResult:
    """Invoke dbt in-process; target/ and logs/ go to ``work`` so nothing lands in the repo."""
    return dbtRunner().invoke(
        [
            *args,
            "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROJECT_DIR),
            "--target-path", str(work / "target"),
            "--log-path", str(work / "logs"),
        ]
    )  # fmt: skip


def build_day(work: Path, process_date: date, prcs_inst_id: int) -> None:
    variables = {
        "run_stream_process_date": process_date.isoformat(),
        "ods_batch_id": f"ODS-{process_date:%Y%m%d}-{prcs_inst_id}",
        "prcs_inst_id": prcs_inst_id,
        "stream_name": "BCFINSG_PLAN_BALN_SEGM_LOAD",
        "stream_id": 1490,
    }
    args = ["build", "--target", "local", "--vars", json.dumps(variables)]
    result = run_dbt(args, work)
    failed = [(r.node.name, r.status, r.message) for r in (result.result or []) if r.status in ("error", "fail")]
    assert result.success, f"dbt build failed: {result.exception or failed}"


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    # Not read_only: dbt-duckdb keeps its (read-write) instance of the file open in this process,
    # and DuckDB refuses a second in-process connection with a different configuration.
    with duckdb.connect(str(db)) as con:
        return con.execute(sql).fetchall()


def scalar(db: Path, sql: str) -> Any:
    return query(db, sql)[0][0]


@dataclass
class DayLoad:
    """What the warehouse looked like right after one build."""

    fact_rows: int
    avg_score: float
    ready: int
    rejected: int
    fact_rows_by_date: dict[date, list[tuple[Any, ...]]] = field(default_factory=dict)


def snapshot(db: Path) -> DayLoad:
    by_date: dict[date, list[tuple[Any, ...]]] = {}
    for row in query(db, f"select * from {FACT} order by plan_baln_segm_sk"):
        by_date.setdefault(row[4], []).append(row)  # column 4 = process_date
    return DayLoad(
        fact_rows=scalar(db, f"select count(*) from {FACT}"),
        avg_score=float(scalar(db, f"select avg(data_quality_score) from {VALIDATED}")),
        ready=scalar(db, f"select count(*) from {VALIDATED} where final_processing_status = 'READY_FOR_LOADING'"),
        rejected=scalar(db, f"select count(*) from {VALIDATED} where final_processing_status = 'REJECTED'"),
        fact_rows_by_date=by_date,
    )


def load_and_build(db: Path, work: Path, process_date: date, prcs_inst_id: int, *, bad_day: bool = False) -> DayLoad:
    csv_path = synthetic_landing.generate_landing_file(process_date, work / "landing", rows=ROWS, bad_day=bad_day)
    ingest(db, csv_path, process_date, prcs_inst_id)
    build_day(work, process_date, prcs_inst_id)
    return snapshot(db)


@pytest.fixture(scope="module", autouse=True)
def dbt_env() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        mp.setenv("DBT_PARTIAL_PARSE", "false")
        yield mp


@dataclass
class History:
    db: Path
    day1: DayLoad
    day2: DayLoad
    day2_rerun: DayLoad


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, dbt_env: pytest.MonkeyPatch) -> History:
    """Two consecutive normal days, then day 2 re-ingested and rebuilt."""
    work = tmp_path_factory.mktemp("history")
    db = work / "warehouse.duckdb"
    dbt_env.setenv("DCF_WAREHOUSE_PATH", str(db))
    day1 = load_and_build(db, work, DAY_1, prcs_inst_id=101)
    day2 = load_and_build(db, work, DAY_2, prcs_inst_id=102)
    day2_rerun = load_and_build(db, work, DAY_2, prcs_inst_id=103)
    return History(db, day1, day2, day2_rerun)


@dataclass
class BadDay:
    db: Path
    load: DayLoad
    rejected_record_ids: set[str]


@pytest.fixture(scope="module")
def bad_day(tmp_path_factory: pytest.TempPathFactory, dbt_env: pytest.MonkeyPatch) -> BadDay:
    work = tmp_path_factory.mktemp("bad_day")
    db = work / "warehouse.duckdb"
    dbt_env.setenv("DCF_WAREHOUSE_PATH", str(db))
    load = load_and_build(db, work, DAY_2, prcs_inst_id=201, bad_day=True)
    rejected = query(db, f"select record_id from {VALIDATED} where final_processing_status = 'REJECTED'")
    return BadDay(db, load, {row[0] for row in rejected})


# --- (a) incremental growth, (b) idempotent re-run ----------------------------------------------


def test_consecutive_days_grow_the_fact_and_leave_day_1_untouched(history: History) -> None:
    assert 0.85 * ROWS < history.day1.fact_rows < ROWS
    assert history.day1.fact_rows == history.day1.ready
    assert history.day2.fact_rows == history.day1.fact_rows + history.day2.ready
    # Same rows, same values, same load_timestamp: day 2's build did not touch day 1.
    assert history.day2.fact_rows_by_date[DAY_1] == history.day1.fact_rows_by_date[DAY_1]
    assert set(history.day2.fact_rows_by_date) == {DAY_1, DAY_2}


def test_same_accounts_arrive_every_day(history: History) -> None:
    overlap = scalar(
        history.db,
        f"""select count(*) from {FACT} as d1 join {FACT} as d2
            using (acct_num, plan_id, plan_segm_id)
            where d1.process_date = date '{DAY_1}' and d2.process_date = date '{DAY_2}'""",
    )
    assert overlap > 0.8 * ROWS


def test_rerunning_a_day_does_not_duplicate_fact_rows(history: History) -> None:
    rerun = history.day2_rerun
    assert rerun.fact_rows == history.day2.fact_rows
    assert len(rerun.fact_rows_by_date[DAY_2]) == len(history.day2.fact_rows_by_date[DAY_2])
    assert rerun.fact_rows_by_date[DAY_1] == history.day1.fact_rows_by_date[DAY_1]
    duplicates = scalar(
        history.db,
        f"""select count(*) from (
                select acct_num, plan_id, plan_segm_id, process_date from {FACT}
                group by all having count(*) > 1)""",
    )
    assert duplicates == 0
    # The re-run replaced day 2's rows: they now carry the re-run's process instance.
    assert query(history.db, f"select distinct prcs_inst_id from {FACT} where process_date = date '{DAY_2}'") == [
        (103,)
    ]


# --- (c) generator ------------------------------------------------------------------------------


def test_a_corrected_redelivery_replaces_the_whole_day(tmp_path: Path, dbt_env: pytest.MonkeyPatch) -> None:
    """Day 2 re-delivered with fewer records: no row of the first delivery survives, day 1 is untouched."""
    db = tmp_path / "warehouse.duckdb"
    dbt_env.setenv("DCF_WAREHOUSE_PATH", str(db))
    day1 = load_and_build(db, tmp_path, DAY_1, prcs_inst_id=301)
    first = load_and_build(db, tmp_path, DAY_2, prcs_inst_id=302)
    csv_path = synthetic_landing.generate_landing_file(DAY_2, tmp_path / "landing", rows=ROWS // 3, bad_day=True)
    ingest(db, csv_path, DAY_2, 303)
    build_day(tmp_path, DAY_2, 303)
    corrected = snapshot(db)

    day2_rows = corrected.fact_rows_by_date[DAY_2]
    assert len(day2_rows) == corrected.ready < len(first.fact_rows_by_date[DAY_2])
    assert query(db, f"select distinct prcs_inst_id from {FACT} where process_date = date '{DAY_2}'") == [(303,)]
    assert corrected.fact_rows_by_date[DAY_1] == day1.fact_rows_by_date[DAY_1]


def test_generator_is_deterministic(tmp_path: Path) -> None:
    first = synthetic_landing.generate_landing_file(DAY_1, tmp_path / "a", rows=500)
    second = synthetic_landing.generate_landing_file(DAY_1, tmp_path / "b", rows=500)
    assert first.name == "BCFINSG_PLAN_BALN_SEGM_20240301.csv"
    assert first.read_bytes() == second.read_bytes()
    other_day = synthetic_landing.generate_landing_file(DAY_2, tmp_path / "c", rows=500)
    bad = synthetic_landing.generate_landing_file(DAY_1, tmp_path / "d", rows=500, bad_day=True)
    seeded = synthetic_landing.generate_landing_file(DAY_1, tmp_path / "e", rows=500, seed=42)
    assert len({first.read_bytes(), other_day.read_bytes(), bad.read_bytes(), seeded.read_bytes()}) == 4


def test_generator_cli_writes_the_same_file(tmp_path: Path) -> None:
    synthetic.main(["--date", "2024-03-01", "--out", str(tmp_path / "cli"), "--rows", "300"])
    api = synthetic_landing.generate_landing_file(DAY_1, tmp_path / "api", rows=300)
    assert (tmp_path / "cli" / api.name).read_bytes() == api.read_bytes()


def test_generator_header_and_unique_record_ids(tmp_path: Path) -> None:
    path = synthetic_landing.generate_landing_file(DAY_1, tmp_path, rows=800, bad_day=True)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == synthetic_landing.COLUMNS
    assert len(rows) == 800
    assert len({row["RECORD_ID"] for row in rows}) == 800


@pytest.mark.parametrize(
    ("seed_name", "codes"),
    [
        ("ref_plan_type_cd", synthetic_landing.PLAN_TYPES),
        ("ref_segm_type_cd", synthetic_landing.SEGM_TYPES),
        ("ref_curr_cd", synthetic_landing.CURRENCIES),
        ("ref_segm_status_cd", synthetic_landing.SEGM_STATUSES),
    ],
)
def test_seed_code_lists_match_the_generator(seed_name: str, codes: dict[str, str]) -> None:
    with (PROJECT_DIR / "seeds" / f"{seed_name}.csv").open(encoding="utf-8", newline="") as handle:
        seed = {row[0]: row[1] for row in list(csv.reader(handle))[1:]}
    assert seed == codes
    unknown = {code for values in synthetic_landing.UNKNOWN_CODES.values() for code in values}
    assert not unknown & set(seed)


# --- (d) data quality score and routing ----------------------------------------------------------


def test_normal_day_scores_at_least_70(history: History) -> None:
    for load in (history.day1, history.day2):
        assert load.avg_score >= 70
        assert load.avg_score > 95  # ~5-8 % bad records, each losing 5-40 points
        # Only the records failing a critical rule (or scoring < 70) are rejected; the others
        # load with a lower score.
        assert 0.01 * ROWS < load.rejected < 0.08 * ROWS


def test_bad_day_scores_below_70(bad_day: BadDay) -> None:
    assert bad_day.load.avg_score < 70
    assert 45 <= bad_day.load.avg_score <= 62
    assert bad_day.load.rejected > 0.8 * ROWS


def test_rejected_records_never_reach_the_fact(bad_day: BadDay) -> None:
    fact_ids = {row[0] for row in query(bad_day.db, f"select record_id from {FACT}")}
    assert bad_day.rejected_record_ids
    assert not fact_ids & bad_day.rejected_record_ids
    assert len(fact_ids) == bad_day.load.ready == bad_day.load.fact_rows
    assert scalar(bad_day.db, f"select min(data_quality_score) from {FACT}") >= 70


# --- (e) the Snowflake target parses ----------------------------------------------------------------


@pytest.mark.parametrize("target, secret", [("snowflake", "SNOWFLAKE_PASSWORD"),
                                            ("snowflake_keypair", "SNOWFLAKE_PRIVATE_KEY_PATH")])
def test_snowflake_targets_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, secret: str) -> None:
    monkeypatch.setenv(secret, str(tmp_path / "dummy-secret"))
    for name, value in {
        "SNOWFLAKE_ACCOUNT": "xy12345.ap-southeast-1",
        "SNOWFLAKE_USER": "DUMMY_USER",
        "SNOWFLAKE_ROLE": "DUMMY_ROLE",
        "SNOWFLAKE_WAREHOUSE": "DUMMY_WH",
        "SNOWFLAKE_DATABASE": "GDW1",
        "SNOWFLAKE_SCHEMA": "CORE",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DCF_WAREHOUSE_PATH", raising=False)  # the local target must not be needed
    result = run_dbt(["parse", "--target", target], tmp_path)
    assert result.success, result.exception
    nodes = result.result.nodes  # the parsed manifest
    assert "model.gdw1_dbt.fct_plan_baln_segm_mstr" in nodes
