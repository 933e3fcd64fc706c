"""``make bench``: every benchmark in one go, figures only, and ``bench/RESULTS.md`` with the date and machine.

    uv run python -m bench.all            # writes bench/RESULTS.md
    uv run python -m bench.all --quick    # one round each (a smoke run of the benches themselves)
    uv run python -m bench.all --large    # also the N=1,000 build (ratio, statements, peak RSS)

Each benchmark runs in its own process (a fresh interpreter, as a flow run gets) and prints its own figures:
ratios against a baseline measured in the same run. Their output is collected as it is; a benchmark that
fails is reported with its last lines and the others still run. Timings live here, never in tests.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from dcf.paths import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "RESULTS.md"

#: (title, module arguments, quick arguments). Five rounds where one costs seconds: on a shared 2-core machine a
#: single N=200 build varied by 30 % within one run, enough to move a median of three across the aim.
BENCHES: list[tuple[str, list[str], list[str]]] = [
    ("parallel run: compare vs EXCEPT ALL and a full compare of every column, 10M rows",
     ["bench.parallel_run", "--rows", "10000000", "--repeat", "3"], ["bench.parallel_run", "--rows", "200000",
                                                                       "--repeat", "1"]),
    ("dbt stage with full logging vs bare dbt build, N=200",
     ["bench.dbt_logging", "--models", "200", "--rounds", "5", "--variants", "bare,ours"],
     ["bench.dbt_logging", "--models", "50", "--rounds", "1"]),
    ("profile vs one hand-written SELECT and SUMMARIZE, 1M rows",
     ["bench.profiling", "--rows", "1000000", "--repeat", "5"], ["bench.profiling", "--rows", "100000",
                                                                 "--repeat", "1"]),
    ("profile vs one hand-written SELECT and SUMMARIZE, 10M rows",
     ["bench.profiling", "--rows", "10000000", "--repeat", "3"], ["bench.profiling", "--rows", "200000",
                                                                  "--repeat", "1"]),
    ("whole default job vs the bare dbt build CLI",
     ["bench.stream_run", "--rounds", "3"], ["bench.stream_run", "--rounds", "1"]),
    ("DataStage import",
     ["bench.datastage_import", "--rounds", "1"], ["bench.datastage_import", "--sequences", "20",
                                                   "--parallel-jobs", "20", "--rounds", "1"]),
    ("parallel jobs → dbt models, 1,000 jobs",
     ["bench.parallel_convert", "--jobs", "1000", "--rounds", "3"], ["bench.parallel_convert", "--jobs", "50",
                                                                      "--rounds", "1"]),
]
#: ``--large``: the N=1,000 build, 3 rounds (~16 min here on its own: dbt takes ~110 s per build of 1,000 models
#: on 2 cores, so it cannot fit in the default run's 10 minutes).
LARGE: list[tuple[str, list[str], list[str]]] = [
    ("dbt stage with full logging vs bare dbt build, N=1,000",
     ["bench.dbt_logging", "--models", "1000", "--rounds", "3", "--variants", "bare,ours"],
     ["bench.dbt_logging", "--models", "100", "--rounds", "1"]),
]


def machine() -> str:
    memory = ""
    try:
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:"))
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    return f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def run_one(arguments: list[str]) -> tuple[bool, float, str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", *arguments], cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True, timeout=1800)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        return False, seconds, "\n".join(["FAILED", *tail])
    return True, seconds, result.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small round of each (checks the benches run)")
    parser.add_argument("--large", action="store_true", help="also the N=1,000 dbt build (~16 min more)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sections, failed = [], 0
    for title, full, quick in BENCHES + (LARGE if args.large else []):
        arguments = quick if args.quick else full
        print(f"== {title} ({' '.join(arguments)}) ...", flush=True)
        ok, seconds, output = run_one(arguments)
        failed += not ok
        print(output, f"   [{seconds:.0f} s]", sep="\n", flush=True)
        sections.append(f"## {title}\n\n`python -m {' '.join(arguments)}` ({seconds:.0f} s)\n\n```\n{output}\n```\n")
    total = time.perf_counter() - started
    flags = "".join(f" --{name}" for name in ("quick", "large") if getattr(args, name))
    header = (f"# Benchmark results\n\n{datetime.now():%Y-%m-%d %H:%M}, {machine()}; `python -m bench.all{flags}` "
              f"took {total / 60:.1f} min. Each figure is from one run of its benchmark; ratios compare with a "
              "baseline measured in the same run.\n")
    args.out.write_text("\n".join([header, *sections]))
    print(f"wrote {args.out} ({total / 60:.1f} min)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
