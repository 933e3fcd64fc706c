"""Parse a dbt project once and keep its manifest; reduce it to the plain facts the execution log needs."""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import yaml

from dcf.build.request import BuildRequest
from dcf.errors import DcfError
from dcf.execlog.facts import NodeFacts, ProjectFacts

#: Parsed manifests by (project, profiles, target, vars, env, files): a stream run parses (partially) once.
MANIFESTS: OrderedDict[tuple, Any] = OrderedDict()


def project_name(project_dir: Path) -> str:
    path = project_dir / "dbt_project.yml"
    try:
        name = (yaml.safe_load(path.read_text()) or {}).get("name")
    except (OSError, yaml.YAMLError) as error:
        raise DcfError(f"no readable dbt project at {project_dir}: {error}") from None
    if not name:
        raise DcfError(f"{path} has no project name")
    return str(name)


def parse_manifest(request: BuildRequest, work: Path) -> Any:
    """The project's manifest; reused while the project files, target, vars and env are unchanged."""
    key = (str(request.project_dir), str(request.profiles_dir), request.target,
           json.dumps(request.parse_vars, sort_keys=True, default=str), json.dumps(dict(request.env), sort_keys=True),
           _fingerprint(request.project_dir, request.profiles_dir))
    if key in MANIFESTS:
        MANIFESTS.move_to_end(key)
        return MANIFESTS[key]
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(["parse", *base_args(request, work)])
    if not result.success or result.result is None:
        raise DcfError(f"dbt project {request.project_dir} does not parse (target {request.target}): "
                       f"{one_line(result.exception)}")
    MANIFESTS[key] = result.result
    while len(MANIFESTS) > 4:
        MANIFESTS.popitem(last=False)
    return result.result


def base_args(request: BuildRequest, work: Path) -> list[str]:
    """Arguments of the quiet helper invocations (parse, ls): the project, target and the vars it is parsed with.

    ``--no-write-json``: their manifest is used in memory, never read back from target/manifest.json, so
    dbt need not serialise it (partial parsing's own file is still written).
    """
    return ["--project-dir", str(request.project_dir), "--profiles-dir", str(request.profiles_dir),
            "--target", request.target, "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
            "--vars", json.dumps(request.parse_vars, default=str), "--log-level", "none",
            "--log-level-file", file_log_level(), "--no-write-json"]


def _fingerprint(project_dir: Path, profiles_dir: Path) -> tuple:
    """Cheap change detector: (files, newest mtime) over the project (minus its outputs) and profiles.yml."""
    newest, count = 0.0, 0
    skip = {"target", "logs", "dbt_packages", ".git"}
    for root, dirs, files in os.walk(project_dir):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            count += 1
            newest = max(newest, os.stat(os.path.join(root, name)).st_mtime)
    profiles = profiles_dir / "profiles.yml"
    return count, newest, profiles.stat().st_mtime if profiles.exists() else None


def project_fingerprint(project_dir: Path) -> str:
    """sha256 over the project's files (names and contents, minus its outputs): what a build was built from."""
    digest = hashlib.sha256()
    skip = {"target", "logs", "dbt_packages", ".git"}
    for root, dirs, files in sorted(os.walk(project_dir)):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for name in sorted(files):
            path = Path(root) / name
            digest.update(str(path.relative_to(project_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def project_facts(manifest: Any) -> ProjectFacts:
    nodes: dict[str, NodeFacts] = {}
    for node in manifest.nodes.values():
        depends = []
        for parent in getattr(node.depends_on, "nodes", []) or []:
            if parent in manifest.sources:
                source = manifest.sources[parent]
                depends.append(("source", f"{source.source_name}.{source.name}", parent))
            elif parent in manifest.nodes:
                depends.append(("ref", manifest.nodes[parent].name, parent))
        attached = getattr(node, "attached_node", None)
        tested = (attached,) if attached else tuple(p for _, _, p in depends if p.startswith("model."))
        config = node.config.to_dict() if hasattr(node.config, "to_dict") else {}
        # dbt's strings are often str subclasses (ValidatedStringMixin); Snowflake's connector binds plain str only.
        nodes[node.unique_id] = NodeFacts(
            unique_id=plain_str(node.unique_id), name=plain_str(node.name), resource_type=plain_str(node.resource_type),
            package=plain_str(node.package_name), materialized=plain_str(config.get("materialized")),
            relation_name=plain_str(getattr(node, "relation_name", None)), database=plain_str(node.database),
            schema=plain_str(node.schema), alias=plain_str(getattr(node, "alias", None) or node.name),
            original_file_path=plain_str(node.original_file_path),
            depends_on=tuple((kind, plain_str(name), plain_str(node_id)) for kind, name, node_id in depends),
            tested_models=tuple(plain_str(t) for t in tested) if node.resource_type == "test" else (),
            config=jsonable(config),
        )
    meta = manifest.metadata
    return ProjectFacts(project_name=plain_str(meta.project_name), adapter_type=plain_str(meta.adapter_type) or "",
                        dbt_version=plain_str(meta.dbt_version), nodes=nodes)


def plain_str(value: Any) -> Any:
    """A plain ``str`` (or None), whatever str subclass dbt used."""
    return None if value is None else str.__str__(value) if isinstance(value, str) else str(value)


def jsonable(value: Any) -> dict[str, Any]:
    return json.loads(json.dumps(value or {}, default=str))


def file_log_level() -> str:
    # dbt's default (debug) writes every statement to logs/dbt.log; info keeps the file useful and cheap.
    return os.environ.get("DBT_LOG_LEVEL_FILE", "info")


def one_line(error: BaseException | None) -> str:
    text = str(error or "unknown error").strip()
    return " ".join(line.strip() for line in text.splitlines()[:3] if line.strip()) or type(error).__name__
