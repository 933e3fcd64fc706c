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
from typing import Any

from prefect import flow
from prefect.states import Completed, Failed, State

from dcf.convert.rate import conversion_counts, totals_line
from dcf.datastage.importer import ImportResult, import_exports
from dcf.datastage.mapping import JobMap
from dcf.errors import ConfigError
from dcf.stream.yaml_source import read_yaml
from flows.parameters import run_form
from runtime.process_exit import exit_process


def _yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """A YAML file that must hold a mapping; ``what`` says what one looks like in the one-line error."""
    data = read_yaml(path).data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: {what}")
    return {str(key): value for key, value in data.items()}


def load_job_map(path: Path | None) -> JobMap:
    if path is None:
        return JobMap()
    return JobMap(_yaml_mapping(path, "a job map is a mapping of job name (or glob) to a dbt selector or "
                                      "{stream: …} or {operation: …}"))


#: The largest report published whole as an artifact (the UI renders it in one page); the file has it all.
ARTIFACT_LIMIT = 400_000


def artifact_markdown(report: str, path: Path, limit: int = ARTIFACT_LIMIT) -> str:
    """``report`` as the artifact shows it: whole, or cut at the last section that fits, saying where the rest
    is (a large project's per-job detail runs to megabytes)."""
    if len(report) <= limit:
        return report
    cut = report.rfind("\n### ", 0, limit)
    cut = cut if cut > 0 else report.rfind("\n", 0, limit)
    return (report[:cut] + f"\n\n**The report goes on for {len(report) - cut:,} more characters (the detail of the "
            f"remaining jobs and sequences): see {path}.**\n")


def load_dbt_vars(path: str | None) -> dict[str, str] | None:
    """``--dbt-vars FILE``: a mapping of var name to value."""
    if path is None:
        return None
    mapping = _yaml_mapping(Path(path), "dbt vars are a mapping of var name to value (PS_DWH.SCHEMA: DWH)")
    return {key: str(value) for key, value in mapping.items()}


def _run_name() -> str:
    """``import-<first export's name>`` (``+N`` when there are more), not a generated name."""
    from prefect.runtime import flow_run

    exports = list(flow_run.parameters.get("exports") or [])
    first = Path(str(exports[0])).stem if exports else "nothing"
    return f"import-{first}" + (f"+{len(exports) - 1}" if len(exports) > 1 else "")


@run_form
@flow(name="import-datastage", flow_run_name=_run_name)
def import_datastage(exports: list[str], out: str, job_map: str | None = None, stream_id_start: int = 5000,
                     dbt_project_dir: str | None = None, validate_streams: bool = True,
                     dbt_out: str | None = None, dbt_vars: dict[str, str] | None = None) -> State:
    """Import exports into ``out``; the report goes to DIR/migration_report.md and a markdown artifact.

    Args:
        exports: Export files (ISX archives, XML exports, DSX files), recognised by content.
        out: Folder for the stream YAMLs and the report.
        job_map: YAML file: job name or glob -> dbt selector or {stream: NAME}.
        stream_id_start: First stream id to allocate (in the order of the sorted stream names).
        dbt_project_dir: The dbt project the imported streams build; empty: dbt_out when converting, else
            dbt/gdw1.
        validate_streams: VALIDATE every written stream (dbt selections, executables, blocks) for the report.
        dbt_out: Folder for the parallel jobs converted to dbt models (a dbt project, or models/datastage/ of
            the project already there); empty: parallel jobs are not converted.
        dbt_vars: Values of the converted project's vars (the schemas its sources read, e.g.
            {"PS_DWH.SCHEMA": "DWH"}), written into its dbt_project.yml.
    """
    from prefect import get_run_logger
    from prefect.artifacts import create_markdown_artifact

    try:
        result = _import(exports, out, job_map, stream_id_start, dbt_project_dir, validate=validate_streams,
                         dbt_out=dbt_out, dbt_vars=dbt_vars)
    except ConfigError as error:
        return Failed(message=str(error))
    report = Path(out) / "migration_report.md"
    create_markdown_artifact(markdown=artifact_markdown(report.read_text(encoding="utf-8"), report),
                             key="datastage-migration-report", description="DataStage import")
    logger = get_run_logger()
    for problem in result.problems:
        logger.warning("problem: %s", problem)
    summary = summary_lines(result, out, dbt_out)
    for line in summary:
        logger.info("%s", line)
    counts: dict[str, Any] = {"streams_written": len(result.written),
                              "parameter_sets_written": len(result.parameter_sets), "problems": len(result.problems)}
    if result.conversions:
        counts["parallel_jobs"] = conversion_counts(result.conversions)
    failure = unusable(result)
    if failure:
        return Failed(message=failure, data=counts)
    return Completed(message="; ".join(summary), data=counts)


def summary_lines(result: ImportResult, out: str, dbt_out: str | None) -> list[str]:
    """What an import wrote, as the CLI prints it, the flow logs it and ends its run with."""
    attention = sum(1 for e in result.entries if e.status == "needs attention")
    sets = f" and {len(result.parameter_sets)} parameter set(s)" if result.parameter_sets else ""
    lines = [f"{len(result.written)} stream YAML(s){sets} written to {out}; {attention} item(s) need attention; "
             f"report: {Path(out) / 'migration_report.md'}"]
    validated = [s["validate"] for s in result.sequences.values() if s.get("validate") is not None]
    if validated:
        lines.append(f"VALIDATE: {sum(1 for problems in validated if not problems)} of {len(result.written)} "
                     f"stream(s) pass ({sum(len(problems) for problems in validated)} problem(s), listed in the "
                     "report)")
    if result.conversions:
        lines.append(f"converted into {dbt_out}: {totals_line(conversion_counts(result.conversions))}")
    return lines


def unusable(result: ImportResult) -> str | None:
    """Why the import's output cannot be used (a written stream that does not load, nothing imported), or None."""
    if result.not_loading or not (result.written or result.conversions):
        return (f"{len(result.not_loading)} of {len(result.written)} stream YAML(s) do not load: "
                f"{', '.join(result.not_loading) or 'no sequence was imported'}")
    return None


def _import(exports: list[str], out: str, job_map: str | None, stream_id_start: int,
            dbt_project_dir: str | None, *, validate: bool = True, dbt_out: str | None = None,
            dbt_vars: dict[str, str] | None = None) -> ImportResult:
    return import_exports([Path(e) for e in exports], out=Path(out), job_map=load_job_map(Path(job_map) if job_map
                                                                                        else None),
                          stream_id_start=stream_id_start, dbt_project_dir=dbt_project_dir,
                          validator=_validator(Path(out)) if validate else None,
                          dbt_out=Path(dbt_out) if dbt_out else None, dbt_vars=dbt_vars)


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
    parser.add_argument("--dbt-project-dir", help="the dbt project the streams build (default: --dbt-out when "
                        "converting, else dbt/gdw1)")
    parser.add_argument("--dbt-out", metavar="DIR", help="convert the parallel jobs into dbt models in DIR")
    parser.add_argument("--dbt-vars", metavar="FILE", help="YAML: values of the converted project's vars "
                        "(the schemas its sources read, e.g. PS_DWH.SCHEMA: DWH)")
    parser.add_argument("--no-validate", action="store_true",
                        help="skip VALIDATE of the written streams (dbt selections, executables, blocks)")
    args = parser.parse_args(argv)
    try:
        result = _import(args.exports, args.out, args.job_map, args.stream_id_start, args.dbt_project_dir,
                         validate=not args.no_validate, dbt_out=args.dbt_out, dbt_vars=load_dbt_vars(args.dbt_vars))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for problem in result.problems:
        print(f"problem: {problem}", file=sys.stderr)
    for line in summary_lines(result, args.out, args.dbt_out):
        print(line)
    failure = unusable(result)
    if failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    return 0

if __name__ == "__main__":
    exit_process(main())
