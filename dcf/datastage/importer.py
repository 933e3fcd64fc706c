"""Import DataStage exports: stream YAMLs, one per sequence, and the migration report, into one folder.

    result = import_exports([Path("project.isx")], out=Path("imported"), job_map=JobMap({"PxLoad*": "tag:load"}))
    result.written      # the stream YAMLs
    result.parameter_sets  # one shared YAML per parameter set, in imported/parameter_sets/
    result.problems     # what could not be read or imported: one line each, naming the file (and the job)

Stream names are the job names as identifiers (upper case); ids are allocated from ``stream_id_start`` in
the order of the sorted names, so a re-import of the same export writes byte-identical files. Two sequences
whose derived names collide: the first (by name) is imported, the other reported.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dcf.convert.job import JobConversion, built_tables, convert_job
from dcf.convert.project import write_project
from dcf.convert.rate import conversion_counts, conversion_markdown
from dcf.datastage.containers import read_export
from dcf.datastage.job_control import check_job_control
from dcf.datastage.job_parameters import parameter_set_file
from dcf.datastage.mapping import Context, Entry, JobMap, map_sequence
from dcf.datastage.migration_report import report_markdown, stream_edges, stream_graph
from dcf.datastage.model import DsJob, ReadProblem, identifier_of
from dcf.errors import ConfigError
from dcf.stream.definition import parse_stream_file
from dcf.stream.parameter_sets import PARAMETER_SETS_DIR


@dataclass
class ImportResult:
    written: list[Path] = field(default_factory=list)
    #: The shared parameter set YAMLs (``parameter_sets/<name>.yaml``).
    parameter_sets: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    sequences: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Every job read, by kind (sequence, parallel, server, parameter_set, other).
    jobs: dict[str, int] = field(default_factory=dict)
    #: Prefect Secret blocks the imported streams and sets read: block name -> what it holds.
    secret_blocks: dict[str, str] = field(default_factory=dict)
    #: The stream files that do not load (the import's output cannot be used as it is).
    not_loading: list[str] = field(default_factory=list)
    #: The parallel jobs converted to dbt models (with ``dbt_out``).
    conversions: list[JobConversion] = field(default_factory=list)


def read_jobs(exports: list[Path], result: ImportResult) -> list[DsJob]:
    jobs = []
    for export in exports:
        for item in read_export(export):
            if isinstance(item, ReadProblem):
                result.problems.append(f"{item.source}: {item.message}")
                continue
            result.jobs[item.kind] = result.jobs.get(item.kind, 0) + 1
            if item.job_control:
                result.problems.append(f"{item.source}: job {item.name}: a {item.kind} job whose job-control BASIC "
                                       "runs other jobs (DSRunJob): a sequence in all but name; needs attention, "
                                       "not imported")
            result.problems += [f"{item.source}: job {item.name}: {problem}" for problem in item.problems]
            jobs.append(item)
    return jobs


#: VALIDATE of one written stream file: its problems, one line each (the flow passes the stream flow's own).
Validator = Callable[[Path], list[str]]


def import_exports(exports: list[Path], *, out: Path, job_map: JobMap | None = None, stream_id_start: int = 5000,
                   dbt_project_dir: str | None = None, validator: Validator | None = None,
                   dbt_out: Path | None = None, dbt_vars: dict[str, str] | None = None) -> ImportResult:
    """Read every export, write one stream YAML per sequence into ``out`` and the report beside them;
    ``validator``: VALIDATE each stream that loads (once all are written: a child is found beside its parent).
    ``dbt_out``: convert the parallel jobs into dbt models there first; the job activities that run them select
    the generated models, and the streams build that project unless ``dbt_project_dir`` names another;
    ``dbt_vars``: values of the generated project's vars (the parameter-set members its sources read, say)."""
    result = ImportResult()
    jobs = read_jobs(exports, result)
    sequences = _named(sorted((j for j in jobs if j.kind == "sequence"), key=lambda j: j.name), result)
    out.mkdir(parents=True, exist_ok=True)
    if dbt_out is not None:
        result.conversions = _convert(jobs, dbt_out, out, job_map or JobMap(), dbt_vars)
    context = _context(jobs, sequences, result.conversions, job_map or JobMap(),
                       dbt_project_dir or (str(dbt_out) if dbt_out is not None else "dbt/gdw1"))
    _write_parameter_sets([j for j in jobs if j.kind == "parameter_set"], out, result)
    for number, (name, job) in enumerate(sorted(sequences.items())):
        if not job.activities:
            result.problems.append(f"{job.source}: job {job.name}: a sequence without activities; not imported")
            continue
        try:
            mapped = map_sequence(job, context, stream_name=name, stream_id=stream_id_start + number)
        except Exception as error:
            result.problems.append(f"{job.source}: job {job.name}: not imported: {type(error).__name__}: {error}")
            continue
        path = out / f"{name.lower()}.yaml"
        text = yaml.dump(mapped.stream, Dumper=_PlainDumper, sort_keys=False, width=110, allow_unicode=True)
        path.write_text(_header(job) + text, encoding="utf-8")
        result.written.append(path)
        result.secret_blocks.update(mapped.secret_blocks)
        try:  # what the importer writes must load as a stream; if not, say so beside the file
            parse_stream_file(path)
            loads = True
        except ConfigError as error:
            loads = False
            result.not_loading.append(path.name)
            result.problems.append(f"{job.source}: job {job.name}: {path.name} does not load: {error}")
        result.entries += mapped.entries
        witness = check_job_control(job)
        result.entries += [Entry(job.name, "job control", "compiled job control", "jobControlCode", "needs attention",
                                 line) for line in witness]
        result.sequences[job.name] = {"stream": name, "file": path.name, "source": _shown(job.source),
                                      "folder": job.folder, "jobs_called": mapped.jobs_called,
                                      "graph": stream_graph(mapped.stream), "edges": stream_edges(mapped.stream),
                                      "loads": loads, "job_control_disagreements": len(witness),
                                      "activities": len(job.activities), "triggers": len(job.links)}
    if validator is not None:
        _validate_written(result, validator)
    (out / "migration_report.json").write_text(json.dumps(_report_json(result), indent=2, sort_keys=True) + "\n",
                                               encoding="utf-8")
    report = report_markdown(result.sequences, result.entries, result.problems, result.secret_blocks)
    if dbt_out is not None:
        report += "\n" + "\n".join(conversion_markdown(result.conversions))
    (out / "migration_report.md").write_text(report, encoding="utf-8")
    return result


def _context(jobs: list[DsJob], sequences: dict[str, DsJob], conversions: list[JobConversion], job_map: JobMap,
             dbt_project_dir: str) -> Context:
    """What mapping a sequence may look up: the other sequences, parameter sets, jobs and their conversions."""
    return Context(streams={job.name: name for name, job in sequences.items()}, job_map=job_map,
                   dbt_project_dir=dbt_project_dir,
                   parameter_sets={j.name: j.parameters for j in jobs if j.kind == "parameter_set"},
                   converted={c.job: c.tier for c in conversions},
                   operations={c.job: c.operations[0].name for c in conversions if c.operations},
                   job_parameters={j.name: [p.name for p in j.parameters] for j in jobs
                                   if j.kind in ("parallel", "server")})


#: Written beside the streams when parallel jobs are converted: what each job activity selects.
JOB_MAP_FILE = "job_map.yaml"


def _convert(jobs: list[DsJob], dbt_out: Path, out: Path, job_map: JobMap,
             dbt_vars: dict[str, str] | None) -> list[JobConversion]:
    """The parallel jobs as dbt models in ``dbt_out``, and the job map that selects them (``out/job_map.yaml``;
    the given map's own entries are kept and win)."""
    parallel = [job for job in jobs if job.kind == "parallel" and job.graph is not None]
    built = built_tables(parallel)  # a job reading another's target reads its model
    conversions = [convert_job(job, built_elsewhere=built) for job in parallel]
    write_project(conversions, dbt_out, variables=dbt_vars)
    entries = {c.job: c.job_map_entry for c in conversions if job_map.lookup(c.job) is None}
    header = ("# Written by the DataStage import: each converted parallel job -> the tag its generated models\n"
              "# carry, or the operation it became (plus the entries of the job map it was given). Edit and pass\n"
              "# it back with --job-map.\n")
    (out / JOB_MAP_FILE).write_text(header + yaml.safe_dump({**job_map.entries, **entries}, sort_keys=False),
                                    encoding="utf-8")
    return conversions


def _validate_written(result: ImportResult, validator: Validator) -> None:
    """Each loading stream's VALIDATE problems, in ``sequences[…]["validate"]`` (None: not validated)."""
    folder = {Path(p).name: Path(p) for p in result.written}
    for sequence in result.sequences.values():
        if sequence["loads"]:
            try:
                sequence["validate"] = validator(folder[sequence["file"]])
            except Exception as error:  # VALIDATE itself broke: say so instead of a verdict
                sequence["validate"] = [f"VALIDATE could not run: {type(error).__name__}: {error}"]


def _write_parameter_sets(sets: list[DsJob], out: Path, result: ImportResult) -> None:
    """One shared YAML per parameter set, in ``out/parameter_sets/`` where the streams look for it."""
    folder = out / PARAMETER_SETS_DIR
    if sets:
        folder.mkdir(exist_ok=True)
    for job in sorted({j.name: j for j in reversed(sets)}.values(), key=lambda j: j.name):  # first of a name
        path = folder / f"{identifier_of(job.name)}.yaml"
        text = yaml.dump(parameter_set_file(job.name, job.parameters, result.secret_blocks), Dumper=_PlainDumper,
                         sort_keys=False, width=110, allow_unicode=True)
        header = (f"# Imported from DataStage: parameter set {job.name}\n# export: {_shown(job.source)}\n"
                  f"# folder: {job.folder or '(none)'}\n\n")
        path.write_text(header + text, encoding="utf-8")
        result.parameter_sets.append(path)


def _named(jobs: list[DsJob], result: ImportResult) -> dict[str, DsJob]:
    """Stream name -> job; a job whose derived name is taken, or is not its own name, is reported."""
    named: dict[str, DsJob] = {}
    for job in jobs:
        name = identifier_of(job.name, upper=True)
        if name in named:
            result.problems.append(f"{job.source}: job {job.name}: its stream name {name} collides with job "
                                   f"{named[name].name}; not imported (rename one of them)")
            continue
        if name != job.name.upper():
            result.problems.append(f"{job.source}: job {job.name}: not a valid identifier; imported as stream {name}")
        named[name] = job
    return named


class _PlainDumper(yaml.SafeDumper):
    """Repeated values written out again, never as YAML anchors and aliases (a person reads these files)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _shown(source: str) -> str:
    """An export as a file name (and, in an ISX, the asset's folder), never a host or an absolute path."""
    export, _, entry = source.partition("!")
    return Path(export).name + (f" ({'/'.join(Path(entry).parts[2:])})" if entry else "")


def _header(job: DsJob) -> str:
    return (f"# Imported from DataStage: sequence {job.name}\n# export: {Path(job.source.partition('!')[0]).name}\n"
            f"# folder: {job.folder or '(none)'}\n# See migration_report.md for what needs attention.\n\n")


def _report_json(result: ImportResult) -> dict[str, Any]:
    totals: dict[str, dict[str, int]] = {}
    for entry in result.entries:
        per = totals.setdefault(entry.sequence, {})
        key = {"activity": "activities", "trigger": "triggers"}.get(entry.what, "parameter_sets")
        per[key] = per.get(key, 0) + 1
        per[entry.status] = per.get(entry.status, 0) + 1
    overall: dict[str, int] = {}
    for per in totals.values():
        for key, value in per.items():
            overall[key] = overall.get(key, 0) + value
    return {"sequences": result.sequences, "counts": {"per_sequence": totals, "total": overall},
            "parallel_jobs": conversion_counts(result.conversions),
            "jobs_read": result.jobs, "entries": [asdict(e) for e in result.entries], "problems": result.problems}
