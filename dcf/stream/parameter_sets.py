"""Shared parameter sets (DataStage parameter sets): one YAML per set, in ``parameter_sets/`` beside the streams.

    # configs/streams/parameter_sets/PS_DB.yaml
    parameter_set: PS_DB
    description: Connection settings shared by the load sequences
    parameters:
      server: {default: DEVDB, prompt: Database server}
      level: {default: "1", values: ["1", "2"]}

A stream names the sets it uses (``parameter_sets: [PS_DB]``) and reads a member as ``PS_DB.server`` in
expressions and ``#PS_DB.server#`` in templates, as DataStage does; a run overrides one with the parameter
``PS_DB.server``. Changing a set changes the hash of every stream that uses it (a resume on it is refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError, field_validator

from dcf.errors import ConfigError
from dcf.store.dialect import identifier
from dcf.stream.settings import StreamParameter, _Strict, parameter_shorthand
from dcf.stream.yaml_source import describe_validation_error, find_secret_key, line_suffix, read_yaml, shown_path

#: The folder, beside the stream YAMLs, that holds the parameter set files.
PARAMETER_SETS_DIR = "parameter_sets"


class ParameterSet(_Strict):
    parameter_set: str
    description: str = ""
    parameters: dict[str, StreamParameter]

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameters(cls, value: Any) -> Any:
        return parameter_shorthand(value)


@dataclass(frozen=True)
class LoadedParameterSet:
    definition: ParameterSet
    path: Path
    sha256: str

    def qualified(self) -> dict[str, StreamParameter]:
        """The set's parameters as a stream sees them: ``<set>.<name>``."""
        name = self.definition.parameter_set
        return {f"{name}.{member}": parameter for member, parameter in self.definition.parameters.items()}


def parameter_set_path(streams_folder: Path, name: str) -> Path:
    identifier(name, what="parameter set name")
    return streams_folder / PARAMETER_SETS_DIR / f"{name}.yaml"


def read_parameter_set(streams_folder: Path, name: str) -> LoadedParameterSet:
    """The set ``name`` from ``<streams_folder>/parameter_sets/<name>.yaml``; ConfigError with file and line."""
    path = parameter_set_path(streams_folder, name)
    if not path.is_file():
        raise ConfigError(f"parameter set {name!r}: no file {shown_path(path)}")
    shown = shown_path(path)
    document = read_yaml(path)
    if not isinstance(document.data, dict):
        raise ConfigError(f"{shown}: expected a mapping at the top level")
    secret = find_secret_key(document.data)
    if secret:
        raise ConfigError(f"{shown}: {secret}: secrets do not belong in a parameter set; name a Prefect block "
                          f"instead{line_suffix(document.node, secret.split('.'))}")
    try:
        definition = ParameterSet.model_validate(document.data)
    except ValidationError as error:
        raise ConfigError(f"{shown}: " + "; ".join(describe_validation_error(e, document.node)
                                                   for e in error.errors())) from None
    except ConfigError as error:
        raise ConfigError(f"{shown}: {error}") from None
    if definition.parameter_set != name:
        raise ConfigError(f"{shown}: parameter_set: {definition.parameter_set!r} differs from the file's name "
                          f"{name!r}{line_suffix(document.node, ['parameter_set'])}")
    return LoadedParameterSet(definition, path, document.sha256)
