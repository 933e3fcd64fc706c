"""The cost models (dbt package ``dbt/dcf_costs``): build them with the dbt runner and read the summary back.

    settings = CostSettings(window_days=30, price_per_credit=3.0, credits_per_hour=1.0)
    outcome = build_cost_models(conn, settings, target="local", env={"DCF_WAREHOUSE_PATH": "..."})
    summary = read_summary(conn, outcome)            # the one row of agg_savings_summary
    top = read_top_savings(conn, outcome, limit=10)  # models that saved most over the window

The package reads DBT_MODEL_EXECUTIONS where ``conn``'s namespace says the control tables are (vars
``dcf_control_database`` / ``dcf_control_schema``); the build is logged like any other (its own rows join
the next report).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dcf.build.fingerprints import checked_relation
from dcf.build.request import BuildObserver, BuildRequest
from dcf.build.runner import DbtBuildOutcome, RunContext, run_dbt_build
from dcf.errors import DcfError
from dcf.paths import PROJECT_ROOT
from dcf.store.connection import Connection

COSTS_PROJECT = PROJECT_ROOT / "dbt" / "dcf_costs"
#: The name the cost builds carry in the execution log (DBT_MODEL_EXECUTIONS.STREAM_NAME).
COSTS_RUN_NAME = "MODEL_COSTS"


@dataclass(frozen=True)
class CostSettings:
    window_days: int = 30
    price_per_credit: float = 3.0
    credits_per_hour: float = 1.0

    def __post_init__(self) -> None:
        if self.window_days < 1 or self.price_per_credit < 0 or self.credits_per_hour < 0:
            raise DcfError(f"cost settings out of range: {self} (window_days >= 1, rates >= 0)")

    def dbt_vars(self, conn: Connection) -> dict[str, Any]:
        return {
            "dcf_control_database": conn.namespace.database or "",
            "dcf_control_schema": conn.namespace.schema,
            "dcf_costs_window_days": self.window_days,
            "dcf_costs_price_per_credit": self.price_per_credit,
            "dcf_costs_credits_per_hour": self.credits_per_hour,
        }


def build_cost_models(conn: Connection, settings: CostSettings, *, target: str,
                      env: Mapping[str, str] | None = None, observer: BuildObserver | None = None) -> DbtBuildOutcome:
    """``dbt build`` of the package against ``target`` (``local`` DuckDB or ``snowflake``), logged to ``conn``."""
    request = BuildRequest(project_dir=COSTS_PROJECT, profiles_dir=COSTS_PROJECT, target=target,
                           select=["package:dcf_costs"], vars=settings.dbt_vars(conn), env=dict(env or {}),
                           context=RunContext(stream_name=COSTS_RUN_NAME))
    outcome = run_dbt_build(request, log_to=conn, observer=observer)
    if not outcome.success:
        raise DcfError(f"the cost models did not build: {outcome.error}")
    return outcome


def read_summary(conn: Connection, outcome: DbtBuildOutcome) -> dict[str, Any]:
    """agg_savings_summary's one row, keys lower-case."""
    rows = conn.fetch_dicts(f"SELECT * FROM {_relation(outcome, 'agg_savings_summary')}")
    return {k.lower(): v for k, v in rows[0].items()} if rows else {}


def read_top_savings(conn: Connection, outcome: DbtBuildOutcome, *, limit: int = 10) -> list[dict[str, Any]]:
    """The models whose reuse saved most over the window (from rpt_daily_sao_model_savings)."""
    rows = conn.fetch_dicts(
        "SELECT MODEL_NAME, SUM(REUSE_COUNT) AS REUSES, SUM(EXECUTE_COUNT) AS EXECUTIONS, "
        "SUM(ESTIMATED_COST_SAVED_USD) AS SAVED_USD, SUM(COST_SPENT_USD) AS SPENT_USD "
        f"FROM {_relation(outcome, 'rpt_daily_sao_model_savings')} GROUP BY MODEL_NAME "
        f"HAVING SUM(REUSE_COUNT) > 0 ORDER BY SAVED_USD DESC NULLS LAST, MODEL_NAME LIMIT {int(limit)}")
    return [{k.lower(): v for k, v in row.items()} for row in rows]


def _relation(outcome: DbtBuildOutcome, model: str) -> str:
    if model not in outcome.relations:
        raise DcfError(f"the cost package has no model {model}")
    return checked_relation(outcome.relations[model])
