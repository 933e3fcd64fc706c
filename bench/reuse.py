"""What state-aware reuse saves: rebuild after a tenth of the sources changed, reuse on vs off, in one run.

    uv run python -m bench.reuse                        # N=200 models over 20 sources, 3 rounds
    uv run python -m bench.reuse --models 1000 --sources 50 --rounds 1

On a synthetic project (:mod:`bench.synthetic_dbt`, chains + fan-ins, tests) whose chains read
``--sources`` source tables (``raw.events_00`` ...) against the local DuckDB default, each round:

* reuse off  — a tenth of the sources change, then :func:`dcf.build.runner.run_dbt_build` without reuse:
  every node runs (what a stream costs today);
* fresh      — a build with reuse on right after it: nothing is reusable (another invocation wrote every
  relation since the records), so this is a full build plus the planning overhead;
* reuse on   — another tenth of the sources change, then a build with reuse on: only the changed sources'
  downstream closure runs;
* unchanged  — nothing changed, reuse on: everything is reused, dbt is not invoked.

Every build writes the execution log (reuse needs it). Medians are printed with the saving; timings live
here, never in tests. :func:`write_reuse_project`, :func:`create_sources` and :func:`change_sources` are
also the fixtures of ``tests/build/test_reuse.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bench.synthetic_dbt import SyntheticProject, write_project


@dataclass(frozen=True)
class ReuseProject:
    """A synthetic project whose chains read one of several sources."""

    synthetic: SyntheticProject
    #: source table name (events_00 ...) -> the chain-start models that read it
    sources: dict[str, list[str]]

    @property
    def root(self) -> Path:
        return self.synthetic.root

    def closure(self, source: str) -> set[str]:
        """Every model that reads ``source``, directly or not."""
        readers = set(self.sources[source])
        return readers.union(*(self.synthetic.downstream(m) for m in readers))


def write_reuse_project(root: Path, n_models: int = 200, n_sources: int = 20, **kwargs: Any) -> ReuseProject:
    """:func:`bench.synthetic_dbt.write_project`, then chain ``c`` reads ``raw.events_<c mod n_sources>``.

    The sources are not created by the project (no on-run-start hook): :func:`create_sources` makes them.
    """
    project = write_project(root, n_models, **kwargs)
    sources: dict[str, list[str]] = {f"events_{k:02d}": [] for k in range(n_sources)}
    for chain, model in enumerate(m for m in project.models if not project.parents[m]):
        name = f"events_{chain % n_sources:02d}"
        path = root / "models" / f"{model}.sql"
        path.write_text(path.read_text().replace("source('raw', 'events')", f"source('raw', '{name}')"))
        sources[name].append(model)
    schema = root / "models" / "schema.yml"
    tables = "".join(f"      - name: {name}\n" for name in sources)
    schema.write_text(schema.read_text().replace("      - name: events\n", tables))
    project_yml = root / "dbt_project.yml"
    text = project_yml.read_text()
    project_yml.write_text(text[: text.index("on-run-start:")])
    return ReuseProject(project, {name: models for name, models in sources.items() if models})


def create_sources(conn: Any, project: ReuseProject, *, rows: int = 100, process_date: date | None = None) -> None:
    """(Re)create every source table with ``rows`` rows (id, prcs_date) through a dcf.store.connection Connection."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for name in project.sources:
        conn.execute(f"CREATE OR REPLACE TABLE raw.{name} AS SELECT range::BIGINT AS id, "
                     "CAST(:d AS DATE) AS prcs_date FROM range(:n)", {"d": process_date or date(2024, 3, 1), "n": rows})


def change_sources(conn: Any, names: list[str]) -> None:
    """Add one row to each named source table: its whole downstream closure must rebuild."""
    for name in names:
        conn.execute(f"INSERT INTO raw.{name} SELECT MAX(id) + 1, ANY_VALUE(prcs_date) FROM raw.{name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reuse", description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dcf-bench-reuse-") as tmp:
        os.environ["DCF_HOME"] = str(Path(tmp) / "home")
        os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        os.environ.setdefault("DBT_LOG_LEVEL", "warn")  # dbt's per-node lines would bury the figures
        project = write_reuse_project(Path(tmp) / "project", args.models, args.sources, threads=args.threads)
        print(f"synthetic project: {len(project.synthetic.models)} models over {len(project.sources)} sources, "
              f"{project.synthetic.tests} tests, {args.threads} threads; a tenth of the sources change per build")
        results = _measure(project, args.rounds)
    _report(results)
    return 0


def _measure(project: ReuseProject, rounds: int) -> dict[str, Any]:
    from dcf.build.request import BuildRequest
    from dcf.build.runner import RunContext, run_dbt_build
    from dcf.paths import warehouse_path
    from dcf.store.connection import open_duckdb
    from dcf.store.dialect import Namespace
    from dcf.store.migrate import ensure_schema

    conn = open_duckdb(warehouse_path(), Namespace("DCF"))
    ensure_schema(conn)
    create_sources(conn, project)
    names = sorted(project.sources)
    per_change = max(1, len(names) // 10)
    timings: dict[str, list[float]] = {"reuse off": [], "fresh": [], "reuse on": [], "unchanged": []}
    built: dict[str, list[int]] = {name: [] for name in timings}

    def build(variant: str | None, *, reuse: bool) -> None:
        started = time.perf_counter()
        outcome = run_dbt_build(BuildRequest(project_dir=project.root, profiles_dir=project.root, target="local",
                                select=[], env={"DCF_WAREHOUSE_PATH": str(warehouse_path())},
                                context=RunContext(stream_name="BENCH_REUSE"), reuse=reuse), log_to=conn)
        elapsed = time.perf_counter() - started
        assert outcome.success, outcome.error
        if variant:
            timings[variant].append(elapsed)
            built[variant].append(outcome.counts["models_total"] - outcome.counts["models_reused"])

    build(None, reuse=False)  # warm-up: parse, tables, DuckDB file
    for round_ in range(rounds):
        change_sources(conn, [names[(2 * round_ * per_change + i) % len(names)] for i in range(per_change)])
        build("reuse off", reuse=False)
        build("fresh", reuse=True)
        change_sources(conn, [names[((2 * round_ + 1) * per_change + i) % len(names)] for i in range(per_change)])
        build("reuse on", reuse=True)
        build("unchanged", reuse=True)
    conn.close()
    return {"timings": timings, "built": built, "models": len(project.synthetic.models)}


def _report(results: dict[str, Any]) -> None:
    medians = {name: statistics.median(values) for name, values in results["timings"].items()}
    off = medians["reuse off"]
    print(f"\n{'build':<12}{'median s':>10}{'vs off':>8}{'models run':>12}   rounds: s (models run)")
    for name, value in medians.items():
        rounds = ", ".join(f"{v:.2f} ({n})" for v, n in zip(results["timings"][name], results["built"][name],
                                                             strict=True))
        run = statistics.median(results["built"][name])
        print(f"{name:<12}{value:>10.2f}{value / off:>8.3f}{run:>12.0f}   [{rounds}]")
    print(f"\nsaved by reuse when a tenth of the sources change: {off - medians['reuse on']:.2f} s per build "
          f"({100 * (1 - medians['reuse on'] / off):.0f}% of the wall time; N={results['models']})")
    print(f"planning overhead when nothing can be reused (fresh vs off): {medians['fresh'] - off:+.2f} s")


if __name__ == "__main__":
    raise SystemExit(main())
