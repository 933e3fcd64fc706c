"""The dbt side of state-aware reuse: resolve the selection, plan (:mod:`dcf.build.reuse`), select exactly the nodes
to build, and keep the store up to date. Called by :func:`dcf.build.runner.run_dbt_build` under its dbt lock::

    run = prepare_reuse(manifest, facts, request, base_args, conn=conn)          # None: reuse not possible
    build_select = node_selectors(manifest, run.plan.to_build)                    # with --indirect-selection empty
    ... build; the writer gets run.plan's reused nodes as "reused" events ...
    run.record(job, facts)                                                        # after the build, whatever its end

The selection is resolved by ``dbt ls`` on the already parsed manifest (tens of milliseconds). The nodes to
build are then named one by one (``fqn:``) with indirect test selection off, and ``dbt ls`` of that list
must give back exactly the planned set — otherwise the build falls back to the stream's own selection with
nothing reused: when in doubt, build.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from dcf.build.request import BuildRequest
from dcf.build.reuse import ReusePlan, ReuseStore, plan_reuse
from dcf.errors import DcfError
from dcf.execlog.facts import ProjectFacts
from dcf.execlog.fold import JobState
from dcf.store.connection import Connection

log = logging.getLogger("dcf.build.reuse")

#: What `dbt build` runs; `dbt ls` lists these so the plan sees what the build would.
BUILD_RESOURCE_TYPES = ("model", "seed", "snapshot", "test", "unit_test")


@dataclass
class ReuseRun:
    plan: ReusePlan
    store: ReuseStore

    def record(self, job: JobState, facts: ProjectFacts) -> None:
        """Store the records after the build; never raises (the pre-build save already keeps reuse safe)."""
        statuses = {unique_id: result.status for unique_id, result in job.results.items()}
        rows = {unique_id: model.rows for unique_id, model in job.models.items()}
        tested = {n.unique_id: [p for kind, _, p in n.depends_on if kind == "ref"]
                  for n in facts.nodes.values() if n.resource_type == "test"}
        try:
            self.store.save(self.plan.records_after_build(job.invocation_id, statuses, rows, tested))
        except Exception as error:  # any driver's error: the build's own outcome stands
            log.warning("could not save the reuse state of %s (%s); the next run rebuilds more", self.store.stream,
                        error)


def prepare_reuse(manifest: Any, facts: ProjectFacts, request: BuildRequest, base_args: Sequence[str], *,
                  conn: Connection | None) -> ReuseRun | None:
    """Plan the build: which selected nodes are reused. None when reuse cannot run (no control store)."""
    if conn is None:
        log.warning("reuse needs the execution log (log_to): building everything")
        return None
    selected = list_nodes(manifest, base_args, request.select, request.exclude)
    store = ReuseStore(conn, facts.project_name, request.context.stream_name)
    environment = f"dbt {facts.dbt_version}, {facts.adapter_type} {_adapter_version(facts.adapter_type)}, " \
                  f"target {request.target}"
    plan = plan_reuse(manifest, selected, store.load(), conn, vars=request.vars,
                      project_vars=_project_vars(request.project_dir), environment=environment,
                      force_build="full refresh requested" if request.full_refresh else None)
    if plan.reused and plan.to_build:
        listed = set(list_nodes(manifest, base_args, node_selectors(manifest, plan.to_build), (), indirect="empty"))
        if listed != set(plan.to_build):
            odd = sorted(listed.symmetric_difference(plan.to_build))[:5]
            log.warning("dbt cannot select exactly the nodes to build (%s); building everything", odd)
            plan.build_all("dbt could not select the nodes to build exactly")
    store.save(plan.records_before_build())
    summary = plan.summary()
    log.info("reuse: %d node(s) reused, %d to build %s", summary["reused"], summary["built"], summary["build_reasons"])
    return ReuseRun(plan, store)


def list_nodes(manifest: Any, base_args: Sequence[str], select: Sequence[str], exclude: Sequence[str], *,
               indirect: str | None = None) -> list[str]:
    """Unique ids ``dbt build`` would run for this selection (``dbt ls`` on the parsed manifest)."""
    from dbt.cli.main import dbtRunner

    args = ["ls", *base_args, "--resource-type", *BUILD_RESOURCE_TYPES, "--output", "json",
            "--output-keys", "unique_id"]
    if select:
        args += ["--select", *select]
    if exclude:
        args += ["--exclude", *exclude]
    if indirect:
        args += ["--indirect-selection", indirect]
    result = dbtRunner(manifest=manifest).invoke(args)
    if not result.success:
        raise DcfError(f"dbt ls could not resolve the selection {list(select)}: {result.exception}")
    return [json.loads(line)["unique_id"] for line in result.result or []]


def node_selectors(manifest: Any, unique_ids: Sequence[str]) -> list[str]:
    """One ``fqn:`` selector per node (verified by the caller: a selector may match more than its node)."""
    return ["fqn:" + ".".join((manifest.nodes.get(u) or manifest.unit_tests[u]).fqn) for u in unique_ids]


def _project_vars(project_dir: Path) -> dict[str, Any]:
    try:
        return (yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}).get("vars") or {}
    except (OSError, yaml.YAMLError):
        return {}


def _adapter_version(adapter_type: str) -> str:
    try:
        return metadata.version(f"dbt-{adapter_type}")
    except metadata.PackageNotFoundError:
        return "unknown"
