"""The process work pool every DCF deployment runs on, defined here and created or updated idempotently.

    python -m scripts.work_pool            # against PREFECT_API_URL (make work-pool)

A process worker (``make worker``) starts each flow run as a child process with the worker's environment
plus the pool's ``env`` below; the deployment's pull step (prefect.yaml) then moves into the project
directory named by ``DCF_PROJECT_DIR`` so ``flows``, ``tasks``, ``dcf`` and ``blocks`` import. ``DCF_HOME``
and ``DCF_WAREHOUSE_BLOCK`` come from the worker's environment, so one pool serves a local demo and a
production host alike.
"""

from __future__ import annotations

import sys
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.workers.process import ProcessWorker

WORK_POOL = "dcf-process"
WORK_POOL_TYPE = "process"
DESCRIPTION = "DCF Flows: stream loads, reconcile and profiling as child processes of a process worker."
#: Defaults for every flow-run process (a deployment's job_variables may add to them).
JOB_ENV = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",  # no network calls from dbt
    "DO_NOT_TRACK": "1",
}


def base_job_template() -> dict[str, Any]:
    """Prefect's process template with our environment defaults."""
    template = ProcessWorker.get_default_base_job_template()
    template["variables"]["properties"]["env"]["default"] = dict(JOB_ENV)
    return template


def ensure_work_pool() -> str:
    """Create the pool, or bring an existing one up to this definition; returns what was done."""
    with get_client(sync_client=True) as client:
        existed = any(pool.name == WORK_POOL for pool in client.read_work_pools())
        client.create_work_pool(
            WorkPoolCreate(name=WORK_POOL, type=WORK_POOL_TYPE, description=DESCRIPTION,
                           base_job_template=base_job_template()),
            overwrite=True,
        )
    return f"work pool {WORK_POOL} ({WORK_POOL_TYPE}) {'updated' if existed else 'created'}"


def main() -> int:
    print(ensure_work_pool())
    return 0


if __name__ == "__main__":
    sys.exit(main())
