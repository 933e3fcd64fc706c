"""Profile a list of tables (or a stream's ``profiling.tables``) in parallel; one PROFILE_RUNS row per table.

    python -m flows.profile_tables --table main.fct_plan_baln_segm_mstr --sample-rate 0.1 --seed 7
    python -m flows.profile_tables --stream BCFINSG_PLAN_BALN_SEGM_LOAD --approximate
    python -m flows.profile_tables --table main.fct_plan_baln_segm_mstr --column plan_code   # PROFILE_COLUMN

Tables run as Prefect tasks on a thread pool; at most ``max_concurrency`` are in flight (default: the
stream's ``profiling.max_concurrency``, else 4; never more than the task runner's workers). The result
is also a table artifact, one line per column with its key figures. A stream flow can call this flow
after its dbt build when the stream's YAML lists tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from dcf.errors import DcfError, RefusedError
from dcf.profiling import METRIC_GROUPS, ProfileOptions
from dcf.store.statuses import ProfileStatus
from dcf.stream.definition import load_named_stream
from flows.parameters import run_form
from runtime.process_exit import exit_process
from tasks.table_profiles import MAX_WORKERS, profile_many


class ProfilingFailed(DcfError):
    """One or more tables could not be profiled (each one's run is recorded FAILED with the error)."""


@run_form
@flow(name="profile-tables", task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS), log_prints=False)
def profile_tables(
    tables: list[str] | None = None,
    stream: str | None = None,
    sample_rate: float | None = None,
    seed: int | None = None,
    approximate: bool = False,
    metrics: list[str] | None = None,
    quantiles: list[float] | None = None,
    top_values_max_distinct: int | None = None,
    max_concurrency: int | None = None,
    note: str | None = None,
    warehouse_block: str | None = None,
) -> list[dict[str, Any]]:
    """Profile tables with Great Expectations; record each run in PROFILE_RUNS and PROFILE_RESULTS.

    Args:
        tables: Tables to profile: schema.table, database.schema.table or a dbt model name.
        stream: Stream whose profiling section gives the tables (when none are given) and the defaults.
        sample_rate: Share of rows to profile, 0 < rate <= 1; empty: the whole table.
        seed: Seed of the sample (0 to 2147483647), so a rerun profiles the same rows.
        approximate: Approximate distinct counts (HyperLogLog) instead of exact ones; faster on big tables.
        metrics: Metric groups to compute (nulls, distinct, min_max, moments, quantiles, lengths,
            top_values); empty: all.
        quantiles: Quantiles of numeric columns; default 0.25, 0.5, 0.75.
        top_values_max_distinct: Top values only for columns with fewer distinct values than this (50).
        max_concurrency: Tables profiled at once (1-8); default the stream's, else 4.
        note: Free note stored on every run (PROFILE_RUNS.NOTE).
        warehouse_block: DcfWarehouse block name; default the stream's, else the local DuckDB file.
    """
    settings = None
    if stream:
        config = load_named_stream(stream).config
        settings = config.profiling
        tables = tables or list(settings.tables)
        warehouse_block = warehouse_block or config.warehouse_block
    if not tables:
        raise RefusedError("nothing to profile: give tables, or a stream whose profiling section lists tables")
    # Options first: a bad rate or metric name is refused before any table is looked at.
    options = ProfileOptions.build(
        settings, metrics=metrics, sample_rate=sample_rate, seed=seed, approximate=approximate or None,
        quantiles=quantiles, top_values_max_distinct=top_values_max_distinct,
    )
    limit = min(max_concurrency or (settings.max_concurrency if settings else 4), MAX_WORKERS)
    outcomes = profile_many(tables, options, limit=limit, warehouse_block=warehouse_block, note=note, stream=stream)
    failed = [o for o in outcomes if o["status"] != ProfileStatus.SUCCEEDED]
    if failed:
        listed = "; ".join(f"{o['table']}: {o['error']}" for o in failed)
        raise ProfilingFailed(f"profiling failed for {len(failed)} of {len(outcomes)} table(s): {listed}")
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.profile_tables", description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="append", dest="tables", help="table to profile (repeatable)")
    parser.add_argument("--stream", help="profile the tables listed in this stream's profiling section")
    parser.add_argument("--column", help="PROFILE_COLUMN: profile this one column of the single --table, write nothing")
    parser.add_argument("--sample-rate", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--approximate", action="store_true")
    parser.add_argument("--metric", action="append", dest="metrics", choices=METRIC_GROUPS)
    parser.add_argument("--max-concurrency", type=int)
    parser.add_argument("--note")
    parser.add_argument("--warehouse-block")
    args = parser.parse_args(argv)
    try:
        if args.column:
            return _print_column(args)
        outcomes = profile_tables(
            tables=args.tables, stream=args.stream, sample_rate=args.sample_rate, seed=args.seed,
            approximate=args.approximate, metrics=args.metrics, max_concurrency=args.max_concurrency,
            note=args.note, warehouse_block=args.warehouse_block,
        )
    except DcfError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for outcome in outcomes:
        print(f"{outcome['table']}: {outcome['row_count']} rows, run {outcome['run_id']}")
        for line in outcome["columns"]:
            print("  " + "  ".join(f"{k}={v}" for k, v in line.items() if v is not None))
    return 0


def _print_column(args: argparse.Namespace) -> int:
    if not args.tables or len(args.tables) != 1:
        raise RefusedError("--column needs exactly one --table")
    from tasks.table_profiles import profile_column_task

    options = ProfileOptions.build(None, metrics=args.metrics, sample_rate=args.sample_rate, seed=args.seed,
                                   approximate=args.approximate or None)
    result = profile_column_task.fn(args.tables[0], args.column, options, args.warehouse_block)
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    exit_process(main())
