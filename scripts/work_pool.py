"""The work pools DCF deployments run on, defined here and created or updated idempotently.

    python -m scripts.work_pool                     # the process pool, against PREFECT_API_URL (make work-pool)
    python -m scripts.work_pool --pool kubernetes   # the Kubernetes pool (make work-pool POOL=kubernetes)

A process worker (``make worker``) starts each flow run as a child process with the worker's environment
plus the pool's ``env`` below; the deployment's pull step (prefect.yaml) then moves into the project
directory named by ``DCF_PROJECT_DIR`` so ``flows``, ``tasks``, ``dcf`` and ``blocks`` import. ``DCF_HOME``
and ``DCF_WAREHOUSE_BLOCK`` come from the worker's environment, so one pool serves a local demo and a
production host alike.

A Kubernetes worker (prefect-kubernetes) starts each flow run as a Job from the image the ``Dockerfile``
builds (the locked environment and the project in ``/app``). Its template is prefect-kubernetes' own default
with DCF's defaults filled in — image, namespace, environment, requests and limits — plus every key of a
Kubernetes Secret as environment variables (``env_from_secret``: PREFECT_API_URL / PREFECT_API_KEY and
DCF_WAREHOUSE_BLOCK; Snowflake's credentials stay in Prefect blocks). A deployment's job variables override
any of them (``image``, ``cpu_request``, ``memory_limit``, ...).
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable
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


KUBERNETES_POOL = "dcf-kubernetes"
KUBERNETES_DESCRIPTION = "DCF Flows: each flow run as a Kubernetes Job from the dcf-flows image."
#: Where the image holds the project (the deployments' pull step moves there).
IMAGE_PROJECT_DIR = "/app"
#: DCF's defaults for the Kubernetes template's variables; sized for one stream run with dbt's 4-8 threads.
KUBERNETES_DEFAULTS: dict[str, Any] = {
    "image": "dcf-flows:latest",
    "namespace": "dcf",
    "env": {**JOB_ENV, "DCF_HOME": "/var/dcf", "DCF_PROJECT_DIR": IMAGE_PROJECT_DIR},
    "cpu_request": "1", "cpu_limit": "2", "memory_request": "2Gi", "memory_limit": "4Gi",
    "finished_job_ttl": 86400,
}
ENV_SECRET_VARIABLE = {"title": "Environment secret", "type": "string", "default": "dcf-flows-env",
                       "description": "Kubernetes Secret whose keys become environment variables of the flow run "
                                      "(PREFECT_API_URL, PREFECT_API_KEY, DCF_WAREHOUSE_BLOCK); optional."}
def base_job_template() -> dict[str, Any]:
    """Prefect's process template with our environment defaults."""
    template = ProcessWorker.get_default_base_job_template()
    template["variables"]["properties"]["env"]["default"] = dict(JOB_ENV)
    return template


def kubernetes_base_job_template() -> dict[str, Any]:
    """prefect-kubernetes' default Job template with DCF's defaults and the environment secret."""
    from prefect_kubernetes.worker import KubernetesWorker

    template = copy.deepcopy(KubernetesWorker.get_default_base_job_template())
    properties = template["variables"]["properties"]
    for name, value in KUBERNETES_DEFAULTS.items():
        properties[name]["default"] = copy.deepcopy(value)
    properties["env_from_secret"] = dict(ENV_SECRET_VARIABLE)
    [container] = template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]["containers"]
    container["envFrom"] = [{"secretRef": {"name": "{{ env_from_secret }}", "optional": True}}]
    return template


#: name -> (work pool type, description, its base job template)
POOLS: dict[str, tuple[str, str, Callable[[], dict[str, Any]]]] = {
    WORK_POOL: (WORK_POOL_TYPE, DESCRIPTION, base_job_template),
    KUBERNETES_POOL: ("kubernetes", KUBERNETES_DESCRIPTION, kubernetes_base_job_template),
}


def ensure_work_pool(name: str = WORK_POOL) -> str:
    """Create the pool, or bring an existing one up to this definition; returns what was done."""
    pool_type, description, template_of = POOLS[name]
    template = template_of()
    with get_client(sync_client=True) as client:
        existed = any(pool.name == name for pool in client.read_work_pools())
        client.create_work_pool(
            WorkPoolCreate(name=name, type=pool_type, description=description, base_job_template=template),
            overwrite=True,
        )
    return f"work pool {name} ({pool_type}) {'updated' if existed else 'created'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.work_pool", description=__doc__.splitlines()[0])
    parser.add_argument("--pool", choices=["process", "kubernetes"], default="process")
    args = parser.parse_args(argv)
    print(ensure_work_pool(KUBERNETES_POOL if args.pool == "kubernetes" else WORK_POOL))
    return 0


if __name__ == "__main__":
    sys.exit(main())
