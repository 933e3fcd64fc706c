"""The typed model of a stream YAML (``configs/streams/*.yaml``) and its loader.

>>> from dcf.stream.definition import load_stream
>>> stream = load_stream("BCFINSG_PLAN_BALN_SEGM_LOAD")
>>> stream.stream.id, stream.lifecycle.retention_days
(1490, 2555)

Unknown keys are rejected. Any error comes out as one line that names the file, the field path, what is
wrong and, where the YAML parser knows it, the line, e.g.::

    configs/streams/x.yaml: dbt.selct: unknown key (line 14)

Secrets never belong in a stream YAML: keys that look like secrets are refused; name a Prefect block.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    PositiveInt,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from dcf.errors import ConfigError
from dcf.paths import PROJECT_ROOT, dcf_home, resolve_under_home
from dcf.store.dialect import identifier
from dcf.store.streams import StreamRecord
from dcf.stream.activities import Activity, DbtStep, IngestStep
from dcf.stream.parameter_sets import read_parameter_set
from dcf.stream.sequence import PARAMETERS, check_sequence
from dcf.stream.settings import (
    DataStageOrigin,
    DbtSettings,
    LifecycleSettings,
    ProfilingSettings,
    QualitySettings,
    ReportSettings,
    ScheduleSettings,
    SourceSettings,
    Stage,
    StageOptions,
    StreamInfo,
    StreamParameter,
    TargetSettings,
    _Strict,
    parameter_shorthand,
)
from dcf.stream.yaml_source import (
    describe_validation_error,
    find_secret_key,
    line_suffix,
    read_yaml,
    shown_path,
)

_STREAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")


class StreamConfig(_Strict):
    stream: StreamInfo
    datastage: DataStageOrigin | None = None
    #: The dbt project the stream's dbt activities build; needed only when something builds with dbt.
    dbt: DbtSettings | None = None
    #: Landing files and the raw table they load; None: the dbt selection reads what is already there.
    source: SourceSettings | None = None
    #: The quality gate between the build upstream of ``target.model`` and the load; None: no gate.
    quality: QualitySettings | None = None
    #: The model the stream loads (records loaded are counted there); None: nothing is counted.
    target: TargetSettings | None = None
    #: The activity graph (see dcf.stream.activities); None: ``ingest`` (with a source) then ``dbt_build``.
    sequence: list[Activity] | None = None
    #: The exception handler: runs when an activity fails and no trigger handles it; the run then fails.
    on_failure: list[Activity] = []
    #: An activity that fails and no trigger handles: ``abort`` the sequence (the exception handler runs, the
    #: run fails), or ``warn`` and go on (DataStage without "automatically handle activities that fail": the
    #: run ends with warnings).
    unhandled_failure: Literal["abort", "warn"] = "abort"
    #: How many activities whose triggers are satisfied run at once.
    max_parallel: PositiveInt = 4
    #: The stream's parameters (DataStage job parameters): a default, or {default, prompt, values}.
    parameters: dict[str, StreamParameter] = {}
    #: Shared parameter sets (dcf.stream.parameter_sets) whose members it reads as ``<set>.<name>``.
    parameter_sets: list[str] = []
    lifecycle: LifecycleSettings = LifecycleSettings()
    report: ReportSettings = ReportSettings()
    profiling: ProfilingSettings = ProfilingSettings()
    schedule: ScheduleSettings | None = None
    stages: dict[Stage, StageOptions] = {}
    #: Name of the DCF warehouse block; None means the embedded DuckDB default.
    warehouse_block: str | None = None
    #: Folders outside DCF_HOME that landing and archive folders may be in (production mounts).
    allowed_roots: list[str] = []
    #: The parameter sets' members, filled in by the loader (they live in their own files).
    _shared_parameters: dict[str, StreamParameter] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _gate_needs_target(self) -> StreamConfig:
        if self.quality is not None and self.target is None:
            raise ValueError("quality needs target: the gate sits between the build and the load of target.model")
        if self.sequence is not None and not self.sequence:
            raise ValueError("sequence: give at least one activity, or leave sequence out")
        if self.source is None and any(a.ingest is not None and a.ingest.source is None for a in self.all_activities()):
            raise ValueError("an ingest activity without its own source needs the stream's source: section")
        self._check_dbt_section()
        return self

    def _check_dbt_section(self) -> None:
        """``dbt:`` is required where something builds with dbt; ``dbt.select`` where an activity relies on it."""
        builds = [a.name for a in self.all_activities() if a.dbt is not None]
        if self.dbt is None and (builds or self.named_models()):
            needs = f"activity {builds[0]} builds with dbt" if builds else "a dbt model is named"
            raise ValueError(f"dbt: required field is missing ({needs}: give dbt.project_dir)")
        relying = [a.name for a in self.all_activities() if a.dbt is not None and a.dbt.builds
                   and a.dbt.select is None]
        if self.dbt is not None and not self.dbt.select and relying:
            raise ValueError(f"dbt.select: required field is missing (activity {relying[0]} selects nothing of its "
                             "own; give dbt.select, or select: on the activity)")

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameters(cls, value: Any) -> Any:
        for name in value if isinstance(value, dict) else ():
            if name in PARAMETERS:
                raise ValueError(f"{name!r} is a run parameter every stream has; choose another name")
        return parameter_shorthand(value)

    @field_validator("parameter_sets")
    @classmethod
    def _parameter_set_names(cls, value: list[str]) -> list[str]:
        for name in value:
            identifier(name, what="parameter set name")
        if len(set(value)) < len(value):
            raise ValueError("a parameter set is named twice")
        return value

    @property
    def all_parameters(self) -> dict[str, StreamParameter]:
        """The stream's own parameters and its parameter sets' (as ``<set>.<name>``)."""
        return {**self.parameters, **self._shared_parameters}

    def parameter_values(self) -> dict[str, Any]:
        """Each stream parameter's value for a run (its default)."""
        return {name: parameter.default for name, parameter in self.all_parameters.items()}

    def stage_options(self, stage: Stage) -> StageOptions:
        return self.stages.get(stage, StageOptions())

    @property
    def activities(self) -> list[Activity]:
        """The graph the stream runs: its ``sequence``, or the one its ``source``/``dbt`` keys stand for."""
        if self.sequence is not None:
            return self.sequence
        options = {name: self.stages.get(name, StageOptions()) for name in ("ingest", "dbt_build")}
        # Ingest's warnings (no landing files configured) do not stop the build, as before there were activities.
        build = Activity(name="dbt_build", dbt=DbtStep(), after={"ingest": "ok_or_warnings"} if self.source else [],
                         **options["dbt_build"].model_dump())
        if self.source is None:
            return [build]
        return [Activity(name="ingest", ingest=IngestStep(), **options["ingest"].model_dump()), build]

    def all_activities(self) -> list[Activity]:
        """Every activity, loop bodies and the exception handler included."""
        found: list[Activity] = []
        pending = [*self.activities, *self.on_failure]
        while pending:
            activity = pending.pop(0)
            found.append(activity)
            if activity.loop is not None:
                pending.extend(activity.loop.do)
        return found

    def named_models(self) -> set[str]:
        """dbt models the stream's sections and activities name (their relations are kept from the build)."""
        named = {s.model for s in (self.quality, self.target) if s is not None} | set(self.profiling.tables)
        named |= {a.quality_gate.model for a in self.all_activities() if a.quality_gate is not None}
        # a compare side without a schema is a dbt model the stream builds (the spec upper-cases names)
        return named | {side.lower() for a in self.all_activities() if a.compare is not None
                        for side in (a.compare.legacy, a.compare.new) if "." not in side}


class SequenceProblems(ConfigError):
    """What is wrong with a stream's activity graph: one line per problem (file, field, activity, line)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(lines[0] if len(lines) == 1 else f"{len(lines)} problems: " + "; ".join(lines))
        self.lines = lines


class LoadedStream(BaseModel):
    """A validated stream config together with the file it came from."""

    model_config = ConfigDict(frozen=True)
    config: StreamConfig
    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return self.config.stream.name

    def record(self) -> StreamRecord:
        """The stream's DCF_T_STRM row content."""
        info = self.config.stream
        return StreamRecord(
            strm_id=info.id, name=info.name, description=info.description or None, status=info.status,
            datastage_sequence=self.config.datastage.sequence if self.config.datastage else None,
            config_path=str(self.path), config_hash=self.sha256,
        )


def streams_dir() -> Path:
    return Path(os.environ.get("DCF_STREAMS_DIR", PROJECT_ROOT / "configs" / "streams"))


def parse_stream_file(path: Path, *, check_graph: bool = True) -> LoadedStream:
    """Read and validate one stream YAML; raise :class:`ConfigError` with a one-line message.

    ``check_graph=False`` leaves the activity graph's checks to the caller (VALIDATE reports each problem)."""
    shown = shown_path(path)
    document = read_yaml(path)
    data, node = document.data, document.node
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: expected a mapping at the top level, found {type(data).__name__}")
    secret = find_secret_key(data)
    if secret:
        raise ConfigError(
            f"{shown}: {secret}: secrets do not belong in a stream YAML; name a Prefect block instead"
            f"{line_suffix(node, secret.split('.'))}"
        )
    roots = [dcf_home(), *(resolve_under_home(r) for r in data.get("allowed_roots") or [] if isinstance(r, str))]
    try:
        config = StreamConfig.model_validate(data, context={"roots": roots})
    except ValidationError as error:
        raise ConfigError(f"{shown}: " + "; ".join(describe_validation_error(e, node) for e in error.errors())) \
            from None
    except ConfigError as error:
        raise ConfigError(f"{shown}: {error}") from None
    sha256 = _attach_parameter_sets(config, path, document.sha256, node)
    problems = check_sequence(config.sequence or [], config.on_failure, stream_name=config.stream.name,
                              parameters=tuple(config.all_parameters)) if check_graph else []
    if problems:
        raise SequenceProblems([f"{shown}: {'.'.join(loc)}: {message}{line_suffix(node, loc)}"
                                for loc, message in problems])
    return LoadedStream(config=config, path=path, sha256=sha256)


def _attach_parameter_sets(config: StreamConfig, path: Path, sha256: str, node: Any) -> str:
    """Read the stream's parameter sets into it; the stream's hash then covers their files too."""
    if not config.parameter_sets:
        return sha256
    shared: dict[str, StreamParameter] = {}
    digest = hashlib.sha256(sha256.encode())
    activities = {a.name for a in config.all_activities()}
    for index, name in enumerate(config.parameter_sets):
        where = f"{shown_path(path)}: parameter_sets.{index}"
        if name in activities:
            raise ConfigError(f"{where}: {name!r} is also an activity's name; {name}.x would be ambiguous"
                              f"{line_suffix(node, ['parameter_sets', str(index)])}")
        try:
            loaded = read_parameter_set(path.parent, name)
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}"
                              f"{line_suffix(node, ['parameter_sets', str(index)])}") from None
        shared.update(loaded.qualified())
        digest.update(loaded.sha256.encode())
    config._shared_parameters = shared
    return digest.hexdigest()


def list_stream_files() -> list[Path]:
    return sorted(streams_dir().glob("*.yaml"))


def load_all_streams() -> list[LoadedStream]:
    """Every stream YAML, validated; two files with the same stream name or id are an error."""
    loaded = [parse_stream_file(path) for path in list_stream_files()]
    for attribute in ("name", "id"):
        seen: dict[Any, Path] = {}
        for item in loaded:
            value = getattr(item.config.stream, attribute)
            if value in seen:
                raise ConfigError(
                    f"{shown_path(item.path)}: stream.{attribute}: {value!r} is already used by "
                    f"{shown_path(seen[value])}"
                )
            seen[value] = item.path
    return loaded


def load_stream(name_or_path: str | Path) -> LoadedStream:
    """A stream by name (case-insensitive), by file stem, or by path to its YAML (``python -m dcf.config``)."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        if not candidate.exists():
            raise ConfigError(f"{candidate}: no such stream file")
        return parse_stream_file(candidate)
    return load_named_stream(str(name_or_path))


def load_named_stream(name: str) -> LoadedStream:
    """A stream by its ``stream.name`` or its file's stem (case-insensitive): what a run's ``stream``
    parameter names, on every entry point — never a path, so a run reads only the streams directory."""
    return parse_stream_file(find_stream_file(name))


def find_stream_file(name: str) -> Path:
    """The YAML of the stream named ``name`` (see :func:`load_named_stream`)."""
    if not isinstance(name, str) or not _STREAM_NAME.fullmatch(name):
        raise ConfigError(f"stream {name!r}: a run names its stream by stream.name (letters, digits and _), "
                          "never by a path")
    wanted = name.upper()
    for path in list_stream_files():
        if path.stem.upper() == wanted:
            return path
    for stream in load_all_streams():
        if stream.name == wanted:
            return stream.path
    known = ", ".join(s.name for s in load_all_streams()) or "none"
    raise ConfigError(f"unknown stream {name!r}; known streams: {known} (in {shown_path(streams_dir())})")
