"""The XML forms of a job: XMI (an ISX asset ``.qjb``, ``.pjb``, ``.sjb``, ``.pst``, or an XML export of 11.x)
and the older ``<DSExport><Job><Record>`` form (DataStage 7.x/8.x), which holds DSX's records as XML.

Parsed with defusedxml: an export from another team may carry entity-expansion bombs or external entities,
and both are refused. Real 11.7 assets declare XML 1.1 and may hold control-character references
(``&#x1D;``) that an XML 1.0 parser refuses: :func:`xml10` makes such a document readable and
:func:`restore` gives each value back its characters. Elements are matched by local name, so namespace
prefixes do not matter. In a sequence, activities and trigger links are interleaved in no useful order and a
link names its pins by their ``xmi:id``: references are resolved once the whole job has been read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import IO, Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from dcf.datastage.dsx import job_from_records
from dcf.datastage.model import JOB_KINDS, DsActivity, DsJob, DsLink, DsParameter, DsSubroutine, ReadProblem
from dcf.datastage.px_xmi import read_graph

_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_XMI_ID = "{http://www.omg.org/XMI}id"
#: Characters XML 1.1 allows as references but XML 1.0 does not (C0 controls but tab, LF, CR).
_CONTROL_REFERENCE = re.compile(rb"&#(?:x([0-9A-Fa-f]+)|([0-9]+));")
_DECLARATION_11 = re.compile(rb"""^(\s*<\?xml[^>]*?version\s*=\s*)(["'])1\.1\2""")
#: A control character travels through the 1.0 parser as this private-use character plus its code.
_STAND_IN = 0x10FF00  # plane 16 private use: no export holds these
_RESTORE = {_STAND_IN + code: code for code in range(32) if code not in (9, 10, 13)}


def xml10(data: bytes) -> tuple[bytes, bool]:
    """An XML 1.1 document as one an XML 1.0 parser reads: the declaration says 1.0 and each reference to a
    control character refers to a private-use stand-in (:func:`restore` turns it back); and whether it
    holds any stand-in."""
    data = _DECLARATION_11.sub(rb"\g<1>\g<2>1.0\g<2>", data, count=1)

    def stand_in(match: re.Match[bytes]) -> bytes:
        code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
        return b"&#%d;" % (_STAND_IN + code) if _STAND_IN + code in _RESTORE else match.group(0)

    converted = _CONTROL_REFERENCE.sub(stand_in, data)
    return converted, converted != data


def restore(text: str) -> str:
    """A value read from :func:`xml10`'s document, with its control characters back."""
    return text.translate(_RESTORE)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def read_xmi(stream: IO[bytes], source: str, folder: str = "") -> Iterator[DsJob | ReadProblem]:
    """Every ``DSJobDefSDO`` in an XML document (one per ISX asset, many in an XML export)."""
    found = 0
    try:
        data, stood_in = xml10(stream.read())
        for _event, element in iterparse(io.BytesIO(data), events=("end",), forbid_dtd=False,
                                         forbid_entities=True, forbid_external=True):
            if stood_in:
                element.attrib.update((key, restore(value)) for key, value in element.attrib.items())
                element.text = restore(element.text) if element.text else element.text
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
                fields[child.get("Name")] = restore(child.text or "")
            elif child.tag == "Collection":
                fields["_sub"] += [{"_in": child.get("Name", "Parameters"),
                                    **{p.get("Name"): restore(p.text or "") for p in sub.iter("Property")
                                       if p.get("Name")}} for sub in child.iter("SubRecord")]
        records.append(fields)
    return job_from_records(element.get("Identifier", ""), records, source)


def _job(root: Any, source: str, folder: str) -> DsJob:
    job = DsJob(name=root.get("name", ""), kind=JOB_KINDS.get(root.get("jobType", ""), "other"), source=source,
                folder=folder or root.get("category", "").replace("\\\\", "\\").strip("\\").replace("\\", "/"))
    job.project = root.get("dSNameSpace", "").rpartition(":")[2]
    code = root.get("jobControlCode", "")
    job.job_control = job.kind != "sequence" and "DSRunJob" in code
    job.options = {o.strip().lower() for o in root.get("jobSeqCodeGenOpts", "").split(",") if o.strip()}
    for child in root:
        if _local(child.tag) == "has_ParameterDef":
            job.parameters.append(DsParameter(
                name=child.get("name", ""), default=child.get("defaultValue", ""),
                prompt=child.get("displayCaption") or child.get("prompt", ""), type_code=child.get("typeCode", ""),
                values=[v for v in child.get("validList", "").split("\t") if v],
                extended_type=child.get("extendedType", "")))
        elif _local(child.tag) == "has_FunctionCall":
            job.subroutines.append(DsSubroutine(
                context=child.get("callContext", ""), routine=child.get("functionName", ""),
                arguments=[value.get("valueExpression", "") for value in child
                           if _local(value.tag) == "has_ParameterVal"]))
    if job.kind == "parallel":
        job.graph = read_graph(root, job.problems)
    if job.kind != "sequence":
        return job
    job.job_control_code = code.replace("\r\n", "\n")  # CRLF in XMI, LF in DSX: one form
    pins: dict[str, tuple[str, Any]] = {}  # a pin's xmi:id (and internalID) -> (its activity's id, the pin)
    links = []
    for child in root:
        if _local(child.tag) != "contains_JobObject":
            continue
        object_type = child.get(_XSI_TYPE, "")
        if object_type.endswith("DSStageSDO"):
            _activity(job, child, pins)
        elif object_type.endswith("DSLinkSDO"):
            links.append(child)
        else:
            job.problems.append(f"object {child.get('name', '?')}: unknown type {object_type!r}, skipped")
    for link in links:
        _link(job, link, pins)
    return job


def _activity(job: DsJob, element: Any, pins: dict[str, tuple[str, Any]]) -> None:
    identifier = (element.get("internalID") or element.get("identifier") or element.get(_XMI_ID)
                  or element.get("name", ""))
    class_name = element.get("stageTypeClassName", "")
    values, settings, invocation = [], {}, ""
    for child in element:
        kind = _local(child.tag)
        if kind in ("has_InputPin", "has_OutputPin"):
            for key in (child.get(_XMI_ID), child.get("internalID")):
                if key:
                    pins[key] = (identifier, child)
            continue
        if kind != "has_ParameterVal":
            continue
        name, expression = child.get("parameterName", ""), child.get("valueExpression", "")
        if child.get("paramType") == "Jobinvocationid":
            invocation = expression
        # a job or routine activity's passed values, a user-variables activity's variables
        elif child.get("paramType") == "Supplied" or class_name == "JSUserVarsActivity":
            values.append((name, expression))
        elif name:
            settings[name] = expression
    settings.update({k: v for k, v in element.attrib.items() if not k.startswith("{")})
    job.activities[identifier] = DsActivity(
        identifier=identifier, name=element.get("name", identifier), class_name=class_name, settings=settings,
        input_pins=[p for p in element.get("inputPins", "").split("|") if p],
        output_pins=[p for p in element.get("outputPins", "").split("|") if p], values=values,
        invocation_id=invocation)


def _link(job: DsJob, element: Any, pins: dict[str, tuple[str, Any]]) -> None:
    """A trigger: its pins by xmi:id; an export without pin elements is read by stageInfo and partner."""
    settings = {child.get("parameterName", ""): child.get("valueExpression", "")
                for child in element if _local(child.tag) == "has_ParameterVal"}
    name = element.get("name", "?")
    source_pin, target_pin = pins.get(element.get("from_OutputPin", "")), pins.get(element.get("to_InputPin", ""))
    source = job.activities.get(source_pin[0]) if source_pin else _by_stage_info(job, element)
    if target_pin:
        target = job.activities.get(target_pin[0])
    else:
        partner = (source_pin[1].get("partner") if source_pin else None) or element.get("partner", "")
        target = job.activities.get(partner.split("|")[0]) or job.activity_of_pin(element.get("to_InputPin", ""))
    if source is None or target is None:
        job.problems.append(f"trigger {name}: from_OutputPin {element.get('from_OutputPin')!r} / to_InputPin "
                            f"{element.get('to_InputPin')!r} name no pin of an activity of this job; not read")
        return
    job.links.append(DsLink(name=name, source=source.identifier, target=target.identifier,
                            condition_type=settings.get("ConditionType", "0").strip() or "0",
                            expression=settings.get("TriggerExpression", ""),
                            loop_back=bool(target_pin) and target_pin[1].get("linkType") == "4"))


def _by_stage_info(job: DsJob, element: Any) -> DsActivity | None:
    """The source activity by ``stageInfo`` (``Name=CType=JSClass``), or by the pin named in the link."""
    name = element.get("stageInfo", "").split("=", 1)[0]
    by_name = next((a for a in job.activities.values() if a.name == name), None)
    return by_name or job.activity_of_pin(element.get("from_OutputPin", ""))
