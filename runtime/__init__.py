"""Prefect-aware adapters used by tasks and flows: logging, connections, locks, Prefect API calls, dbt glue.

Owns the run logger (``log``), per-task control-store connections (``connections``), the per-stream and
local-warehouse locks (``locks``), the Prefect API calls of reconcile (``flow_runs``) and the dbt build
observer with per-node tasks (``build_observer``, ``node_tasks``).

May import: ``dcf``, ``blocks``, Prefect and prefect-dbt. Never ``tasks`` or ``flows``.
"""
