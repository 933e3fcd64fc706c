"""The Kubernetes work pool: its template against prefect-kubernetes' default, one flow run's Job, no cluster."""

from __future__ import annotations

import asyncio
import json
import re
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import jsonschema
import yaml
from kubernetes_asyncio.client import ApiClient
from prefect.client.schemas.objects import FlowRun
from prefect_kubernetes.worker import KubernetesWorker, KubernetesWorkerJobConfiguration

from scripts.deployments import POOL_FILES, render_text
from scripts.work_pool import KUBERNETES_POOL, kubernetes_base_job_template

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def test_the_template_is_prefect_kubernetes_default_with_dcf_values_and_every_placeholder_declared() -> None:
    default = KubernetesWorker.get_default_base_job_template()
    ours = kubernetes_base_job_template()

    assert set(ours["job_configuration"]) == set(default["job_configuration"])
    declared = ours["variables"]["properties"]
    assert set(declared) - set(default["variables"]["properties"]) == {"env_from_secret"}
    for name, schema in default["variables"]["properties"].items():
        assert declared[name].get("type") == schema.get("type"), name
    used = set(PLACEHOLDER.findall(json.dumps(ours["job_configuration"])))
    assert used <= set(declared), f"undeclared: {used - set(declared)}"
    assert {"image", "env", "cpu_request", "memory_limit", "env_from_secret"} <= used
    defaults = {name: schema["default"] for name, schema in declared.items() if "default" in schema}
    jsonschema.validate(defaults, ours["variables"])  # DCF's defaults are valid values of the pool's own form
    assert default == KubernetesWorker.get_default_base_job_template(), "the library's default was not mutated"


def test_one_flow_runs_job_manifest_renders_without_a_cluster(prefect_api: str) -> None:
    deployment_values = {"image": "registry.example.com/dcf-flows:1.4.0", "memory_limit": "6Gi"}
    flow_run = FlowRun(id=uuid4(), name="bcfinsg-2024-03-01", flow_id=uuid4())

    async def render() -> tuple[dict, Any]:
        config = await KubernetesWorkerJobConfiguration.from_template_and_values(
            kubernetes_base_job_template(), deployment_values)
        config.prepare_for_flow_run(flow_run)
        # The Kubernetes client's own model of a Job reads it back whole: names and types as the API expects.
        async with ApiClient() as client:
            return config.job_manifest, client.deserialize(SimpleNamespace(data=json.dumps(config.job_manifest)),
                                                           "V1Job")

    job, v1_job = asyncio.run(render())

    assert (job["apiVersion"], job["kind"], job["metadata"]["namespace"]) == ("batch/v1", "Job", "dcf")
    assert job["metadata"]["generateName"].startswith("bcfinsg-2024-03-01")
    assert job["spec"]["ttlSecondsAfterFinished"] == 86400
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example.com/dcf-flows:1.4.0"
    assert container["args"] == ["prefect", "flow-run", "execute"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["PREFECT__FLOW_RUN_ID"] == str(flow_run.id)
    assert (env["DCF_HOME"], env["DCF_PROJECT_DIR"], env["DO_NOT_TRACK"]) == ("/var/dcf", "/app", "1")
    assert container["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2",
                                                                                          "memory": "6Gi"}}
    assert container["envFrom"] == [{"secretRef": {"name": "dcf-flows-env", "optional": True}}]
    assert v1_job.spec.template.spec.containers[0].env_from[0].secret_ref.name == "dcf-flows-env"
    assert v1_job.spec.template.spec.containers[0].resources.limits == {"cpu": "2", "memory": "6Gi"}


def test_the_kubernetes_deployments_are_generated_and_current() -> None:
    path, pool, pull = POOL_FILES["kubernetes"]
    assert path.read_text() == render_text(pool_kind="kubernetes"), f"{path.name} is stale: run " \
                                                                     "`make deployments POOL=kubernetes`"
    document = yaml.safe_load(path.read_text())
    assert pool == KUBERNETES_POOL and pull == document["pull"]
    assert document["pull"] == [{"prefect.deployments.steps.set_working_directory": {"directory": "/app"}}]
    process = yaml.safe_load(POOL_FILES["process"][0].read_text())
    assert [d["name"] for d in document["deployments"]] == [d["name"] for d in process["deployments"]]
    assert {d["work_pool"]["name"] for d in document["deployments"]} == {KUBERNETES_POOL}
