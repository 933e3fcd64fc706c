"""A sequence's job parameters and the parameter sets it names, as stream parameters and shared parameter-set
files; passwords as references to Prefect Secret blocks, never their cipher text.

Naming rule of a secret block (``secret_block_name``): ``<owner>-<parameter>``, lower case, every run of other
characters than letters and digits a single ``-``; the owner is the parameter set (``PS_SRC.SRC_PASSWORD`` ->
``ps-src-src-password``) or the sequence (``SQ_LOAD``'s ``PM_DB_PWD`` -> ``sq-load-pm-db-pwd``). The
migration report lists every block to create under "Blocks to create".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dcf.datastage.model import DsParameter, identifier_of

#: DataStage's "take the project's value at run time".
PROJECT_DEFAULT = "$PROJDEF"


@dataclass
class MappedParameters:
    #: The stream's ``parameters:`` (name -> settings).
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: DataStage name (``PM_X``, ``PS_SRC.SRC_SCHEMA``) -> the stream's name (``PM_X``, ``PS_SRC.SRC_SCHEMA``).
    names: dict[str, str] = field(default_factory=dict)
    #: The shared parameter sets the stream names.
    sets: list[str] = field(default_factory=list)
    #: (parameter, what became of it, status) for the report.
    notes: list[tuple[str, str, str]] = field(default_factory=list)
    #: Secret blocks the stream reads: block name -> what it holds.
    secret_blocks: dict[str, str] = field(default_factory=dict)


def secret_block_name(owner: str, name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{owner}-{name}".lower()).strip("-")


def is_parameter_set(parameter: DsParameter) -> bool:
    return parameter.extended_type == "Parameterset" or parameter.type_code == "13"


def parameter_settings(parameter: DsParameter, owner: str, blocks: dict[str, str]) -> tuple[dict[str, Any], str]:
    """One parameter's stream settings and what the report says of it ("" when it maps as it is)."""
    settings: dict[str, Any] = {}
    note = ""
    if parameter.encrypted:
        block = secret_block_name(owner, parameter.name)
        blocks[block] = f"{owner}.{parameter.name}"
        settings["secret_block"] = block
        note = f"encrypted: read from Prefect Secret block {block!r} (its cipher text is not copied)"
    elif parameter.default == PROJECT_DEFAULT:
        settings["default"] = ""
        note = ("$PROJDEF (the project's value at run time): empty here; give the value as a run parameter or "
                "in the deployment")
    else:
        settings["default"] = parameter.default
    if parameter.prompt and parameter.prompt != parameter.name:
        settings["prompt"] = parameter.prompt
    if parameter.values:
        settings["values"] = parameter.values
    return settings, note


def map_parameters(sequence: str, parameters: list[DsParameter],
                   parameter_sets: dict[str, list[DsParameter]]) -> MappedParameters:
    """A sequence's parameters: its own as stream parameters, its parameter sets as shared files it names."""
    mapped = MappedParameters()
    for parameter in parameters:
        if is_parameter_set(parameter):
            if parameter.name not in parameter_sets:
                mapped.notes.append((parameter.name, "parameter set not in the export: its members are unknown",
                                     "needs attention"))
                continue
            mapped.sets.append(identifier_of(parameter.name))
            for member in parameter_sets[parameter.name]:
                mapped.names[f"{parameter.name}.{member.name}"] = (f"{identifier_of(parameter.name)}."
                                                                   f"{identifier_of(member.name)}")
            continue
        name = identifier_of(parameter.name)
        mapped.names[parameter.name] = name
        settings, note = parameter_settings(parameter, sequence, mapped.secret_blocks)
        mapped.parameters[name] = settings
        if note:
            mapped.notes.append((parameter.name, note, "approximated" if "PROJDEF" in note else "mapped"))
    return mapped


def parameter_set_file(name: str, members: list[DsParameter], blocks: dict[str, str]) -> dict[str, Any]:
    """The content of one shared parameter set YAML (see dcf.stream.parameter_sets)."""
    return {"parameter_set": identifier_of(name),
            "description": f"Imported from DataStage parameter set {name}",
            "parameters": {identifier_of(m.name): parameter_settings(m, name, blocks)[0] for m in members}}
