"""The settings a stream YAML is made of (one class per section), strict: unknown keys are refused."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationInfo, field_validator, model_validator

from dcf.errors import ConfigError
from dcf.paths import dcf_home, resolve_under_home, resolve_under_project
from dcf.store.dialect import identifier, relation_name

TestWarnings = Literal["finish_with_warnings", "ignore"]
Stage = Literal["validate", "process_id", "ingest", "dbt_build", "profile", "metadata", "lifecycle", "report"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StreamInfo(_Strict):
    name: str = Field(description="Stream name, a plain identifier: BCFINSG_PLAN_BALN_SEGM_LOAD")
    id: PositiveInt = Field(description="Stream id in DCF_T_STRM")
    description: str = ""
    status: Literal["ACTIVE", "INACTIVE"] = "ACTIVE"
    #: A RUNNING instance whose process sent no heartbeat for this long is taken as dead by reconcile and by
    #: the next run — the rule for owners on another host (on the same host a dead pid is seen at once).
    #: Seconds, or ``HH:MM:SS`` / ISO 8601 (``PT2H``); empty: only the flow run's state and the pid decide.
    stale_after: timedelta | None = Field(None, gt=timedelta(seconds=0))

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        return identifier(value, what="stream name")


class DataStageOrigin(_Strict):
    sequence: str
    #: The DataStage project (what ``DSProjectName`` reads); empty: the stream's name stands in.
    project: str = ""
    #: Each original DataStage activity and the stage or activity that replaces it.
    activities: dict[str, str]


class DbtSettings(_Strict):
    project_dir: str
    profiles_dir: str | None = Field(None, description="The project's own profiles (checked against the stream's "
                                     "warehouse); empty: a profile for the warehouse is written for the build")
    target: str = "local"
    #: The selection of a dbt activity that names none of its own (and of a stream without ``sequence``).
    select: list[str] = []
    exclude: list[str] = []
    vars: dict[str, Any] = {}
    threads: PositiveInt | None = None
    #: One Prefect task run per dbt node (prefect-dbt style). Costs ~0.06-0.09 s per node.
    task_per_node: bool = False
    #: State-aware reuse of unchanged models (off by default; full_refresh disables it).
    reuse: bool = False
    #: Row counts of views in the execution log: a view's count runs its query, so by default only where it is
    #: cheap (DuckDB); true counts them on Snowflake too, false never.
    count_views: bool | None = None
    #: A dbt test that warned ends the activity, and the run, with warnings (DataStage's "finished with
    #: warnings"), the warned tests named in the report; ``ignore``: recorded on the stage row only.
    test_warnings: TestWarnings = "finish_with_warnings"

    @property
    def project_path(self) -> Path:
        return resolve_under_project(self.project_dir)

    @property
    def profiles_path(self) -> Path | None:
        """The stream's own profiles dir; None: the build uses a profile written for the warehouse."""
        return resolve_under_project(self.profiles_dir) if self.profiles_dir else None


def _inside_roots(value: str, info: ValidationInfo) -> str:
    """A folder from config must resolve inside DCF_HOME or one of the stream's ``allowed_roots``."""
    roots = [Path(root) for root in ((info.context or {}).get("roots") or [dcf_home()])]
    resolved = resolve_under_home(value).resolve()
    if not any(resolved.is_relative_to(root.resolve()) for root in roots):
        raise ValueError(f"{value!r} resolves to {resolved}, outside DCF_HOME ({dcf_home()}) and the stream's "
                         "allowed_roots: list its root in allowed_roots (a production mount, say)")
    return value


class LandingFiles(_Strict):
    directory: str = Field(description="Relative to DCF_HOME unless absolute; inside DCF_HOME or allowed_roots")
    #: File-name pattern inside ``directory``; ``{process_date:%Y%m%d}`` is filled in with the run's process date.
    glob: str
    format: Literal["csv"] = "csv"
    delimiter: str = Field(",", min_length=1, max_length=1)
    #: Load whatever matches the glob, even without the process date in its name (off: a day's run must not
    #: pick up another day's delivery).
    any_file: bool = False
    #: Rows of a file that may fail to parse (field count, quoting, encoding) before the file is refused; the
    #: rejected rows go to a rejects file beside the archive either way.
    max_rejects: int = Field(0, ge=0)

    _directory_inside = field_validator("directory")(_inside_roots)

    @field_validator("glob")
    @classmethod
    def _a_file_name(cls, value: str) -> str:
        if "/" in value or "\\" in value or ".." in value:
            raise ValueError(f"{value!r} must be a file-name pattern inside landing.directory, not a path")
        return value

    @model_validator(mode="after")
    def _names_the_day(self) -> LandingFiles:
        if "{process_date" not in self.glob and not self.any_file:
            raise ValueError(f"glob {self.glob!r} does not contain the process date ({{process_date:%Y%m%d}}): a run "
                             "would load another day's files; set landing.any_file: true if that is meant")
        return self

    def pattern_for(self, process_date: date) -> str:
        try:
            return self.glob.format(process_date=process_date)
        except (KeyError, IndexError, ValueError) as error:
            raise ConfigError(f"landing.glob {self.glob!r}: only {{process_date:...}} may be used ({error})") from None


class SourceSettings(_Strict):
    #: Raw table the landing files are loaded into, schema.table in the warehouse.
    relation: str
    landing: LandingFiles | None = None
    process_date_column: str = "PRCS_DATE"
    #: The landing files' columns, in file order: a file whose header differs is refused, and the raw table is
    #: created from these (never inferred from a file). None: taken from each file's header.
    columns: list[str] | None = Field(None, min_length=1)

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        names = [identifier(name, what="source.columns entry") for name in value]
        if len(set(names)) < len(names):
            raise ValueError("a column is named twice")
        return names

    @field_validator("relation")
    @classmethod
    def _relation(cls, value: str) -> str:
        return relation_name(value, what="source.relation")

    @field_validator("process_date_column")
    @classmethod
    def _column(cls, value: str) -> str:
        return identifier(value, what="column")


class QualitySettings(_Strict):
    #: dbt model holding one quality score per record.
    model: str
    score_column: str = "data_quality_score"
    status_column: str = "final_processing_status"
    ready_status: str = "READY_FOR_LOADING"
    #: Optional column saying why a record was not ready (e.g. DUPLICATE_NATURAL_KEY); the report counts each reason.
    reason_column: str | None = None
    load_threshold: float = Field(70, ge=0, le=100, description="average score needed to load")
    high_threshold: float = Field(85, ge=0, le=100, description="records at or above are 'high'")
    #: What QUALITY_ISSUES (average score below load_threshold) does. The gate is assessed between the build
    #: of everything upstream of ``target.model`` and the build of the target:
    #: ``skip_load`` (default, the BCFINSG sequence): the target is not loaded, the run completes with
    #: warnings (DataStage status 2); ``fail``: the target is not loaded and the run fails (aborted);
    #: ``load_with_warning``: the READY records are loaded anyway and the run completes with warnings.
    on_quality_issues: Literal["skip_load", "fail", "load_with_warning"] = "skip_load"

    @field_validator("model", "score_column", "status_column", "reason_column")
    @classmethod
    def _ident(cls, value: str | None) -> str | None:
        if value is not None:
            identifier(value, what="quality column or model")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> QualitySettings:
        if self.high_threshold < self.load_threshold:
            raise ValueError("high_threshold must be >= load_threshold")
        return self


class TargetSettings(_Strict):
    #: dbt model the stream loads (the fact); records loaded are counted there.
    model: str
    process_date_column: str = "process_date"

    @field_validator("model", "process_date_column")
    @classmethod
    def _ident(cls, value: str) -> str:
        identifier(value, what="target model or column")
        return value


class LifecycleSettings(_Strict):
    archive_dir: str = Field("archive", description="Relative to DCF_HOME unless absolute; inside DCF_HOME or "
                                                    "allowed_roots")
    retention_days: PositiveInt = 2555

    _archive_inside = field_validator("archive_dir")(_inside_roots)


def block_names(value: list[str]) -> list[str]:
    """Prefect notification block names, each ``<block-type-slug>/<block-name>``."""
    for name in value:
        if not re.fullmatch(r"[a-z0-9-]+/[a-zA-Z0-9_-]+", name):
            raise ValueError(f"{name!r} must be '<block-type-slug>/<block-name>', e.g. 'slack-webhook/ops'")
    return value


class ReportSettings(_Strict):
    #: Prefect notification blocks as ``<block-type-slug>/<block-name>``, e.g. ``slack-webhook/bcfinsg-ops``.
    notification_blocks: list[str] = []

    _slugs = field_validator("notification_blocks")(lambda value: block_names(value))


class ProfilingSettings(_Strict):
    #: dbt model names or schema.table relations to profile after the build.
    tables: list[str] = []
    sample_rate: float | None = Field(None, gt=0, le=1)
    seed: int | None = None
    quantiles: list[float] = [0.25, 0.5, 0.75]
    top_values_max_distinct: PositiveInt = 50
    approximate: bool = False
    max_concurrency: PositiveInt = 4


class ScheduleSettings(_Strict):
    cron: str
    timezone: str = "UTC"
    active: bool = False

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("cron must have five fields, e.g. '0 6 * * 1-5'")
        return value


class StreamParameter(_Strict):
    """A stream parameter (a DataStage job parameter): expressions and ``#name#`` read its value."""

    default: str | int | float | bool = ""
    prompt: str = ""
    #: The values a list parameter may take (DataStage's validList).
    values: list[str] = []
    #: A password: the name of the Prefect Secret block that holds it (read when the run needs it; never a
    #: default in the file).
    secret_block: str | None = None

    @model_validator(mode="after")
    def _default_listed(self) -> StreamParameter:
        if self.values and str(self.default) not in self.values:
            raise ValueError(f"default {self.default!r} is not one of values {self.values}")
        if self.secret_block is not None and self.default != "":
            raise ValueError("a parameter read from a secret block has no default")
        return self


def parameter_shorthand(value: Any) -> Any:
    """Parameter names checked; ``name: value`` read as ``name: {default: value}``."""
    if not isinstance(value, dict):
        return value
    for name in value:
        identifier(str(name), what="parameter name")
    return {name: item if isinstance(item, dict) else {"default": item} for name, item in value.items()}


class StageOptions(_Strict):
    #: Run again on a restart even if it finished before (DataStage "Do not checkpoint run").
    always_rerun: bool = False
    #: Stop the stream when this stage ends with warnings (a plain DataStage OK trigger).
    stop_on_warnings: bool = False
