"""Profiling benchmark: the GE-backed profile against one hand-written SELECT, on DuckDB.

    python -m bench.profiling                 # 1M rows x 10 columns
    python -m bench.profiling --rows 10000000

Everything is measured in the same run, on the same generated table (in a temporary DuckDB file):

* GE exact: ``dcf.profiling.profile_table`` with the default metric set (what a profiling run costs,
  GE's reflection and metric graph included),
* hand-written: one aggregate SELECT computing the same exact metrics (``histogram()`` for the top
  values of the columns the profile found under the distinct limit),
* SUMMARIZE: DuckDB's own summary of every column (a second baseline; approximate distincts),
* GE approximate: the same profile with ``approximate=True`` (HyperLogLog distinct counts).

Each figure is the best of ``--repeat`` interleaved rounds after one warm-up. No pass/fail: tests never assert
timings; the issue's aims are printed next to the ratios.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dcf.profiling import ProfileOptions, TableProfile, profile_table, resolve_relation
from dcf.profiling.engine import column_kind
from dcf.store.connection import Connection, open_duckdb
from dcf.store.dialect import Namespace

#: Ten columns of the kinds a fact table has: keys, amounts, low-cardinality codes, text, dates, a flag.
TABLE_SQL = """
CREATE OR REPLACE TABLE main.bench_profile AS
SELECT
    i AS id,
    (hash(i) % 100000)::INTEGER AS account_no,
    round(random() * 10000, 2)::DOUBLE AS amount,
    CASE WHEN i % 20 = 0 THEN NULL ELSE round(random() * 100, 2) END AS rate,
    'SEG_' || (i % 12) AS segment_code,
    ['OPEN', 'CLOSED', 'PENDING', 'HELD', 'VOID'][1 + (i % 5)::INTEGER] AS status,
    'customer_' || hash(i * 7) AS customer_name,
    DATE '2020-01-01' + (i % 1500)::INTEGER AS business_date,
    CASE WHEN i % 3 = 0 THEN NULL ELSE 'note ' || (i % 1000) END AS note,
    i % 2 = 0 AS is_active
FROM range({rows}) AS r(i)
"""


def hand_written_select(profile: TableProfile) -> str:
    """One SELECT computing the exact metrics of ``profile`` (same columns, same metric set)."""
    quantiles = ", ".join(repr(q) for q in profile.options.quantiles)
    parts = ["count(*)"]
    for column in profile.columns:
        name, kind = column.name, column_kind(column.type)
        parts += [f"count(*) - count({name})", f"count(DISTINCT {name})"]
        if kind in ("numeric", "text", "temporal"):
            parts += [f"min({name})", f"max({name})"]
        if kind == "numeric":
            parts += [f"avg({name})", f"stddev_samp({name})", f"quantile_disc({name}, [{quantiles}])"]
        if kind == "text":
            parts += [f"min(length({name}))", f"max(length({name}))"]
        if "top_values" in column.metrics:
            parts.append(f"histogram({name})")
    return f"SELECT {', '.join(parts)} FROM {profile.relation.sql}"


def timed(actions: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Best time of each action over ``repeat`` rounds. Rounds interleave the actions, so a busy moment
    on a shared machine slows all of them rather than one; the minimum is the least disturbed run."""
    for action in actions.values():
        action()  # warm-up: caches, GE's first-use imports
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeat):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            samples[name].append(time.perf_counter() - start)
    return {name: min(times) for name, times in samples.items()}


def run(rows: int, repeat: int, workdir: Path) -> dict[str, float]:
    conn: Connection = open_duckdb(workdir / "bench.duckdb", Namespace("DCF"))
    try:
        conn.execute(TABLE_SQL.format(rows=int(rows)))
        relation = resolve_relation(conn, "main.bench_profile")
        exact, approximate = ProfileOptions(), ProfileOptions(approximate=True)
        profile = profile_table(conn, relation, exact)
        select = hand_written_select(profile)
        figures = timed(
            {
                "ge_exact": lambda: profile_table(conn, relation, exact),
                "hand_select": lambda: conn.fetchall(select),
                # DuckDB's own profile of every column (approximate distincts, quantiles): a second baseline
                "summarize": lambda: conn.fetchall(f"SUMMARIZE {relation.sql}"),
                "ge_approximate": lambda: profile_table(conn, relation, approximate),
            },
            repeat,
        )
    finally:
        conn.close()
    figures["ratio"] = figures["ge_exact"] / figures["hand_select"]
    figures["ratio_summarize"] = figures["ge_exact"] / figures["summarize"]
    figures["speedup"] = figures["ge_exact"] / figures["ge_approximate"]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated table (default 1M)")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (the best time is shown)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dcf-bench-profiling-") as workdir:
        figures = run(args.rows, args.repeat, Path(workdir))
    print(f"profiling benchmark: DuckDB, {args.rows:,} rows x 10 columns, best of {args.repeat} rounds")
    print(f"  {'GE-backed profile, exact':<36}{figures['ge_exact']:>9.3f} s")
    print(f"  {'hand-written single SELECT, exact':<36}{figures['hand_select']:>9.3f} s")
    print(f"  {'DuckDB SUMMARIZE':<36}{figures['summarize']:>9.3f} s")
    print(f"  {'ratio GE / hand-written':<36}{figures['ratio']:>9.2f} x   (aim <= 1.20)")
    print(f"  {'ratio GE / SUMMARIZE':<36}{figures['ratio_summarize']:>9.2f} x")
    print(f"  {'GE-backed profile, approximate':<36}{figures['ge_approximate']:>9.3f} s")
    print(f"  {'speedup exact / approximate':<36}{figures['speedup']:>9.2f} x   (aim >= 1.50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
