"""Build the model-cost and reuse-savings models (dbt package ``dbt/dcf_costs``) and publish the summary.

    python -m flows.model_costs                          # local DuckDB: an estimate from execution time
    python -m flows.model_costs --window-days 7 --price-per-credit 3.0 --warehouse-block dcf-warehouse

The package reads DBT_MODEL_EXECUTIONS (every logged dbt build: executed, skipped and reused nodes) and
builds ``fct_model_queries`` (cost per model query), ``rpt_daily_sao_model_savings`` (per model and day)
and ``agg_savings_summary`` (totals over ``window_days``); the summary becomes the table artifact
``model-costs-savings-summary`` and a markdown report ``model-costs-savings-report``.

It runs on a schedule of its own, hours after the loads: Snowflake's ACCOUNT_USAGE.QUERY_HISTORY lags up to
45 min and QUERY_ATTRIBUTION_HISTORY 6-8 h, and rows still waiting are labelled, not guessed
(:data:`SCHEDULE_CRON`). Locally it queues for the DuckDB file like the stream runs do.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from typing import Any

from prefect import flow

from blocks.default_warehouse import load_warehouse
from dcf.build.costs import CostSettings
from dcf.errors import DcfError
from flows.parameters import run_form
from runtime.locks import file_lock, lock_path
from runtime.process_exit import exit_process
from tasks.cost_reports import build_costs, publish_savings

#: Suggested deployment schedule (UTC): daily, well after the morning loads and the 6-8 h attribution lag.
SCHEDULE_CRON = "0 16 * * *"


@run_form
@flow(name="model-costs", log_prints=False)
def model_costs(
    window_days: int = 30,
    price_per_credit: float = 3.0,
    credits_per_hour: float = 1.0,
    warehouse_block: str | None = None,
) -> dict[str, Any]:
    """Build fct_model_queries, rpt_daily_sao_model_savings and agg_savings_summary; publish the summary.

    Args:
        window_days: Days the summary (and the query-history lookback) covers.
        price_per_credit: USD per Snowflake credit.
        credits_per_hour: DuckDB only: credits per hour of model execution time, for the estimate.
        warehouse_block: DcfWarehouse block name; empty: the local DuckDB file under DCF_HOME.
    """
    settings = CostSettings(window_days=window_days, price_per_credit=price_per_credit,
                            credits_per_hour=credits_per_hour)
    local = load_warehouse(warehouse_block).single_writer
    with file_lock(lock_path("local-warehouse"), wait_seconds=3600, what="the local DuckDB warehouse") if local \
            else nullcontext():
        result = build_costs(settings, warehouse_block)
    publish_savings(result)
    return result["summary"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.model_costs", description=__doc__.splitlines()[0])
    parser.add_argument("--window-days", type=int, default=30)
    parser.add_argument("--price-per-credit", type=float, default=3.0)
    parser.add_argument("--credits-per-hour", type=float, default=1.0)
    parser.add_argument("--warehouse-block")
    args = parser.parse_args(argv)
    try:
        summary = model_costs(window_days=args.window_days, price_per_credit=args.price_per_credit,
                              credits_per_hour=args.credits_per_hour, warehouse_block=args.warehouse_block)
    except DcfError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    exit_process(main())
