"""What a dbt node's result depends on, read from the manifest: a digest of its definition, the vars and
environment variables it reads, and whether it reads the clock.

    sigs = node_signatures(manifest, ["model.p.m1", "test.p.unique_m1_id.ab12"], environment="duckdb 1.11 local")
    sigs["model.p.m1"].digest          # changes when code, config, docs, refs or any macro it calls change
    sigs["model.p.m1"].vars            # frozenset({"run_stream_process_date"}); None: a var chosen at run time
    sigs["model.p.m1"].volatile        # "current_timestamp": never reuse a model that reads the clock

The digest covers what dbt's ``state:modified`` compares (file checksum, rendered and unrendered config,
description and columns, contract, refs and sources, relation name) plus every project or package macro
the node calls, transitively, the project's overrides of dbt's built-in macros and materializations, and
the dbt and adapter versions and target (``environment``, which stands for dbt's own macros: compiling a
node adds some of those to its ``depends_on``, so they are not listed one by one). It is stricter than
``state:modified``: a doubt means a rebuild.

Vars are not rendered into the manifest's ``raw_code``, so the node text (code, config, hooks, test
arguments) and the text of the project's macros it calls are scanned for ``var('name')`` calls; a var
named by an expression makes the node depend on every var. ``env_var`` likewise, except that an
environment variable named by an expression makes the node non-reusable.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Fields of a node's manifest entry that change on every parse without changing the node.
_VOLATILE_FIELDS = frozenset({"created_at", "compiled_path", "build_path", "deferred", "defer_relation", "compiled",
                              "compiled_code", "extra_ctes", "extra_ctes_injected", "root_path"})
_VAR = re.compile(r"(?<![\w.])var\(\s*\\?['\"](\w+)")
_DYNAMIC_VAR = re.compile(r"(?<![\w.])var\(\s*(?!\\?['\"])")
_ENV_VAR = re.compile(r"env_var\(\s*\\?['\"](\w+)")
_DYNAMIC_ENV_VAR = re.compile(r"env_var\(\s*(?!\\?['\"])")
#: Functions whose result changes between two builds over the same inputs (Snowflake and DuckDB names).
_CLOCK = re.compile(
    r"\b(current_timestamp|current_date|current_time|localtimestamp|sysdate|getdate|systimestamp|now\s*\(|"
    r"random\s*\(|uniform\s*\(|uuid\w*|gen_random_uuid|seq[1248]\s*\(|run_started_at|invocation_id)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class NodeSignature:
    digest: str
    #: vars the node reads (None: a var whose name is computed, so all of them)
    vars: frozenset[str] | None
    #: environment variables the node reads (None: one whose name is computed: never reuse)
    env_vars: frozenset[str] | None
    #: the first clock/random/run-identity reference found, e.g. "current_timestamp"; None: deterministic
    volatile: str | None


def node_signatures(manifest: Any, unique_ids: Iterable[str], *, environment: str) -> dict[str, NodeSignature]:
    """The signature of each node in ``unique_ids`` (nodes of ``manifest.nodes`` or ``manifest.unit_tests``)."""
    macros = _MacroIndex(manifest)
    global_digest = _digest({"environment": environment, "overrides": macros.global_overrides()})
    out = {}
    for unique_id in unique_ids:
        node = manifest.nodes.get(unique_id) or manifest.unit_tests[unique_id]
        entry = {k: v for k, v in node.to_dict().items() if k not in _VOLATILE_FIELDS}
        # dbt's own macros are covered by its version (``environment``); compiling a node adds some of them
        # to its depends_on, so they are left out: the signature of a compiled node equals a fresh parse's.
        own = [m for m in entry.get("depends_on", {}).get("macros", []) if not macros.builtin(m)]
        entry["depends_on"] = {**entry.get("depends_on", {}), "macros": own}
        called = macros.closure(own)
        materialization = macros.materialization(entry.get("config", {}).get("materialized"))
        digest = _digest({"node": entry, "macros": {m: macros.digest(m) for m in sorted(called | materialization)},
                          "global": global_digest})
        own_macros = macros.texts(called | materialization)
        # vars may sit anywhere (config, hooks, test arguments); the clock only in code, hooks and macros
        code = [str(entry.get("raw_code") or ""), json.dumps(entry.get("config", {}), sort_keys=True, default=str)]
        out[unique_id] = _scan(digest, [json.dumps(entry, sort_keys=True, default=str), *own_macros],
                               [*code, *own_macros])
    return out


def value_digest(value: Any) -> str:
    """A short digest of a var's or environment variable's value (values themselves are never stored)."""
    return _digest(value)[:16]


def _scan(digest: str, texts: list[str], code: list[str]) -> NodeSignature:
    names: set[str] = set()
    env_names: set[str] = set()
    dynamic_var = dynamic_env = False
    volatile = None
    for text in texts:
        names.update(_VAR.findall(text))
        env_names.update(_ENV_VAR.findall(text))
        dynamic_var = dynamic_var or bool(_DYNAMIC_VAR.search(text))
        dynamic_env = dynamic_env or bool(_DYNAMIC_ENV_VAR.search(text))
    for text in code:
        clock = _CLOCK.search(text)
        volatile = volatile or (clock.group(1).lower() if clock else None)
    return NodeSignature(digest=digest, vars=None if dynamic_var else frozenset(names),
                         env_vars=None if dynamic_env else frozenset(env_names), volatile=volatile)


class _MacroIndex:
    """Macro lookups for one manifest: transitive calls, digests, and which macros act globally."""

    def __init__(self, manifest: Any) -> None:
        self.macros: Mapping[str, Any] = manifest.macros
        adapter = manifest.metadata.adapter_type
        self.builtin_packages = {"dbt", f"dbt_{adapter}"}
        self._digests: dict[str, str] = {}

    def builtin(self, macro_id: str) -> bool:
        macro = self.macros.get(macro_id)
        return macro is not None and macro.package_name in self.builtin_packages

    def closure(self, roots: Iterable[str]) -> set[str]:
        """The project/package macros reachable from ``roots`` (dbt's own are skipped: see the caller)."""
        seen: set[str] = set()
        todo = [m for m in roots if m in self.macros and not self.builtin(m)]
        while todo:
            macro_id = todo.pop()
            if macro_id in seen:
                continue
            seen.add(macro_id)
            todo.extend(m for m in (self.macros[macro_id].depends_on.macros or [])
                        if m in self.macros and not self.builtin(m))
        return seen

    def digest(self, macro_id: str) -> str:
        if macro_id not in self._digests:
            self._digests[macro_id] = _digest(self.macros[macro_id].macro_sql)[:16]
        return self._digests[macro_id]

    def materialization(self, materialized: str | None) -> set[str]:
        """Project/package materialization macros a node of this kind may run (any adapter)."""
        if not materialized:
            return set()
        prefix = f"materialization_{materialized}_"
        return {uid for uid, macro in self.macros.items() if macro.name.startswith(prefix) and not self.builtin(uid)}

    def global_overrides(self) -> dict[str, str]:
        """Project/package macros that replace a dbt built-in (generate_schema_name, create_table_as, ...):
        they act on every node without being called by name, so any change to them rebuilds everything."""
        builtin_names = {m.name for m in self.macros.values() if m.package_name in self.builtin_packages}
        return {uid: self.digest(uid) for uid, m in sorted(self.macros.items())
                if m.package_name not in self.builtin_packages
                and (m.name in builtin_names or m.name.startswith("materialization_"))}

    def texts(self, macro_ids: Iterable[str]) -> list[str]:
        return [self.macros[m].macro_sql for m in sorted(macro_ids)]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
