"""Tasks of the model-costs flow: build the cost models, then publish the savings summary as artifacts."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from blocks.default_warehouse import load_warehouse
from dcf.build.costs import CostSettings, build_cost_models, read_summary, read_top_savings
from runtime.build_observer import PrefectBuildObserver
from runtime.connections import connect

#: Artifact keys (lowercase letters, digits and dashes): the latest version shows on the flow run and in the UI.
SUMMARY_ARTIFACT = "model-costs-savings-summary"
REPORT_ARTIFACT = "model-costs-savings-report"


@task(name="build-cost-models", cache_policy=None, persist_result=False)
def build_costs(settings: CostSettings, warehouse_block: str | None) -> dict[str, Any]:
    """Build dbt/dcf_costs on the warehouse; return the summary row and the models that saved most."""
    warehouse = load_warehouse(warehouse_block)
    with connect(warehouse_block) as conn:
        outcome = build_cost_models(conn, settings, target=warehouse.dbt_target, env=warehouse.dbt_env(),
                                    observer=PrefectBuildObserver())
        return {"summary": read_summary(conn, outcome), "top": read_top_savings(conn, outcome),
                "invocation_id": outcome.invocation_id}


@task(name="publish-savings", cache_policy=None, persist_result=False)
def publish_savings(result: dict[str, Any]) -> None:
    """The summary as a table artifact, and a short markdown report with the models that saved most."""
    summary = result["summary"]
    create_table_artifact(key=SUMMARY_ARTIFACT, table=[{k: _plain(v) for k, v in summary.items()}],
                          description="State-aware reuse: totals over the window (agg_savings_summary)")
    create_markdown_artifact(key=REPORT_ARTIFACT, markdown=_markdown(summary, result["top"]),
                             description="State-aware reuse savings")


def _markdown(summary: dict[str, Any], top: list[dict[str, Any]]) -> str:
    lines = [
        f"# Reuse savings, {summary.get('window_start')} to {summary.get('window_end')}",
        "",
        f"* runs reused / executed: **{summary.get('total_reuses')} / {summary.get('total_executions')}** "
        f"(reuse rate {_num(summary.get('reuse_rate_percent'))} %)",
        f"* saved: **{_num(summary.get('cost_saved_usd'))} USD** ({_num(summary.get('credits_saved'), 4)} credits); "
        f"spent: {_num(summary.get('cost_spent_usd'))} USD; **{_num(summary.get('percent_saved'))} % saved**",
        f"* cost basis: {summary.get('cost_basis')}, {summary.get('price_per_credit_usd')} USD per credit",
        "",
        "| model | reuses | executions | saved USD | spent USD |",
        "|---|---:|---:|---:|---:|",
        *(f"| {r['model_name']} | {r['reuses']} | {r['executions']} | {_num(r['saved_usd'])} | {_num(r['spent_usd'])} |"
          for r in top),
    ]
    return "\n".join(lines) + "\n"


def _num(value: Any, digits: int = 2) -> str:
    return "n/a" if value is None else f"{float(value):.{digits}f}"


def _plain(value: Any) -> Any:
    """JSON-friendly: dates as text, decimals as floats."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
