"""A parallel job's stage graph from its DSX records (:mod:`dcf.datastage.dsx` reads the text into
``{field: value, "_sub": [subrecords]}`` dicts): the same :class:`PxGraph` the XMI reader gives.

DSX has no link record. A stage record (``CCustomStage`` with ``StageType``, ``CTransformerStage`` with its
``StageVars``) lists its pins; each pin is a record of its own (``CCustomInput``/``CCustomOutput``,
``CTrxInput``/``CTrxOutput``). A link is an output pin: its ``Name``, its ``Partner`` (``V0S5|V0S5P1``: the
target stage and input pin), its columns (``Columns "COutputColumn"`` subrecords, on the source's side) and
its usage-Out properties; the input pin holds the usage-In properties and the link type. Column types are SQL
type codes here (12 VARCHAR, 3 DECIMAL, ...), named as XMI names them.
"""

from __future__ import annotations

from typing import Any

from dcf.datastage.px_graph import PxColumn, PxGraph, PxLink, PxPin, PxStage, PxStageVariable

_STAGES = {"CCustomStage", "CTransformerStage"}
_PINS = {"CCustomInput", "CCustomOutput", "CTrxInput", "CTrxOutput"}
#: DSX SqlType -> the XMI type name.
_SQL_TYPES = {"12": "String", "1": "String", "-1": "String", "-9": "String", "4": "Int32", "-5": "Int64",
              "5": "Int16", "-6": "Int8", "3": "Decimal", "2": "Decimal", "9": "Date", "11": "Datetime",
              "10": "Time", "8": "Dfloat", "6": "Dfloat", "7": "Sfloat"}
#: An input pin's LinkType -> the link type.
_LINK_TYPES = {"1": "Primary", "2": "Reference", "3": "Reject"}
#: Pin fields that are the pin's own bookkeeping, not settings a converter reads.
_PIN_FIELDS = {"Identifier", "OLEType", "Readonly", "Name", "Partner", "Columns", "Properties", "MetaBag",
               "LinkType", "Constraint", "ParsedConstraint", "_sub", "_last"}
#: Link settings DSX writes as plain pin fields (XMI: link properties).
_LINK_FIELDS = ("LinkMinimised", "MultiRow", "Reject", "ErrorPin", "RowLimit")


def _subrecords(record: dict[str, Any], collection: str) -> list[dict[str, Any]]:
    return [sub for sub in record.get("_sub", []) if sub.get("_in") == collection]


def _properties(record: dict[str, Any]) -> dict[str, str]:
    return {sub["Name"]: sub.get("Value", "") for sub in _subrecords(record, "Properties") if sub.get("Name")}


def _metadata(record: dict[str, Any]) -> dict[str, str]:
    return {sub["Name"]: sub.get("Value", "") for sub in _subrecords(record, "MetaBag")
            if sub.get("Name") and sub.get("Owner", "APT") == "APT"}


def _int(text: str | None) -> int | None:
    return int(text) if text and text.strip().lstrip("-").isdigit() else None


def read_graph_records(records: list[dict[str, Any]], problems: list[str]) -> PxGraph:
    """The stage graph of one parallel job's records; what cannot be resolved is added to ``problems``."""
    graph = PxGraph()
    pins = {r.get("Identifier", ""): r for r in records if r.get("OLEType") in _PINS}
    stage_of_pin: dict[str, str] = {}
    for record in records:
        if record.get("OLEType") in _STAGES:
            stage = _stage(record, pins)
            graph.stages[stage.name] = stage
            stage_of_pin.update(dict.fromkeys([*stage.input_pins, *stage.output_pins], stage.name))
        elif record.get("OLEType") not in (*_PINS, "CJobDefn", "CContainerView", "CAnnotation"):
            problems.append(f"record {record.get('Identifier', '?')}: OLEType {record.get('OLEType')!r} is not read "
                            "into the stage graph")
    for identifier, pin in pins.items():
        if pin.get("OLEType") not in ("CCustomOutput", "CTrxOutput"):
            continue
        target_pin = pin.get("Partner", "").partition("|")[2]
        if identifier not in stage_of_pin or target_pin not in stage_of_pin:
            problems.append(f"link {pin.get('Name', identifier)}: pin {identifier} or its partner "
                            f"{pin.get('Partner', '')!r} is on no stage of the job; skipped")
            continue
        graph.links.append(_link(pin, pins.get(target_pin, {}), stage_of_pin[identifier], identifier,
                                 stage_of_pin[target_pin], target_pin))
    return graph


def _stage(record: dict[str, Any], pins: dict[str, dict[str, Any]]) -> PxStage:
    stage = PxStage(name=record.get("Name", ""), stage_type=record.get("StageType", ""),
                    internal_id=record.get("Identifier", ""), properties=_properties(record),
                    input_pins=[p for p in record.get("InputPins", "").split("|") if p],
                    output_pins=[p for p in record.get("OutputPins", "").split("|") if p])
    if record.get("OLEType") == "CTransformerStage":
        for name in ("ValidationStatus", "BlockSize", "SKKeySourceType", "StageVarsMinimised", "LoopVarsMaximised",
                     "MaxLoopIterations"):  # plain fields in DSX, stage properties in XMI
            if name in record:
                stage.properties[name] = record[name]
    stage.sequential = (_metadata(record).get("Execmode", "").lower() == "seq"
                        or stage.stage_type == "PxSequentialFile")
    for identifier in [*stage.input_pins, *stage.output_pins]:
        pin = pins.get(identifier, {})
        attributes = {key[0].lower() + key[1:]: value for key, value in pin.items()
                      if isinstance(value, str) and key not in _PIN_FIELDS and key not in _LINK_FIELDS}
        stage.pins[identifier] = PxPin(identifier, attributes, _metadata(pin))
    for variable in _subrecords(record, "StageVars"):  # in evaluation order
        stage.variables.append(PxStageVariable(
            name=variable.get("Name", ""), derivation=variable.get("Expression", ""),
            initial=variable.get("InitialValue", ""), type_code=_SQL_TYPES.get(variable.get("SqlType", ""), "")))
    return stage


def _link(output: dict[str, Any], target: dict[str, Any], source_stage: str, source_pin: str, target_stage: str,
          target_pin: str) -> PxLink:
    link_type = _LINK_TYPES.get(target.get("LinkType", "1"), "Primary")
    link = PxLink(name=output.get("Name", source_pin), link_type=link_type, source=source_stage,
                  target=target_stage, source_pin=source_pin, target_pin=target_pin,
                  properties_out=_properties(output), properties_in=_properties(target))
    link.properties_out.update({name: output[name] for name in _LINK_FIELDS if name in output})
    link.properties_in.update({name: target[name] for name in _LINK_FIELDS if name in target})
    link.columns = [_column(sub) for sub in _subrecords(output, "Columns")]
    if output.get("Constraint", "").strip():
        link.constraint = output["Constraint"]
    return link


def _column(record: dict[str, Any]) -> PxColumn:
    type_code = _SQL_TYPES.get(record.get("SqlType", ""), record.get("SqlType", ""))
    derivation = record.get("Derivation") or None
    source = record.get("SourceColumn", "")
    return PxColumn(
        name=record.get("Name", ""), type_code=type_code, length=_int(record.get("Precision")),
        scale=_int(record.get("Scale")), nullable=record.get("Nullable", "1") == "1",
        key=(_int(record.get("KeyPosition")) or 0) > 0,
        # a plain copy of the column it names is a pass-through (XMI writes no derivation for it)
        derivation=None if derivation is not None and derivation == source else derivation,
        source_column=source, lookup_key=record.get("KeyExpression") or None)
