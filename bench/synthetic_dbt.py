"""Generate a throwaway dbt project (dbt-duckdb) of N models in chains with fan-ins, for benchmarks and tests.

    from bench.synthetic_dbt import write_project
    project = write_project(tmp_path / "proj", n_models=6, failing={"m0003"}, gated={"m0002": gate_file})
    run_dbt_build(project_dir=project.root, profiles_dir=project.root, target="local", select=[], ...)

    uv run python -m bench.synthetic_dbt /tmp/synth --models 200     # write one to look at

Shape: models ``m0001..mNNNN`` form chains of ``chain_length``; the first model of a chain reads the source
``raw.events`` (created by the project's on-run-start hook, so the project needs nothing outside itself),
every other model refs its predecessor, and every ``fan_in_every``-th model also refs a model of an earlier
chain (a fan-in). Materializations cycle table, table, table, view, incremental. Every ``tests_every``-th
model carries ``not_null`` + ``unique`` tests on ``id``.

Knobs for tests: ``failing`` models fail at run time (a missing column), ``warn_tests_on`` models get an
``accepted_values`` test of severity warn that warns, and ``gated`` models are Python models that block
until their gate file exists (bounded by ``gate_timeout``) — a "slow" model whose duration the test
controls without sleeping on a clock.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

_MATERIALIZATIONS = ("table", "table", "table", "view", "incremental")


@dataclass(frozen=True)
class SyntheticProject:
    root: Path
    name: str
    models: list[str]
    #: model name -> names it refs directly
    parents: dict[str, list[str]] = field(default_factory=dict)
    materialized: dict[str, str] = field(default_factory=dict)
    tests: int = 0

    @property
    def profiles_dir(self) -> Path:
        return self.root

    def downstream(self, model: str) -> set[str]:
        """Every model that depends on ``model``, directly or not."""
        found: set[str] = set()
        frontier = {model}
        while frontier:
            frontier = {m for m, ps in self.parents.items() if frontier & set(ps)} - found
            found |= frontier
        return found


def model_name(i: int) -> str:
    return f"m{i:04d}"


def write_project(
    root: Path,
    n_models: int = 200,
    *,
    name: str = "synthetic",
    threads: int = 4,
    chain_length: int = 10,
    fan_in_every: int = 4,
    tests_every: int = 10,
    source_rows: int = 100,
    failing: Collection[str] = (),
    warn_tests_on: Collection[str] = (),
    gated: Mapping[str, Path] | None = None,
    gate_timeout: float = 300.0,
    seed: int = 7,
) -> SyntheticProject:
    """Write the project (dbt_project.yml, profiles.yml, models) under ``root`` and describe it."""
    gated = dict(gated or {})
    rng = random.Random(seed)
    models_dir = root / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    names = [model_name(i) for i in range(1, n_models + 1)]
    parents: dict[str, list[str]] = {}
    materialized: dict[str, str] = {}
    for i, model in enumerate(names):
        chain_start = i % chain_length == 0
        refs = [] if chain_start else [names[i - 1]]
        if not chain_start and i % fan_in_every == 0 and i >= chain_length:
            refs.append(names[rng.randrange(0, i - (i % chain_length))])
        parents[model] = refs
        materialized[model] = "table" if chain_start else _MATERIALIZATIONS[i % len(_MATERIALIZATIONS)]
        if model in gated:
            materialized[model] = "table"
            (models_dir / f"{model}.py").write_text(_python_gated(refs, gated[model], gate_timeout))
        else:
            sql = _sql_model(refs, materialized[model], broken=model in failing)
            (models_dir / f"{model}.sql").write_text(sql)
    n_tests = _write_schema_yml(models_dir / "schema.yml", names, tests_every, warn_tests_on)
    _write_project_files(root, name, threads, source_rows)
    return SyntheticProject(root, name, names, parents, materialized, n_tests)


def _sql_model(refs: list[str], materialized: str, *, broken: bool) -> str:
    config = (
        "{{ config(materialized='incremental', unique_key='id') }}"
        if materialized == "incremental"
        else f"{{{{ config(materialized='{materialized}') }}}}"
    )
    grp = "a.no_such_column" if broken else "a.grp"
    if not refs:
        grp = "a.no_such_column" if broken else "a.id % 7"
        body = f"select a.id, {grp} as grp from {{{{ source('raw', 'events') }}}} a"
    elif len(refs) == 1:
        body = f"select a.id, {grp} + 1 as grp from {{{{ ref('{refs[0]}') }}}} a"
    else:
        body = (
            f"select a.id, {grp} + coalesce(b.grp, 0) as grp from {{{{ ref('{refs[0]}') }}}} a\n"
            f"left join {{{{ ref('{refs[1]}') }}}} b on a.id = b.id"
        )
    if materialized == "incremental":
        body += "\n{% if is_incremental() %}where a.id > (select coalesce(max(id), -1) from {{ this }}){% endif %}"
    return f"{config}\n{body}\n"


def _python_gated(refs: list[str], gate: Path, timeout: float) -> str:
    upstream = f'dbt.ref("{refs[0]}")' if refs else 'dbt.source("raw", "events")'
    return f'''import os
import time

GATE = {str(gate)!r}


def model(dbt, session):
    """Blocks until the gate file exists (bounded), so a test decides how long this model runs."""
    dbt.config(materialized="table")
    upstream = {upstream}
    deadline = time.monotonic() + {timeout}
    while not os.path.exists(GATE) and time.monotonic() < deadline:
        time.sleep(0.05)
    return upstream.project("id, grp" if "grp" in upstream.columns else "id, id % 7 as grp")
'''


def _write_schema_yml(path: Path, names: list[str], tests_every: int, warn_tests_on: Collection[str]) -> int:
    lines = ["version: 2", "models:"]
    n_tests = 0
    for i, model in enumerate(names, start=1):
        tests = []
        if tests_every and i % tests_every == 0:
            tests += ["          - not_null", "          - unique"]
        if model in warn_tests_on:
            tests += [
                "          - accepted_values:",
                "              arguments: {values: [-1]}",
                "              config: {severity: warn}",
            ]
        if not tests:
            continue
        n_tests += sum(1 for t in tests if t.startswith("          - "))
        lines += [f"  - name: {model}", "    columns:", "      - name: id", "        data_tests:", *tests]
    if lines[-1] == "models:":
        lines[-1] = "models: []"
    lines += ["sources:", "  - name: raw", "    schema: raw", "    tables:", "      - name: events"]
    path.write_text("\n".join(lines) + "\n")
    return n_tests


def _write_project_files(root: Path, name: str, threads: int, source_rows: int) -> None:
    (root / "dbt_project.yml").write_text(
        f"""name: {name}
version: "1.0.0"
config-version: 2
profile: {name}
model-paths: ["models"]
on-run-start:
  - "create schema if not exists raw"
  - "create table if not exists raw.events as select range::bigint as id from range({source_rows})"
"""
    )
    (root / "profiles.yml").write_text(
        f"""{name}:
  target: local
  outputs:
    local:
      type: duckdb
      path: "{{{{ env_var('DCF_WAREHOUSE_PATH') }}}}"
      schema: main
      threads: {threads}
"""
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.synthetic_dbt", description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--models", type=int, default=200)
    args = parser.parse_args(argv)
    project = write_project(args.root, args.models)
    print(f"wrote {len(project.models)} models, {project.tests} tests to {project.root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
