"""State-aware reuse: before a dbt build, decide which selected nodes are unchanged and need not run.

Used by :func:`dcf.build.runner.run_dbt_build` when a stream sets ``dbt.reuse: true``::

    store = ReuseStore(conn, project_name="synthetic", stream="LEDGER")
    plan = plan_reuse(manifest, selected_ids, store.load(), conn, vars=cli_vars, project_vars=yml_vars)
    store.save(plan.records_before_build())              # crash-safe: nodes about to run lose their record
    ... dbt build of plan.to_build ...
    store.save(plan.records_after_build(invocation_id, statuses, rows))

The store (table DBT_REUSE_STATE, next to the control tables: any worker picks up any stream) keeps, per
node, a record of its last successful build in this stream: the invocation that built it, its signature (code,
config, macros: :mod:`dcf.build.signatures`), the values of the vars and environment variables it reads, the
fingerprint of every input it read (sources, and upstream relations outside the selection:
:mod:`dcf.build.fingerprints`) and the invocation that built each selected parent it read. A node is **reused**
only if all of this holds:

* it has a record: its last build succeeded and, for models, none of its tests failed since;
* its signature and the vars / environment variables it reads are unchanged;
* it does not read the clock, random numbers or the run identity, and it declares its inputs;
* every selected parent is reused too, and is still the build this node read;
* every source or outside relation it reads has the fingerprint it had when the node was built;
* its relation still exists, and DBT_MODEL_EXECUTIONS says the last invocation that wrote it (any
  stream, any worker) is the one on record.

Anything else builds, with the reason kept. Snapshots, ephemeral models and unit tests always run. A data
test is reused like a model (its parents reused, its inputs unchanged, its last result a pass), so the
tests of reused models do not run again; a test that warned, failed or changed runs again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dcf.build import fingerprints
from dcf.build.signatures import NodeSignature, node_signatures, value_digest
from dcf.store.clock import utcnow
from dcf.store.connection import MERGE_CHUNK_ROWS, Connection
from dcf.store.schema import DBT_REUSE_STATE

STATE_FORMAT = 1
#: The stream name of a build run outside a stream.
ADHOC_STREAM = "_adhoc"
#: Results after which a node's relation is the fresh one (models, seeds, snapshots) or its test passed.
_GOOD = {"model": "success", "seed": "success", "snapshot": "success", "test": "pass"}
_RELATION_TYPES = ("model", "seed", "snapshot")


@dataclass(frozen=True)
class Decision:
    unique_id: str
    reuse: bool
    reason: str
    #: reused nodes: the invocation whose result stands, and the rows it left (models)
    built_by: str | None = None
    rows: int | None = None


@dataclass
class ReusePlan:
    """The decision for every selected node, in dependency order, and what the store records afterwards."""

    order: list[str]
    decisions: dict[str, Decision]
    prior: dict[str, dict[str, Any]]
    signatures: dict[str, NodeSignature] = field(default_factory=dict)
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    fingerprints: dict[str, str | None] = field(default_factory=dict)
    #: unique_id -> its parents: ("input" | "node", parent unique_id)
    parents: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    resource_types: dict[str, str] = field(default_factory=dict)

    @property
    def reused(self) -> list[str]:
        return [u for u in self.order if self.decisions[u].reuse]

    @property
    def to_build(self) -> list[str]:
        return [u for u in self.order if not self.decisions[u].reuse]

    def summary(self) -> dict[str, Any]:
        """For the JOB row and the log: counts and why the built nodes build (first reasons)."""
        reasons: dict[str, int] = {}
        for unique_id in self.to_build:
            reason = self.decisions[unique_id].reason.split(":")[0]
            reasons[reason] = reasons.get(reason, 0) + 1
        return {"reused": len(self.reused), "built": len(self.to_build), "build_reasons": reasons}

    def build_all(self, reason: str) -> None:
        """Give up on reuse for this build (every node runs, for ``reason``); the records are still kept."""
        self.decisions = {u: Decision(u, False, reason) for u in self.order}

    def records_before_build(self) -> dict[str, dict[str, Any]]:
        """The records to keep while the build runs: a node about to run has none until it succeeds."""
        building = set(self.to_build)
        return {u: r for u, r in self.prior.items() if u not in building}

    def records_after_build(self, invocation_id: str, statuses: Mapping[str, str],
                            rows: Mapping[str, int | None], tested: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """The records after the build: ``statuses`` are dbt's per node, ``tested`` test -> the models it tests."""
        records = self.records_before_build()
        for unique_id in self.to_build:  # dependency order: a parent's new record exists before its child's
            kind = self.resource_types.get(unique_id)
            if kind not in _GOOD or statuses.get(unique_id) != _GOOD[kind]:
                continue
            records[unique_id] = {
                "built_by": invocation_id,
                "signature": self.signatures[unique_id].digest,
                "env": self.env[unique_id],
                "inputs": {p: self.fingerprints.get(p) for kind_, p in self.parents[unique_id] if kind_ == "input"},
                "parents": {p: records.get(p, {}).get("built_by") for kind_, p in self.parents[unique_id]
                            if kind_ == "node"},
                "rows": rows.get(unique_id),
            }
        for test_id, models in tested.items():  # a model whose test failed is rebuilt and re-tested next time
            if statuses.get(test_id) in ("fail", "error"):
                for model_id in models:
                    records.pop(model_id, None)
        return records


class ReuseStore:
    """The records of one (dbt project, stream): its rows of DBT_REUSE_STATE, kept with the control tables.

    So whichever worker (and DCF_HOME) runs a stream's next build reuses what its last build left. A save writes
    only what changed since the last load or save: one DELETE for the records gone, one MERGE per 500 new ones.
    """

    def __init__(self, conn: Connection, project_name: str, stream: str | None) -> None:
        self.conn = conn
        self.project_name = project_name
        self.stream = stream or ADHOC_STREAM
        self._stored: dict[str, Any] = {}

    def load(self) -> dict[str, dict[str, Any]]:
        """The records; a record of another format is left out (its node builds)."""
        rows = self.conn.rows_where(DBT_REUSE_STATE, PROJECT_NAME=self.project_name, STREAM_NAME=self.stream)
        self._stored = {row["NODE_ID"]: row["RECORD"] for row in rows if row["STATE_FORMAT"] == STATE_FORMAT}
        return dict(self._stored)

    def save(self, records: Mapping[str, Any]) -> None:
        gone = sorted(set(self._stored) - set(records))
        for start in range(0, len(gone), MERGE_CHUNK_ROWS):
            names = {f"node_{i}": unique_id for i, unique_id in enumerate(gone[start:start + MERGE_CHUNK_ROWS])}
            self.conn.execute(
                f"DELETE FROM {self.conn.qualify(DBT_REUSE_STATE.name)} WHERE PROJECT_NAME = :project "
                f"AND STREAM_NAME = :stream AND NODE_ID IN ({', '.join(':' + name for name in names)})",
                {"project": self.project_name, "stream": self.stream, **names})
        now = utcnow()
        self.conn.merge(DBT_REUSE_STATE, [
            {"PROJECT_NAME": self.project_name, "STREAM_NAME": self.stream, "NODE_ID": unique_id,
             "STATE_FORMAT": STATE_FORMAT, "BUILT_BY": record["built_by"], "RECORD": record, "UPDATED_TS": now}
            for unique_id, record in records.items() if self._stored.get(unique_id) != record])
        self._stored = dict(records)


def plan_reuse(manifest: Any, selected: Iterable[str], records: Mapping[str, dict[str, Any]], conn: Connection, *,
               vars: Mapping[str, Any], project_vars: Mapping[str, Any] | None = None,
               environment: str = "",
               force_build: str | None = None) -> ReusePlan:
    """Decide for each of the ``selected`` node ids (see the module docstring).

    ``vars`` are the ``--vars`` of the build, ``project_vars`` the ``vars:`` of dbt_project.yml, ``environment``
    a text naming dbt/adapter versions and target. ``force_build`` (e.g. "full refresh requested") builds
    everything but still prepares the records, so the next run can reuse.
    """
    environ = os.environ  # the variables dbt's env_var() reads while the build runs
    order = _dependency_order(manifest, set(selected))
    chosen = set(order)
    plan = ReusePlan(order=order, decisions={}, prior=dict(records),
                     signatures=node_signatures(manifest, order, environment=environment))
    inputs: dict[str, str] = {}
    for unique_id in order:
        node = _node(manifest, unique_id)
        plan.resource_types[unique_id] = str(node.resource_type)
        plan.parents[unique_id] = _parents(manifest, node, chosen, inputs)
        plan.env[unique_id] = _env_values(plan.signatures[unique_id], node.package_name, vars,
                                          project_vars or {}, environ)
    plan.fingerprints = fingerprints.fingerprints(conn, inputs)  # before the build: a later change means rebuild
    candidates = {u: _node(manifest, u) for u in order if u in records and plan.resource_types[u] in _RELATION_TYPES
                  and getattr(_node(manifest, u), "relation_name", None)}
    exists = fingerprints.existing(conn, {u: (n.database, n.schema, n.alias or n.name) for u, n in candidates.items()})
    last = fingerprints.last_builds(conn, sorted({str(n.relation_name) for n in candidates.values()}))
    for unique_id in order:
        reason = force_build or _why_build(plan, manifest, unique_id, records.get(unique_id), exists, last)
        record = records.get(unique_id) or {}
        plan.decisions[unique_id] = Decision(
            unique_id, reason is None, reason or f"unchanged since invocation {record.get('built_by')}",
            built_by=record.get("built_by") if reason is None else None,
            rows=record.get("rows") if reason is None else None)
    return plan


def _why_build(plan: ReusePlan, manifest: Any, unique_id: str, record: dict[str, Any] | None, exists: set[str],
               last: Mapping[str, tuple[str, str]]) -> str | None:
    """Why the node must run, or None when it may be reused. The first reason found wins."""
    node = _node(manifest, unique_id)
    kind = plan.resource_types[unique_id]
    signature = plan.signatures[unique_id]
    materialized = getattr(node.config, "materialized", None)
    if kind not in _GOOD:
        return f"always runs: {kind}"
    if kind == "snapshot" or materialized == "ephemeral":
        return f"always runs: {materialized if materialized == 'ephemeral' else kind}"
    if signature.volatile:
        return f"reads {signature.volatile}: a rebuild gives another result"
    if signature.env_vars is None:
        return "reads an environment variable chosen at run time"
    if not record:
        return "no successful build on record"
    if seed_without_content_checksum(node):
        return "seed too large for dbt to checksum its contents"
    if record.get("signature") != signature.digest:
        return "changed: code, config or a macro it calls"
    changed_env = sorted(k for k in set(record.get("env", {})) | set(plan.env[unique_id])
                         if record.get("env", {}).get(k) != plan.env[unique_id].get(k))
    if changed_env:
        return f"vars changed: {', '.join(changed_env)}"
    if not plan.parents[unique_id] and kind != "seed":  # a seed's input is its file: part of the signature
        return "declares no inputs (no source() or ref())"
    for parent_kind, parent in plan.parents[unique_id]:
        name = _label(manifest, parent)
        if parent_kind == "unsupported":
            return f"upstream {name} is neither selected nor a relation"
        if parent_kind == "input":
            current = plan.fingerprints.get(parent)
            if current is None:
                return f"input {name} cannot be read"
            if record.get("inputs", {}).get(parent) != current:
                return f"input changed: {name}"
        elif not plan.decisions[parent].reuse:
            return f"upstream built: {name}"
        elif record.get("parents", {}).get(parent) != plan.prior[parent].get("built_by"):
            return f"upstream rebuilt since: {name}"
    if kind in _RELATION_TYPES:
        if unique_id not in exists:
            return "relation missing"
        written = last.get(str(node.relation_name))
        if written is None or written != (record.get("built_by"), "success"):
            return "relation written by another invocation since" if written else "no build in DBT_MODEL_EXECUTIONS"
    return None


def seed_without_content_checksum(node: Any) -> bool:
    """dbt checksums a seed over 1 MiB by its path only: a changed file would go unnoticed."""
    return str(node.resource_type) == "seed" and getattr(node.checksum, "name", "") == "path"


def _parents(manifest: Any, node: Any, chosen: set[str], inputs: dict[str, str]) -> list[tuple[str, str]]:
    """(kind, id) per parent: "node" (selected), "input" (fingerprinted relation) or "unsupported"."""
    out = []
    for parent in getattr(node.depends_on, "nodes", None) or []:
        if parent in chosen:
            out.append(("node", parent))
            continue
        target = manifest.sources.get(parent) or manifest.nodes.get(parent)
        materialized = getattr(getattr(target, "config", None), "materialized", None)
        relation = getattr(target, "relation_name", None)
        if relation and materialized != "ephemeral":
            inputs[parent] = str(relation)
            out.append(("input", parent))
        else:
            out.append(("unsupported", parent))
    return out


def _env_values(signature: NodeSignature, package: str, vars: Mapping[str, Any], project_vars: Mapping[str, Any],
                environ: Mapping[str, str]) -> dict[str, str]:
    """Digests of the var and environment-variable values the node reads, as dbt resolves vars."""
    scoped = project_vars.get(package) if isinstance(project_vars.get(package), dict) else {}
    names = signature.vars if signature.vars is not None else set(vars) | set(project_vars) | set(scoped)
    values = {}
    for name in sorted(names):
        value = vars[name] if name in vars else scoped[name] if name in scoped else project_vars.get(name, "<unset>")
        values[f"var:{name}"] = value_digest(value)
    for name in sorted(signature.env_vars or ()):
        values[f"env:{name}"] = value_digest(environ.get(name, "<unset>"))
    return values


def _dependency_order(manifest: Any, selected: set[str]) -> list[str]:
    """The selected ids, every node after its selected parents (ties by id, so the order is stable)."""
    order: list[str] = []
    done: set[str] = set()
    for root in sorted(selected):
        stack = [(root, False)]
        while stack:
            unique_id, expanded = stack.pop()
            if unique_id in done:
                continue
            if expanded:
                done.add(unique_id)
                order.append(unique_id)
                continue
            stack.append((unique_id, True))
            parents = getattr(_node(manifest, unique_id).depends_on, "nodes", None) or []
            stack.extend((p, False) for p in sorted(parents, reverse=True) if p in selected and p not in done)
    return order


def _node(manifest: Any, unique_id: str) -> Any:
    return manifest.nodes.get(unique_id) or manifest.unit_tests[unique_id]


def _label(manifest: Any, unique_id: str) -> str:
    source = manifest.sources.get(unique_id)
    if source is not None:
        return f"{source.source_name}.{source.name}"
    node = manifest.nodes.get(unique_id)
    return node.name if node is not None else unique_id
