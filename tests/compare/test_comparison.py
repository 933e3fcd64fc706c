"""The comparison on planted differences, on DuckDB and on Snowflake's API (fakesnow): every count exact, and
an equal pair decided by the fingerprint alone (asserted by the statements sent)."""

from __future__ import annotations

from datetime import date

import pytest

from dcf.compare.comparison import MATCH, MISMATCH, compare_relations
from dcf.compare.spec import CompareSpec
from dcf.errors import ConfigError

pytestmark = pytest.mark.unit
DAY = date(2024, 3, 1)
LEGACY_ROWS = [(1, "10.00", "'A'", 0.5), (2, "20.00", "'B'", 1.0), (3, "30.00", "'C '", 2.0), (4, "NULL", "'D'", 3.0),
               (5, "50.00", "'E'", 4.0), (6, "60.00", "'F'", 5.0), (7, "70.00", "'G'", 6.0), (8, "80.00", "'H'", 7.0)]
NEW_ROWS = [(1, "10.00", "'A'", 0.5), (2, "20.00", "'B'", 1.0), (3, "30.00", "'C'", 2.0), (4, "5.00", "'D'", 3.0),
            (5, "50.00", "'E'", 4.0000001), (6, "61.00", "'F'", 5.0), (8, "80.00", "'H'", 7.0),
            (8, "80.00", "'H'", 7.0), (9, "90.00", "'I'", 8.0)]


@pytest.fixture(params=["duckdb", "fakesnow"])
def conn(request):
    conn = request.getfixturevalue("duckdb_conn" if request.param == "duckdb" else "fakesnow_conn")
    prefix = "" if request.param == "duckdb" else f"{conn.namespace.database}."
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {prefix}LEGACY")
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {prefix}MART")
    conn.prefix = prefix
    return conn


def _tables(conn, legacy_rows, new_rows) -> tuple[str, str]:
    legacy, new = f"{conn.prefix}LEGACY.BAL", f"{conn.prefix}MART.FCT_BAL"
    conn.execute(f"CREATE OR REPLACE TABLE {legacy} (ID INTEGER, BAL_AMT DECIMAL(12, 2), NAME VARCHAR, RATE DOUBLE, "
                 "BUSINESS_DATE DATE)")
    # the new side: other column order, a renamed column, an extra column
    conn.execute(f"CREATE OR REPLACE TABLE {new} (RATE DOUBLE, NAME VARCHAR, AMOUNT DECIMAL(12, 2), ID INTEGER, "
                 "BUSINESS_DATE DATE, LOAD_TS TIMESTAMP)")
    for i, amount, name, rate in legacy_rows:
        conn.execute(f"INSERT INTO {legacy} VALUES ({i}, {amount}, {name}, {rate}, DATE '2024-03-01')")
        conn.execute(f"INSERT INTO {legacy} VALUES ({i}, 1, 'other day', 0, DATE '2024-02-29')")
    for i, amount, name, rate in reversed(new_rows):
        conn.execute(f"INSERT INTO {new} VALUES ({rate}, {name}, {amount}, {i}, DATE '2024-03-01', NULL)")
    return legacy, new


def _spec(**options) -> CompareSpec:
    return CompareSpec(legacy="LEGACY.BAL", new="MART.FCT_BAL", key=["ID"], rename={"BAL_AMT": "AMOUNT"},
                       legacy_filter="BUSINESS_DATE = #process_date#", tolerance={"absolute": 0.001}, **options)


def test_every_planted_difference_is_counted_exactly(conn):
    legacy, new = _tables(conn, LEGACY_ROWS, NEW_ROWS)

    result = compare_relations(conn, _spec(), legacy=legacy, new=new, process_date=DAY)

    assert result.verdict == MISMATCH and result.decided_by == "join"
    assert result.statements == ["fingerprint", "compare", "samples"]
    assert (result.rows_legacy, result.rows_new) == (8, 9)  # the legacy filter keeps the process date only
    assert (result.only_legacy, result.only_new, result.dup_rows_legacy, result.dup_rows_new) == (1, 1, 0, 2)
    assert (result.matched, result.differing) == (6, 3)
    counts = {c.legacy: (c.value, c.null, c.tolerated) for c in result.columns}
    assert counts == {"BAL_AMT": (1, 1, 0), "NAME": (1, 0, 0), "RATE": (0, 0, 1), "BUSINESS_DATE": (0, 0, 0)}
    samples = {c.legacy: c.samples for c in result.columns}
    assert {(s["kind"], s["key"], s["legacy"], s["new"]) for s in samples["BAL_AMT"]} == {
        ("value", "6", "60.00", "61.00"), ("null", "4", None, "5.00")}
    assert [(s["kind"], s["key"]) for s in samples["NAME"]] == [("value", "3")]
    assert sorted((s["kind"], s["key"]) for s in result.samples) == [  # a duplicated key is shown once
        ("duplicate", "8"), ("only_legacy", "7"), ("only_new", "9")]


def test_trimming_and_a_wider_tolerance_leave_only_real_differences(conn):
    legacy, new = _tables(conn, LEGACY_ROWS, NEW_ROWS)
    spec = _spec(trim=True, ignore=["BUSINESS_DATE"])
    result = compare_relations(conn, spec, legacy=legacy, new=new, process_date=DAY)
    assert {c.legacy: (c.value, c.null, c.tolerated) for c in result.columns} == {
        "BAL_AMT": (1, 1, 0), "NAME": (0, 0, 0), "RATE": (0, 0, 1)}
    assert result.differing == 2


def test_an_equal_pair_is_decided_by_the_fingerprint_alone(conn):
    same = [row for row in LEGACY_ROWS if row[1] != "NULL"]
    legacy, new = _tables(conn, same, list(reversed(same)))

    result = compare_relations(conn, _spec(), legacy=legacy, new=new, process_date=DAY)

    assert (result.verdict, result.decided_by, result.statements) == (MATCH, "fingerprint", ["fingerprint"])
    assert result.rows_legacy == result.rows_new == len(same)


def test_a_missing_relation_or_column_is_one_line_naming_it(conn):
    legacy, new = _tables(conn, LEGACY_ROWS, NEW_ROWS)
    with pytest.raises(ConfigError, match=r"^compare: relation .*LEGACY.NOPE does not exist"):
        compare_relations(conn, _spec(), legacy=legacy.replace("BAL", "NOPE"), new=new, process_date=DAY)
    with pytest.raises(ConfigError, match=r"^compare.columns: column NOPE is not in"):
        compare_relations(conn, _spec(columns=["NOPE"]), legacy=legacy, new=new, process_date=DAY)
    with pytest.raises(ConfigError, match=r"^compare.legacy_filter: .* may not hold a query"):
        compare_relations(conn, _spec().model_copy(update={"legacy_filter": "ID IN (SELECT 1)"}), legacy=legacy,
                          new=new, process_date=DAY)


def test_the_secret_check_tells_a_join_key_from_a_credential():
    from dcf.stream.yaml_source import find_secret_key

    assert find_secret_key({"sequence": [{"compare": {"key": ["ACCOUNT_ID", "DAY"]}}]}) is None
    assert find_secret_key({"sequence": [{"compare": {"key": "ACCOUNT_ID"}}]}) is None
    assert find_secret_key({"vars": {"key": "AKIA-EXAMPLE/1234"}}) == "vars.key"
    assert find_secret_key({"vars": {"key": "sk_live_abc"}}) == "vars.key"  # a bare string outside compare
    assert find_secret_key({"vars": {"api_key": ["A"]}}) == "vars.api_key"
