"""Text DSX exports, read as a stream of lines (a 50 MB file of parallel-job OSH never sits in memory whole).

A DSX file is ``BEGIN HEADER … END HEADER`` then ``BEGIN DSJOB … END DSJOB`` blocks of ``BEGIN DSRECORD``
records (with ``BEGIN DSSUBRECORD`` inside). Lines are ``Key "value"``; a multi-line value opens and closes
with ``=+=+=+=``. Sequences and parallel jobs are kept in full (their generated OSH and transformer code are
not: those are the large part); of other jobs the name and type are enough, so their records are skipped as
they stream by. Other sections (DSEXECJOB, DSBPSOURCE, DSTABLEDEFS, …) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dcf.datastage.model import JOB_KINDS, DsActivity, DsJob, DsLink, DsParameter, ReadProblem
from dcf.datastage.px_dsx import read_graph_records

_FIELD = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s+"(.*)"\s*$')
_MULTILINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+=\+=\+=\+=(.*)$")
_MARK = "=+=+=+="
#: A multi-line value longer than this is cut (a job's OSH, its BASIC): sequences need none of it whole.
MAX_VALUE = 1_000_000


#: ROOT JobType of the jobs kept whole: 2 sequence, 3 parallel.
_KEPT = ("2", "3")
#: Generated code of a parallel job (OSH, the transformer's C++): never read, not kept.
_GENERATED = {"OrchestrateCode", "TrxGenCode"}

_ESCAPE = re.compile(r'\\(?:(["\\])|\((\d{1,3})\))')
#: DSX ParamType codes -> XMI extendedType (0 string, 2 integer and 6 date need none).
PARAM_TYPES = {"1": "Encrypted", "4": "Pathname", "5": "Stringlist", "13": "Parameterset"}


def _unescape(value: str) -> str:
    """A quoted DSX value: ``\\"`` and ``\\\\`` escape themselves, ``\\(9)`` is the character of that code."""
    return _ESCAPE.sub(lambda m: m.group(1) or chr(int(m.group(2))), value)


class _Job:
    """The job being read: its records, kept only while the job may still be a sequence."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.identifier = ""
        self.records: list[dict[str, Any]] = []
        self.keep = True


def read_dsx(path: Path) -> Iterator[DsJob | ReadProblem]:
    """Every job of a DSX file (sequences in full), then a problem if the file ends inside a block."""
    reader = _Reader(str(path))
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, raw in enumerate(lines, start=1):
            try:
                done = reader.line(number, raw.rstrip("\r\n"))
            except _Broken as broken:
                yield ReadProblem(str(path), str(broken))
                return
            if done is not None:
                yield done
    if reader.section or reader.multiline is not None:
        job = reader.job
        where = f"DSJOB {job.identifier or '?'} (from line {job.line})" if job else f"a {reader.section[-1]} block"
        yield ReadProblem(str(path), f"the file ends inside {where}: unterminated record; that job is not imported")


class _Broken(Exception):
    pass


class _Reader:
    """The state of one pass over a DSX file: the block we are in, the record being filled."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.job: _Job | None = None
        self.stack: list[dict[str, Any]] = []
        self.section: list[str] = []
        self.multiline: tuple[dict[str, Any] | None, str, list[str], int] | None = None
        self.project = ""

    def line(self, number: int, line: str) -> DsJob | None:
        if self.multiline is not None:
            self._continue_value(line)
            return None
        stripped = line.strip()
        if stripped.startswith("BEGIN "):
            self._begin(stripped[6:].strip(), number)
        elif stripped.startswith("END "):
            return self._end(stripped[4:].strip(), number)
        else:
            self._field(line)
        return None

    def _begin(self, kind: str, number: int) -> None:
        self.section.append(kind)
        if kind == "DSJOB" and len(self.section) == 1:
            self.job, self.stack = _Job(number), []
        elif kind in ("DSRECORD", "DSSUBRECORD") and self.job is not None:
            record: dict[str, Any] = {"_sub": []}
            if kind == "DSSUBRECORD" and self.stack:
                # the collection it belongs to: the field just before it (Parameters "CParameters")
                record["_in"] = self.stack[-1].get("_last", "")
                self.stack[-1]["_sub"].append(record)
            elif kind == "DSRECORD" and self.job.keep:
                self.job.records.append(record)
            self.stack.append(record)

    def _end(self, kind: str, number: int) -> DsJob | None:
        if not self.section or self.section[-1] != kind:
            raise _Broken(f"line {number}: END {kind} without its BEGIN; the rest of the file is not read")
        self.section.pop()
        job = self.job
        if kind in ("DSRECORD", "DSSUBRECORD") and self.stack:
            record = self.stack.pop()
            if kind == "DSRECORD" and job is not None and record.get("Identifier") == "ROOT":
                # sequences and parallel jobs are kept whole (their activities, their stage graph)
                job.keep = record.get("JobType", "") in _KEPT
                if not job.keep:
                    job.records = [record]
        elif kind == "DSJOB" and job is not None:
            self.job = None
            result = _job(job, self.source)
            result.project = self.project
            return result
        return None

    def _target(self) -> dict[str, Any] | None:
        """The record a field line belongs to; None while a non-sequence job's records stream by."""
        if not self.stack or self.job is None:
            return None
        return self.stack[-1] if self.job.keep or self.stack[0].get("Identifier") == "ROOT" else None

    def _field(self, line: str) -> None:
        target = self._target()
        if (match := _MULTILINE.match(line)) is not None:
            rest = match.group(2)
            if rest.rstrip().endswith(_MARK):  # opened and closed on one line
                if target is not None:
                    target[match.group(1)] = rest.rstrip()[: -len(_MARK)]
            else:
                self.multiline = (target, match.group(1), [rest] if rest else [], len(rest))
        elif (match := _FIELD.match(line)) is not None:
            if self.section == ["HEADER"] and match.group(1) == "ToolInstanceID":
                self.project = _unescape(match.group(2))  # the project the file was exported from
            if target is not None:
                target[match.group(1)] = _unescape(match.group(2))
                target["_last"] = match.group(1)
            elif self.job is not None and not self.stack and match.group(1) == "Identifier":
                self.job.identifier = _unescape(match.group(2))

    def _continue_value(self, line: str) -> None:
        target, key, parts, size = self.multiline
        done = line.rstrip().endswith(_MARK)
        text = line.rstrip()[: -len(_MARK)] if done else line
        if size < MAX_VALUE and target is not None:
            parts.append(text)
            size += len(text)
        self.multiline = None if done else (target, key, parts, size)
        if done and target is not None and key not in _GENERATED:
            target[key] = "\n".join(parts)[:MAX_VALUE]


def _job(job: _Job, source: str) -> DsJob:
    return job_from_records(job.identifier, job.records, source)


def job_from_records(identifier: str, records: list[dict[str, Any]], source: str) -> DsJob:
    """A job from its records (``{field: value, "_sub": [subrecords]}``): DSX, or the older XML form."""
    root = next((r for r in records if r.get("Identifier") == "ROOT"), {})
    name = root.get("Name") or identifier
    result = DsJob(name=name, kind=JOB_KINDS.get(root.get("JobType", ""), "other"), source=source,
                   folder=root.get("Category", "").replace("\\\\", "\\").strip("\\").replace("\\", "/"))
    if not root:
        result.problems.append(f"job {identifier}: no ROOT record (OLEType CJobDefn)")
    code = root.get("JobControlCode", "")
    result.job_control = result.kind != "sequence" and "DSRunJob" in code
    result.options = {o.strip().lower() for o in root.get("JobSeqCodeGenOpts", "").split(",") if o.strip()}
    for parameter in root.get("_sub", []):
        if parameter.get("Name") and parameter.get("_in", "Parameters") == "Parameters":
            result.parameters.append(DsParameter(
                name=parameter["Name"], default=parameter.get("Default", ""), prompt=parameter.get("Prompt", ""),
                type_code=parameter.get("ParamType", ""),
                # tab-separated; some exports write the tab as the two characters \t
                values=[v for v in parameter.get("ListValues", "").replace("\\t", "\t").split("\t") if v],
                extended_type=PARAM_TYPES.get(parameter.get("ParamType", ""), "")))
    if result.kind == "parallel":
        result.graph = read_graph_records(records, result.problems)
    if result.kind != "sequence":
        return result
    # The XMI form doubles every backslash of the BASIC; DSX holds it as the engine does: keep one form.
    result.job_control_code = code.replace("\\", "\\\\")
    outputs, inputs = [], {}
    for record in records:
        ole = record.get("OLEType", "")
        if ole == "CJSActivityOutput":
            outputs.append(record)
        elif ole == "CJSActivityInput":
            inputs[record.get("Identifier", "")] = record
        elif ole.startswith("CJS") and ole != "CJSActivityInput":
            identifier = record.get("Identifier", "")
            result.activities[identifier] = DsActivity(
                identifier=identifier, name=record.get("Name", identifier), class_name=ole[1:],
                settings={k: v for k, v in record.items() if isinstance(v, str) and not k.startswith("_")},
                input_pins=[p for p in record.get("InputPins", "").split("|") if p],
                output_pins=[p for p in record.get("OutputPins", "").split("|") if p],
                values=[(s.get("Name", ""), s.get("Expression", s.get("Value", ""))) for s in record["_sub"]
                        if s.get("Name") and s.get("ParamType") != "Jobinvocationid"],
                invocation_id=next((s.get("Expression", "") for s in record["_sub"]
                                    if s.get("ParamType") == "Jobinvocationid"), ""))
        elif ole not in ("CJobDefn", "CJSActivityInput", "CContainerView", "CAnnotation"):
            result.problems.append(f"record {record.get('Identifier', '?')}: unknown OLEType {ole!r}, skipped")
    for record in outputs:
        _output_link(result, record, inputs)
    return result


def _output_link(job: DsJob, record: dict[str, Any], inputs: dict[str, dict[str, Any]]) -> None:
    """A trigger: DSX has no link record; the output pin holds its condition, ``Partner`` its target."""
    pin = record.get("Identifier", "")
    source = job.activity_of_pin(pin)
    target_id, _, target_pin = record.get("Partner", "").partition("|")
    if source is None or target_id not in job.activities:
        job.problems.append(f"trigger {record.get('Name', pin)}: its activities are not in the job "
                            f"(pin {pin}, partner {record.get('Partner', '')!r}); not read")
        return
    job.links.append(DsLink(name=record.get("Name", pin), source=source.identifier, target=target_id,
                            condition_type=record.get("ConditionType", "0").strip() or "0",
                            expression=record.get("TriggerExpression", record.get("Expression", "")),
                            loop_back=inputs.get(target_pin, {}).get("LinkType") == "4"))
