"""What converting parallel jobs to dbt costs: a generated ISX of N parallel jobs, against reading it, in one run.

    uv run python -m bench.parallel_convert                  # 1,000 jobs, 3 rounds
    uv run python -m bench.parallel_convert --jobs 200 --rounds 1

The export is the corpus's ten parallel jobs (``tests/data/datastage-corpus/parallel``), each copied under
numbered names until there are N, as one ISX archive. Rounds alternate:

* baseline — :func:`dcf.datastage.containers.read_export`: every job read into its stage graph;
* convert  — the same read, then :func:`dcf.convert.job.convert_job` for each job and the dbt project written.

Medians are printed with the ratio, the time per job, the tiers, and the process's peak RSS (reading and
converting; the export is streamed entry by entry). Timings live here, never in tests.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

from dcf.convert.job import built_tables, convert_job
from dcf.convert.project import write_project
from dcf.datastage.containers import read_export
from dcf.datastage.model import DsJob
from dcf.paths import PROJECT_ROOT

CORPUS_ISX = PROJECT_ROOT / "tests" / "data" / "datastage-corpus" / "parallel" / "DEMO_DWH_parallel.isx"


def write_export(path: Path, jobs: int) -> None:
    """``jobs`` parallel jobs: the corpus's, renamed ``<JOB>_<n>`` (the name appears once per asset)."""
    with zipfile.ZipFile(CORPUS_ISX) as corpus:
        assets = [(entry, corpus.read(entry)) for entry in corpus.namelist() if entry.endswith(".pjb")]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as export:
        for number in range(jobs):
            entry, text = assets[number % len(assets)]
            name = Path(entry).stem
            renamed = f"{name}_{number:05d}"
            export.writestr(entry.replace(f"{name}.pjb", f"{renamed}.pjb"),
                            text.replace(f'"{name}"'.encode(), f'"{renamed}"'.encode()))


def _read(path: Path) -> tuple[float, list[DsJob]]:
    started = time.perf_counter()
    jobs = [job for job in read_export(path) if isinstance(job, DsJob)]
    return time.perf_counter() - started, jobs


def _convert(path: Path, out: Path) -> tuple[float, Counter]:
    started = time.perf_counter()
    jobs = [job for job in read_export(path) if isinstance(job, DsJob) and job.graph]
    built = built_tables(jobs)  # as the import does: a job reading another's target reads its model
    conversions = [convert_job(job, built_elsewhere=built) for job in jobs]
    write_project(conversions, out)
    elapsed = time.perf_counter() - started
    return elapsed, Counter(conversion.tier for conversion in conversions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parallel_convert", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "parallel.isx"
        write_export(export, args.jobs)
        megabytes = export.stat().st_size / 1e6
        read_times, convert_times, tiers, read_jobs = [], [], Counter(), 0
        for round_number in range(args.rounds):
            seconds, jobs = _read(export)
            read_times.append(seconds)
            read_jobs = len(jobs)
            del jobs
            seconds, tiers = _convert(export, Path(folder) / f"dbt{round_number}")
            convert_times.append(seconds)
    base, ours = statistics.median(read_times), statistics.median(convert_times)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"export: {megabytes:.1f} MB (ISX), {read_jobs} parallel jobs read")
    print(f"baseline (read every job into its stage graph): {base:.2f} s, {base / read_jobs * 1000:.1f} ms per job")
    print(f"convert (read, convert, write the dbt project): {ours:.2f} s = {ours / base:.2f}x baseline; "
          f"{ours / read_jobs * 1000:.1f} ms per job, {(ours - base) / read_jobs * 1000:.1f} ms per job beyond "
          "reading")
    print(f"jobs by tier: {', '.join(f'{tier} {count}' for tier, count in sorted(tiers.items()))}; "
          f"peak RSS {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
