"""The whole default job, whole-process: ``make run`` against a running server vs the bare ``dbt build`` CLI.

    uv run python -m bench.stream_run              # 3 alternating rounds, 5,000-row days
    uv run python -m bench.stream_run --rounds 5

In one temporary DCF_HOME: one warm-up ``python -m flows.run_local`` (creates the warehouse, first day), then
rounds that alternate

* stream — ``python -m flows.run_local`` for the next day, with PREFECT_API_URL pointing at a server this
  bench started once (what a user with ``make server`` running gets): landing file, every stage, the report;
* dbt    — the ``dbt build`` CLI on the same project, profile and warehouse for that day's data (what a user
  would run by hand: no control tables, no landing, no profile, no report);

then one ``make run``-equivalent without a server (it starts its own temporary one). Medians of the wall
times, the ratio, the run's own breakdown and its profile stage (the stage table's seconds). Timings live
here, never in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from dcf.paths import PROJECT_ROOT
from runtime.local_api import LocalApi

FIRST_DAY = date(2024, 3, 1)
PROJECT = PROJECT_ROOT / "dbt" / "gdw1"  # BCFINSG's project, with its own profiles.yml


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed ({result.returncode}):\n{result.stdout[-3000:]}"
                         f"{result.stderr[-3000:]}")
    return elapsed, result.stdout


def _stream(day: date, env: dict[str, str]) -> tuple[float, str]:
    return _timed([sys.executable, "-m", "flows.run_local", "--process-date", day.isoformat()], env)


def _dbt_build(day: date, home: Path, env: dict[str, str]) -> float:
    dbt = Path(sys.executable).with_name("dbt")
    dbt_vars = {"run_stream_process_date": day.isoformat(), "ods_batch_id": f"1490_{day:%Y%m%d}"}
    return _timed([str(dbt), "build", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
                   "--select", "tag:stream_bcfinsg", "--target-path", str(home / "bare-target"),
                   "--log-path", str(home / "bare-logs"), "--vars", json.dumps(dbt_vars), "--quiet"],
                  {**env, "DCF_WAREHOUSE_PATH": str(home / "warehouse.duckdb")})[0]


def _stage_seconds(output: str, stage: str) -> float:
    """A stage's seconds from the run's stage table (``profile     COMPLETED     0.78``)."""
    for line in output.splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == stage:
            return float(words[2])
    raise SystemExit(f"no {stage} stage in the run's output:\n{output[-2000:]}")


def _breakdown(output: str) -> str:
    return " / ".join(line.removeprefix("time: ") for line in output.splitlines() if line.startswith("time: "))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stream_run", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dcf-bench-stream-") as workdir:
        home = Path(workdir)
        base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        base.update(DCF_HOME=str(home), PYTHONPATH=str(PROJECT_ROOT), PREFECT_HOME=str(home / "prefect"),
                    DBT_SEND_ANONYMOUS_USAGE_STATS="false")
        os.environ.pop("PREFECT_API_URL", None)
        os.environ.update(PREFECT_HOME=base["PREFECT_HOME"])
        api = LocalApi.acquire()  # this bench's own server: PREFECT_API_URL is now set for it
        api.wait_ready()
        with_server = {**base, "PREFECT_API_URL": api.url}
        _stream(FIRST_DAY, with_server)  # warm-up: warehouse, seeds, first day
        streams, bares, profiles, last = [], [], [], ""
        for round_number in range(1, args.rounds + 1):
            day = FIRST_DAY + timedelta(days=round_number)
            seconds, last = _stream(day, with_server)
            streams.append(seconds)
            profiles.append(_stage_seconds(last, "profile"))
            bares.append(_dbt_build(day, home, base))
        api.stop()
        own_server, own_output = _stream(FIRST_DAY + timedelta(days=args.rounds + 1), base)
    stream, bare = statistics.median(streams), statistics.median(bares)
    print(f"whole default job, whole-process, median of {args.rounds} alternating rounds (5,000-row days)")
    print(f"  {'make run, server running':<36}{stream:>9.2f} s   ({_breakdown(last)})")
    print(f"  {'bare dbt build CLI':<36}{bare:>9.2f} s")
    print(f"  {'ratio stream / bare dbt build':<36}{stream / bare:>9.2f} x   (aim <= 1.30)")
    print(f"  {'profile stage of the default table':<36}{statistics.median(profiles):>9.2f} s   (aim <= 1.0 s; "
          f"rounds: {', '.join(f'{p:.2f}' for p in profiles)})")
    print(f"  {'make run, its own temporary server':<36}{own_server:>9.2f} s   (aim <= 25 s; "
          f"{_breakdown(own_output)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
