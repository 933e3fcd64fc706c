"""A parallel job's stage graph from its XMI (``.pjb`` or an XML export), already parsed by
:mod:`dcf.datastage.xmi` (XML 1.1 control characters restored).

Stages and links are interleaved in no useful order; a link names its pins by ``xmi:id`` and each pin belongs
to a stage: references are resolved once the whole job has been read. A link's columns come in two forms that
add up: ``contains_FlowVariable`` elements and the compact ``dSFlowVarNames`` / ``dSFlowVarSourceColumnIDs`` /
``dSFlowVarProps`` attributes (``\\x1d`` between columns, ``\\x1e`` between a column's ``key=value`` pairs).
"""

from __future__ import annotations

from typing import Any

from dcf.datastage.properties import unescape
from dcf.datastage.px_graph import PxColumn, PxGraph, PxLink, PxPin, PxStage, PxStageVariable

_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_XMI_ID = "{http://www.omg.org/XMI}id"


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child.tag) == name]


def read_graph(root: Any, problems: list[str]) -> PxGraph:
    """The stage graph of one ``DSJobDefSDO``; what cannot be resolved is added to ``problems``."""
    graph = PxGraph()
    pin_owner: dict[str, tuple[str, str]] = {}  # a pin's xmi:id -> (stage name, pin internal id)
    links = []
    for child in _children(root, "contains_JobObject"):
        kind = child.get(_XSI_TYPE, "")
        if kind.endswith("DSStageSDO"):
            stage = _stage(child, pin_owner)
            graph.stages[stage.name] = stage
        elif kind.endswith("DSLinkSDO"):
            links.append(child)
    for element in links:
        source = pin_owner.get(element.get("from_OutputPin", ""))
        target = pin_owner.get(element.get("to_InputPin", ""))
        if source is None or target is None:
            problems.append(f"link {element.get('name', '?')}: its pins are not on any stage of the job; skipped")
            continue
        graph.links.append(_link(element, source, target))
    return graph


def _properties(element: Any, usage: str | None = None) -> dict[str, str]:
    return {unescape(p.get("parameterName", "")): unescape(p.get("valueExpression", ""))
            for p in _children(element, "has_ParameterVal") if usage is None or p.get("usage") == usage}


def _metadata(element: Any) -> dict[str, str]:
    return {data.get("name", ""): data.get("value", "")
            for bag in [*_children(element, "has_DSMetaBag"), *_children(element, "of_DSMetaBag")]
            for data in _children(bag, "has_DSMetaData") if data.get("owner", "APT") == "APT"}


def _stage(element: Any, pin_owner: dict[str, tuple[str, str]]) -> PxStage:
    name = element.get("name", "")
    stage = PxStage(name=name, stage_type=element.get("stageType", ""), internal_id=element.get("internalID", ""),
                    properties=_properties(element),
                    input_pins=[p for p in element.get("inputPins", "").split("|") if p],
                    output_pins=[p for p in element.get("outputPins", "").split("|") if p])
    # Execmode=seq, or a sequential file: one file is read (and written) by one process
    stage.sequential = (_metadata(element).get("Execmode", "").lower() == "seq"
                        or stage.stage_type == "PxSequentialFile")
    for pin in [*_children(element, "has_InputPin"), *_children(element, "has_OutputPin")]:
        internal = pin.get("internalID", "")
        attributes = {k: v for k, v in pin.attrib.items() if not k.startswith("{") and k not in _PIN_BOOKKEEPING}
        stage.pins[internal] = PxPin(internal, attributes, _metadata(pin))
        pin_owner[pin.get(_XMI_ID, "")] = (name, internal)
    for variable in _children(element, "contains_FlowVariable"):  # document order = evaluation order
        derivations = _children(variable, "hasValue_Derivation")
        stage.variables.append(PxStageVariable(
            name=variable.get("name", ""), derivation=derivations[0].get("expression", "") if derivations else "",
            initial=variable.get("defaultValue", ""), type_code=variable.get("typeCode", "")))
    return stage


_PIN_BOOKKEEPING = {"sDOVersion", "objectID", "lastModificationTimestamp", "optimisticLockID", "createdByUser",
                    "creationTimestamp", "modifiedByUser", "xmetaLockingRoot", "isTargetOf_Link", "isSourceOf_Link",
                    "internalID"}


def _link(element: Any, source: tuple[str, str], target: tuple[str, str]) -> PxLink:
    link = PxLink(name=element.get("name", ""), link_type=element.get("linkType", "Primary"), source=source[0],
                  target=target[0], source_pin=source[1], target_pin=target[1],
                  properties_out=_properties(element, "Out"), properties_in=_properties(element, "In"))
    for column in _children(element, "contains_FlowVariable"):
        link.columns.append(_column(column))
    link.columns += _compact_columns(element)
    constraints = _children(element, "has_FilterConstraint")
    if constraints and constraints[0].get("filterExpression", "").strip():
        link.constraint = constraints[0].get("filterExpression")
    return link


def _int(text: str | None) -> int | None:
    return int(text) if text and text.strip().lstrip("-").isdigit() else None


def _column(element: Any) -> PxColumn:
    derivations = _children(element, "hasValue_Derivation")
    lookups = _children(element, "hasLookup_Derivation")
    return PxColumn(
        name=element.get("name", ""), type_code=element.get("typeCode", ""),
        length=_int(element.get("maximumLength")), scale=_int(element.get("fractionDigits")),
        nullable=element.get("isNullable", "true") == "true", key=element.get("isKey", "false") == "true",
        derivation=derivations[0].get("expression") if derivations else None,
        source_column=element.get("sourceColumnID", ""),
        lookup_key=lookups[0].get("expression") if lookups else None)


def _split(text: str, separator: str) -> list[str]:
    """``\\x1dA\\x1dB\\x1d`` -> ``['A', 'B']`` (positions kept: an empty entry stays)."""
    text = text[1:] if text.startswith(separator) else text
    text = text[:-1] if text.endswith(separator) else text
    return text.split(separator) if text else []


_TYPE_CODES = {"STRING": "String", "INT32": "Int32", "INT64": "Int64", "INT16": "Int16", "DECIMAL": "Decimal",
               "DATE": "Date", "DATETIME": "Datetime", "DFLOAT": "Dfloat", "SFLOAT": "Sfloat", "TIME": "Time"}


def _compact_columns(element: Any) -> list[PxColumn]:
    names = _split(element.get("dSFlowVarNames", ""), "\x1d")
    sources = _split(element.get("dSFlowVarSourceColumnIDs", ""), "\x1d")
    properties = _split(element.get("dSFlowVarProps", ""), "\x1d")
    columns = []
    for n, name in enumerate(names):
        props = dict(pair.partition("=")[::2] for pair in (properties[n] if n < len(properties) else "").split("\x1e")
                     if pair)
        source = (sources[n] if n < len(sources) else "").replace("\x1e", "").strip(";")
        type_code = props.get("y", "")
        columns.append(PxColumn(
            name=name, type_code=_TYPE_CODES.get(type_code.upper(), type_code), length=_int(props.get("x")),
            scale=_int(props.get("f")), nullable=props.get("i", "true") == "true", key=props.get("K") == "true",
            derivation=props.get(">e") or None, source_column=source, lookup_key=props.get("<e") or None,
            compact=True))
    return columns
