"""The XML forms of a job: XMI (an ISX asset ``.qjb``, ``.pjb``, ``.sjb``, ``.pst``, or an XML export of 11.x)
and the older ``<DSExport><Job><Record>`` form (DataStage 7.x/8.x), which holds DSX's records as XML.

Parsed with defusedxml: an export from another team may carry entity-expansion bombs or external entities,
and both are refused. Elements are matched by local name, so namespace prefixes do not matter; attributes
that are not known are kept as settings, unknown objects are reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from dcf.datastage.dsx import job_from_records
from dcf.datastage.model import JOB_KINDS, DsActivity, DsJob, DsLink, DsParameter, ReadProblem

_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_XMI_ID = "{http://www.omg.org/XMI}id"


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def read_xmi(stream: IO[bytes], source: str, folder: str = "") -> Iterator[DsJob | ReadProblem]:
    """Every ``DSJobDefSDO`` in an XML document (one per ISX asset, many in an XML export)."""
    found = 0
    try:
        for _event, element in iterparse(stream, events=("end",), forbid_dtd=False, forbid_entities=True,
                                        forbid_external=True):
            if _local(element.tag) == "Job" and element.find("Record") is not None:
                found += 1
                yield _older_form_job(element, source)
                element.clear()
                continue
            if _local(element.tag) in ("DSJobDefSDO", "DSParameterSetSDO"):
                found += 1
                job = _job(element, source, folder)
                if _local(element.tag) == "DSParameterSetSDO":
                    job.kind = "parameter_set"
                yield job
                element.clear()  # a big export is read job by job
    except DefusedXmlException as error:
        yield ReadProblem(source, f"refused: {type(error).__name__} (entity expansion or external entities are "
                                  "not read from an export)")
    except Exception as error:
        yield ReadProblem(source, f"not well-formed XML: {error}")
        return
    if not found:
        yield ReadProblem(source, "no job definition in this XML (neither DSJobDefSDO nor <Job> with <Record>s)")


def _older_form_job(element: Any, source: str) -> DsJob:
    """``<DSExport><Job><Record Type=…><Property Name=…>`` (DataStage 7.x/8.x): the DSX records as XML."""
    records = []
    for record in element.iter("Record"):
        ole = record.get("Type", "")
        fields: dict[str, Any] = {"Identifier": record.get("Identifier", ""),
                                  "OLEType": ole if ole.startswith("C") else f"C{ole}", "_sub": []}
        for child in record:
            if child.tag == "Property" and child.get("Name"):
                fields[child.get("Name")] = child.text or ""
            elif child.tag == "Collection":
                fields["_sub"] += [{p.get("Name"): p.text or "" for p in sub.iter("Property") if p.get("Name")}
                                   for sub in child.iter("SubRecord")]
        records.append(fields)
    return job_from_records(element.get("Identifier", ""), records, source)


def _settings(element: Any) -> dict[str, str]:
    return {child.get("parameterName", ""): child.get("valueExpression", "")
            for child in element if _local(child.tag) == "has_ParameterVal" and child.get("parameterName")}


def _job(root: Any, source: str, folder: str) -> DsJob:
    job = DsJob(name=root.get("name", ""), kind=JOB_KINDS.get(root.get("jobType", ""), "other"), source=source,
                folder=folder or root.get("category", ""))
    job.job_control = job.kind != "sequence" and "DSRunJob" in root.get("jobControlCode", "")
    for child in root:
        kind = _local(child.tag)
        if kind == "has_ParameterDef":
            job.parameters.append(DsParameter(
                name=child.get("name", ""), default=child.get("defaultValue", ""), prompt=child.get("prompt", ""),
                type_code=child.get("typeCode", ""),
                values=[v for v in child.get("validList", "").split("\t") if v]))
    if job.kind != "sequence":
        return job
    links = []
    for child in root:
        if _local(child.tag) != "contains_JobObject":
            continue
        object_type = child.get(_XSI_TYPE, "")
        if object_type.endswith("DSStageSDO"):
            _activity(job, child)
        elif object_type.endswith("DSLinkSDO"):
            links.append(child)
        else:
            job.problems.append(f"object {child.get('name', '?')}: unknown type {object_type!r}, skipped")
    for link in links:
        _link(job, link)
    return job


def _activity(job: DsJob, element: Any) -> None:
    identifier = element.get("identifier") or element.get(_XMI_ID) or element.get("name", "")
    class_name = element.get("stageTypeClassName", "")
    values, settings = [], {}
    for child in element:
        if _local(child.tag) != "has_ParameterVal":
            continue
        name, expression = child.get("parameterName", ""), child.get("valueExpression", "")
        # a job activity's passed parameters, a user-variables activity's variables
        if child.get("paramType") == "Supplied" or class_name == "JSUserVarsActivity":
            values.append((name, expression))
        else:
            settings[name] = expression
    settings.update({k: v for k, v in element.attrib.items() if not k.startswith("{")})
    job.activities[identifier] = DsActivity(
        identifier=identifier, name=element.get("name", identifier), class_name=class_name, settings=settings,
        input_pins=[p for p in element.get("inputPins", "").split("|") if p],
        output_pins=[p for p in element.get("outputPins", "").split("|") if p], values=values)


def _link(job: DsJob, element: Any) -> None:
    settings = _settings(element)
    by_name = {a.name: a for a in job.activities.values()}
    source = by_name.get(element.get("stageInfo", "")) or job.activity_of_pin(element.get("from_OutputPin", ""))
    partner = element.get("partner", "").split("|")[0]
    target = job.activities.get(partner) or job.activity_of_pin(element.get("to_InputPin", ""))
    name = element.get("name", "?")
    if source is None or target is None:
        job.problems.append(f"trigger {name}: its activities are not in the job, skipped")
        return
    job.links.append(DsLink(name=name, source=source.identifier, target=target.identifier,
                            condition_type=settings.get("ConditionType", "0"),
                            expression=settings.get("TriggerExpression", "")))
