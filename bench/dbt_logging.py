"""What the live execution log costs: bare ``dbt build`` vs our dbt stage with full logging, in one run.

    uv run python -m bench.dbt_logging                     # N=200 models, 3 rounds
    uv run python -m bench.dbt_logging --models 1000 --variants bare,ours   # the N=1,000 figures (~15 min)
    uv run python -m bench.dbt_logging --task-per-node     # also: one Prefect task run per node (needs a server;
                                                           # uses PREFECT_API_URL or starts a local one)

On a synthetic project (:mod:`bench.synthetic_dbt`, chains + fan-ins, tests) against the local DuckDB default:

* bare      — ``dbtRunner().invoke(["build", ...])``: what ``dbt build`` costs (partial parsing on), same flags;
* ours      — :func:`dcf.build.runner.run_dbt_build` with ``log_to`` (JOB/MODEL rows, model executions, job
  run), from a cold manifest cache like a fresh flow process: a (partial) parse plus the build;
* ours/none — the same without ``log_to``: what the runner itself costs.

Rounds alternate bare and ours, in an order that flips every round; medians are printed with the ratio and
the statements sent to the control store by one logged build. Timings live here, never in tests.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.synthetic_dbt import SyntheticProject, write_project


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dbt_logging", description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--variants", default="bare,ours,ours/none",
                        help="comma-separated subset of bare, ours, ours/none (bare and ours are always measured)")
    parser.add_argument("--task-per-node", action="store_true", help="also measure one Prefect task run per node")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dcf-bench-") as tmp, ExitStack() as stack:
        os.environ["DCF_HOME"] = str(Path(tmp) / "home")
        os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        if args.task_per_node and not os.environ.get("PREFECT_API_URL"):
            stack.enter_context(_local_prefect_server(Path(tmp) / "prefect"))
        project = write_project(Path(tmp) / "project", args.models, threads=args.threads)
        print(f"synthetic project: {len(project.models)} models, {project.tests} tests, {args.threads} threads")
        results = _measure(project, args.rounds, args.task_per_node, set(args.variants.split(",")))
    _report(results)
    return 0


def _measure(project: SyntheticProject, rounds: int, task_per_node: bool, wanted: set[str]) -> dict[str, Any]:
    from dcf.build import runner
    from dcf.build.manifest import MANIFESTS
    from dcf.build.request import BuildRequest
    from dcf.paths import warehouse_path
    from dcf.store.connection import open_duckdb
    from dcf.store.dialect import Namespace
    from dcf.store.migrate import ensure_schema
    from runtime.build_observer import PrefectBuildObserver

    warehouse = warehouse_path()
    env = {"DCF_WAREHOUSE_PATH": str(warehouse)}
    conn = open_duckdb(warehouse, Namespace("DCF"))
    ensure_schema(conn)
    statements: list[int] = []

    def bare() -> None:
        _bare_build(project, env)

    def ours(log: bool = True, task_per_node: bool = False) -> None:
        MANIFESTS.clear()  # a stream run starts in a fresh process: parse (partially) again
        before = conn.statements
        request = BuildRequest(project_dir=project.root, profiles_dir=project.root, target="local", env=env)
        outcome = runner.run_dbt_build(request, log_to=conn if log else None,
                                       observer=PrefectBuildObserver(task_per_node=task_per_node))
        assert outcome.success, outcome.error
        if log:
            statements.append(conn.statements - before)

    variants: dict[str, Callable[[], None]] = {"bare": bare, "ours": ours}
    if "ours/none" in wanted:
        variants["ours/none"] = lambda: ours(log=False)
    if task_per_node:
        variants["ours/flow"] = _in_flow(lambda: ours())
        variants["ours/flow+tasks"] = _in_flow(lambda: ours(task_per_node=True))
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():  # warm-up: partial-parse files, DuckDB file, imports
        fn()
    statements.clear()
    for round_number in range(rounds):
        # the order flips every round: on a machine whose speed drifts, the variant run second in every
        # round would otherwise always get the slower moment (seen at N=1,000: bare 75 -> 118 s over a run)
        order = list(variants.items())
        for name, fn in order if round_number % 2 == 0 else reversed(order):
            started = time.perf_counter()
            fn()
            timings[name].append(time.perf_counter() - started)
    conn.close()
    return {"timings": timings, "statements": statements, "models": len(project.models)}


def _bare_build(project: SyntheticProject, env: dict[str, str]) -> None:
    """Plain ``dbt build`` in-process, with the flags our runner uses (minus callbacks and logging)."""
    from dbt.cli.main import dbtRunner

    from dcf.build.manifest import file_log_level as _file_log_level
    from dcf.build.profiles import dbt_environment as _environment
    from dcf.paths import dcf_home

    work = dcf_home() / "bare"
    with _environment(env):
        result = dbtRunner().invoke([
            "build", "--project-dir", str(project.root), "--profiles-dir", str(project.root), "--target", "local",
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
            "--log-level", os.environ.get("DBT_LOG_LEVEL", "info"), "--log-level-file", _file_log_level(),
        ])
    assert result.success, result.exception


def _in_flow(fn: Callable[[], None]) -> Callable[[], None]:
    from prefect import flow

    @flow(name="bench-dbt-logging")
    def bench_flow() -> None:
        fn()

    return lambda: bench_flow()


def _local_prefect_server(home: Path) -> Any:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from contextlib import contextmanager

    from tests.prefect_server import prefect_server

    @contextmanager
    def server() -> Any:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        with prefect_server(home) as api_url:
            os.environ["PREFECT_API_URL"] = api_url
            try:
                yield api_url
            finally:  # ship queued task-run events and logs before the server goes away
                EventsWorker.drain_all()
                APILogWorker.drain_all()

    return server()


def _report(results: dict[str, Any]) -> None:
    timings = {name: statistics.median(values) for name, values in results["timings"].items()}
    bare = timings["bare"]
    print(f"\n{'variant':<18}{'median s':>10}{'ratio':>8}   rounds")
    for name, value in timings.items():
        rounds = ", ".join(f"{v:.2f}" for v in results["timings"][name])
        print(f"{name:<18}{value:>10.2f}{value / bare:>8.3f}   [{rounds}]")
    statements = results["statements"]
    print(f"\nstatements to the control store per logged build (N={results['models']}): "
          f"{max(statements) if statements else 'n/a'} (all rounds: {statements})")
    print(f"logging overhead (ours / bare): {100 * (timings['ours'] / bare - 1):+.1f}%   (aim <= +10%)")
    # ru_maxrss is in KiB on Linux: the peak of this process, which ran every variant of every round
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the benchmark process (N={results['models']}): {peak:.0f} MiB   (aim < 1024 MiB at N=1,000)")
    if "ours/flow+tasks" in timings:
        print(f"one task run per node (ours/flow+tasks / bare): {timings['ours/flow+tasks'] / bare:.3f}"
              f" (vs ours/flow: {timings['ours/flow+tasks'] / timings['ours/flow']:.3f})")


if __name__ == "__main__":
    raise SystemExit(main())
