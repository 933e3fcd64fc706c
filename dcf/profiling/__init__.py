"""Table profiling with Great Expectations 1.x, recorded in PROFILE_RUNS / PROFILE_RESULTS. Prefect-free.

Profile a table and record the run (the spec's PROFILE_TABLE)::

    from blocks.default_warehouse import load_warehouse
    from dcf.profiling import ProfileOptions, ProfileContext, run_profile

    with load_warehouse().connect() as conn:          # local DuckDB default
        outcome = run_profile(conn, "main.fct_plan_baln_segm_mstr",
                              ProfileOptions(sample_rate=0.2, seed=42), context=ProfileContext(note="check"))
        print(outcome.run_id, outcome.profile.row_count)

Investigate one column without writing anything (the spec's PROFILE_COLUMN)::

    from dcf.profiling import profile_column
    profile_column(conn, "main.fct_plan_baln_segm_mstr", "plan_code").metrics
    # {'null_count': 0, 'null_rate': 0.0, 'distinct_count': 12, 'min': 'P01', ..., 'top_values': [...]}

On Snowflake pass ``source=SnowflakeSource(...)`` (``tasks.table_profiles`` builds it from the warehouse block).

Modules: :mod:`~dcf.profiling.options` (what to compute, validated), :mod:`~dcf.profiling.relation`
(which table, checked against INFORMATION_SCHEMA), :mod:`~dcf.profiling.engine` (GE computation and
sampling), :mod:`~dcf.profiling.gx` (GE metrics and batches; imports GE lazily, it takes seconds),
:mod:`~dcf.profiling.records` (the two tables, the RUNNING -> SUCCEEDED | FAILED state machine and
the sweeper of orphaned RUNNING runs),
:mod:`~dcf.profiling.profile_run` (one recorded run).
"""

from dcf.profiling.engine import ColumnProfile, TableProfile, profile_column, profile_table
from dcf.profiling.options import METRIC_GROUPS, ProfileOptions
from dcf.profiling.profile_run import ProfileRun, run_profile
from dcf.profiling.records import (
    ProfileContext,
    RunStatus,
    check_transition,
    close_orphaned_runs,
    finish_run,
    get_run,
    start_run,
)
from dcf.profiling.relation import Relation, resolve_relation
from dcf.profiling.source import DuckDBSource, SnowflakeSource

__all__ = [
    "METRIC_GROUPS",
    "ColumnProfile",
    "DuckDBSource",
    "ProfileContext",
    "ProfileOptions",
    "ProfileRun",
    "Relation",
    "RunStatus",
    "SnowflakeSource",
    "TableProfile",
    "check_transition",
    "close_orphaned_runs",
    "finish_run",
    "get_run",
    "profile_column",
    "profile_table",
    "resolve_relation",
    "run_profile",
    "start_run",
]
