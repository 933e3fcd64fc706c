"""Import DataStage sequence exports (ISX, XML, DSX) as stream YAMLs, with a migration report.

    python -m flows.import_datastage EXPORT [EXPORT ...] --out DIR [--job-map FILE] [--stream-id-start N]
    make import-datastage EXPORT=project.isx OUT=imported [JOB_MAP=job_map.yaml]

Also a Prefect flow (``import-datastage``) that publishes the report as a markdown artifact. The job map is a
YAML mapping: DataStage job name or glob -> dbt selector (or a list), or ``{stream: NAME}``; ``notify`` names
the Prefect notification block that mail activities use.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from prefect import flow

from dcf.convert.rate import conversion_counts
from dcf.datastage.importer import ImportResult, import_exports
from dcf.datastage.mapping import JobMap
from dcf.errors import ConfigError
from dcf.stream.yaml_source import read_yaml
from flows.parameters import run_form
from runtime.process_exit import exit_process


def load_job_map(path: Path | None) -> JobMap:
    if path is None:
        return JobMap()
    data = read_yaml(path).data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a job map is a mapping of job name (or glob) to a dbt selector or {{stream: …}}")
    return JobMap({str(key): value for key, value in data.items()})


@run_form
@flow(name="import-datastage")
def import_datastage(exports: list[str], out: str, job_map: str | None = None, stream_id_start: int = 5000,
                     dbt_project_dir: str = "dbt/gdw1", validate_streams: bool = True,
                     dbt_out: str | None = None) -> dict[str, int]:
    """Import exports into ``out``; the report goes to DIR/migration_report.md and a markdown artifact.

    Args:
        exports: Export files (ISX archives, XML exports, DSX files), recognised by content.
        out: Folder for the stream YAMLs and the report.
        job_map: YAML file: job name or glob -> dbt selector or {stream: NAME}.
        stream_id_start: First stream id to allocate (in the order of the sorted stream names).
        dbt_project_dir: The dbt project the imported streams build.
        validate_streams: VALIDATE every written stream (dbt selections, executables, blocks) for the report.
        dbt_out: Folder for the parallel jobs converted to dbt models (a dbt project, or models/datastage/ of
            the project already there); empty: parallel jobs are not converted.
    """
    from prefect.artifacts import create_markdown_artifact

    result = _import(exports, out, job_map, stream_id_start, dbt_project_dir, validate=validate_streams,
                     dbt_out=dbt_out)
    create_markdown_artifact(markdown=(Path(out) / "migration_report.md").read_text(encoding="utf-8"),
                             key="datastage-migration-report", description="DataStage import")
    return {"streams_written": len(result.written), "parameter_sets_written": len(result.parameter_sets),
            "problems": len(result.problems)}


def _import(exports: list[str], out: str, job_map: str | None, stream_id_start: int,
            dbt_project_dir: str, *, validate: bool = True, dbt_out: str | None = None) -> ImportResult:
    return import_exports([Path(e) for e in exports], out=Path(out), job_map=load_job_map(Path(job_map) if job_map
                                                                                        else None),
                          stream_id_start=stream_id_start, dbt_project_dir=dbt_project_dir,
                          validator=_validator(Path(out)) if validate else None,
                          dbt_out=Path(dbt_out) if dbt_out else None)


def _validator(out: Path) -> Callable[[Path], list[str]]:
    """The stream flow's own VALIDATE checks for a written stream, its child streams looked up in ``out``."""
    from dcf.stream.yaml_source import shown_path
    from tasks.dry_run import stream_problems

    def problems(path: Path) -> list[str]:
        previous = os.environ.get("DCF_STREAMS_DIR")
        os.environ["DCF_STREAMS_DIR"] = str(out)  # where the imported children are
        try:  # the report names files by name only (no host path in it)
            return [line.replace(f"{shown_path(path)}: ", f"{path.name}: ", 1) for line in stream_problems(path)[1]]
        finally:
            if previous is None:
                os.environ.pop("DCF_STREAMS_DIR")
            else:
                os.environ["DCF_STREAMS_DIR"] = previous

    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.import_datastage", description=__doc__.splitlines()[0])
    parser.add_argument("exports", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--job-map")
    parser.add_argument("--stream-id-start", type=int, default=5000)
    parser.add_argument("--dbt-project-dir", default="dbt/gdw1")
    parser.add_argument("--dbt-out", metavar="DIR", help="convert the parallel jobs into dbt models in DIR")
    parser.add_argument("--no-validate", action="store_true",
                        help="skip VALIDATE of the written streams (dbt selections, executables, blocks)")
    args = parser.parse_args(argv)
    try:
        result = _import(args.exports, args.out, args.job_map, args.stream_id_start, args.dbt_project_dir,
                         validate=not args.no_validate, dbt_out=args.dbt_out)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for problem in result.problems:
        print(f"problem: {problem}", file=sys.stderr)
    attention = sum(1 for e in result.entries if e.status == "needs attention")
    validated = [s["validate"] for s in result.sequences.values() if s.get("validate") is not None]
    if validated:
        print(f"VALIDATE: {sum(1 for problems in validated if not problems)} of {len(result.written)} stream(s) pass "
              f"({sum(len(problems) for problems in validated)} problem(s), listed in the report)")
    sets = f" and {len(result.parameter_sets)} parameter set(s)" if result.parameter_sets else ""
    print(f"{len(result.written)} stream YAML(s){sets} written to {args.out}; {attention} item(s) need attention; "
          f"report: {Path(args.out) / 'migration_report.md'}")
    if result.conversions:
        counts = conversion_counts(result.conversions)
        print(f"{counts['jobs']} parallel job(s) converted into {args.dbt_out} ({counts['jobs_converted_whole']} "
              f"whole); stages: {counts['AUTO']} AUTO, {counts['SEMI']} SEMI, {counts['MANUAL']} MANUAL")
    if result.not_loading or not (result.written or result.conversions):
        print(f"error: {len(result.not_loading)} of {len(result.written)} stream YAML(s) do not load: "
              f"{', '.join(result.not_loading) or 'no sequence was imported'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    exit_process(main())
