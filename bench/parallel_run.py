"""The parallel-run comparison against the usual ways, on DuckDB: two N-row tables, equal and with 0.1 % of
rows differing.

    uv run python -m bench.parallel_run --rows 10000000 --repeat 3

Compared, each in the same run and on the same tables:
  * ours: ``dcf.compare.compare_relations`` (fingerprint; the keyed join only when they differ; samples);
  * ``EXCEPT ALL`` both ways (the hand-written check: it says whether rows differ, not where);
  * a full compare of every column (the dbt-audit-helper way: a keyed FULL OUTER JOIN and, per column, a
    count of the rows where it differs — always the join, equal or not).
Printed: the median seconds of each, the ratios against ours, and the statements ours sent.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dcf.compare.comparison import compare_relations
from dcf.compare.spec import CompareSpec
from dcf.store.connection import Connection, open_duckdb
from dcf.store.dialect import Namespace

COLUMNS = ("AMOUNT", "QTY", "NAME", "DAY")


def _tables(conn: Connection, rows: int, changed_every: int | None) -> None:
    conn.execute("CREATE SCHEMA IF NOT EXISTS LEGACY")
    conn.execute("CREATE SCHEMA IF NOT EXISTS MART")
    conn.execute("CREATE OR REPLACE TABLE LEGACY.T AS SELECT i AS ID, "
                 "CAST(i % 100000 AS DECIMAL(14, 2)) / 7 AS AMOUNT, "
                 f"i % 97 AS QTY, 'name ' || (i % 5000) AS NAME, DATE '2024-01-01' + CAST(i % 365 AS INTEGER) AS DAY "
                 f"FROM range({rows}) r(i)")
    changed = f"CASE WHEN ID % {changed_every} = 0 THEN QTY + 1 ELSE QTY END" if changed_every else "QTY"
    # the new side in another order of rows and columns, as a migrated table would be
    conn.execute(f"CREATE OR REPLACE TABLE MART.T AS SELECT NAME, DAY, {changed} AS QTY, AMOUNT, ID FROM LEGACY.T "
                 "ORDER BY NAME, ID DESC")


def _except_all(conn: Connection) -> None:
    cols = ", ".join(("ID", *COLUMNS))
    conn.fetchall(f"SELECT COUNT(*) FROM (SELECT {cols} FROM LEGACY.T EXCEPT ALL SELECT {cols} FROM MART.T)")
    conn.fetchall(f"SELECT COUNT(*) FROM (SELECT {cols} FROM MART.T EXCEPT ALL SELECT {cols} FROM LEGACY.T)")


def _all_columns(conn: Connection) -> None:
    per_column = ", ".join(f"SUM(CASE WHEN l.{c} IS DISTINCT FROM n.{c} THEN 1 ELSE 0 END)" for c in COLUMNS)
    conn.fetchall(f"SELECT COUNT(*), SUM(CASE WHEN l.ID IS NULL THEN 1 ELSE 0 END), "
                  f"SUM(CASE WHEN n.ID IS NULL THEN 1 ELSE 0 END), {per_column} "
                  "FROM LEGACY.T l FULL OUTER JOIN MART.T n ON l.ID = n.ID")


def _median(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    spec = CompareSpec(legacy="LEGACY.T", new="MART.T", key=["ID"])
    with tempfile.TemporaryDirectory() as folder, open_duckdb(Path(folder) / "bench.duckdb", Namespace("DCF")) as conn:
        print(f"parallel run, {args.rows:,} rows per side, median of {args.repeat}")
        for label, every in (("equal", None), ("0.1 % of rows differ", 1000)):
            _tables(conn, args.rows, every)
            sent: list[list[str]] = []

            def ours(sent: list[list[str]] = sent) -> None:
                before = conn.statements
                result = compare_relations(conn, spec, legacy="LEGACY.T", new="MART.T")
                sent.append([*result.statements, f"{conn.statements - before} sent in all", result.verdict])

            mine = _median(ours, args.repeat)
            excepted = _median(lambda: _except_all(conn), args.repeat)
            every_column = _median(lambda: _all_columns(conn), args.repeat)
            print(f"  {label}: ours {mine:.2f} s ({', '.join(sent[-1])}); EXCEPT ALL both ways {excepted:.2f} s "
                  f"(x{excepted / mine:.2f} of ours); every column compared {every_column:.2f} s "
                  f"(x{every_column / mine:.2f} of ours)", flush=True)


if __name__ == "__main__":
    main()
