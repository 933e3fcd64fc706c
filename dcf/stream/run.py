"""The context one stream run carries from stage to stage (serialisable, so Prefect can pass it)."""

from __future__ import annotations

import os
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dcf.store.stage_rows import InstanceRef
from dcf.store.statuses import StreamStatus
from dcf.stream.definition import StreamConfig, parse_stream_file
from dcf.stream.parameter_sets import PARAMETER_SETS_DIR

#: What a batch id may be: it lands in DCF rows and file names. flows.parameters puts it in the UI schema.
BATCH_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"


class StreamRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream_name: str
    config_path: Path
    process_date: date
    batch_id: str
    warehouse_block: str | None = None
    full_refresh: bool = False
    reset: bool = False
    prcs_inst_id: int | None = None
    resumed: bool = False
    #: The instance whose ``stream:`` activity runs this one.
    parent_prcs_inst_id: int | None = None
    #: Values for the stream's own ``parameters`` (the rest keep their defaults).
    parameters: dict[str, str] = {}

    #: When the run started (DataStage's DSJobStartDate / DSJobStartTimestamp).
    started: datetime = Field(default_factory=datetime.now)

    def parameter_values(self) -> dict[str, Any]:
        """Every stream parameter's value in this run: what the run was given, else the default."""
        return {**self.config.parameter_values(), **self.parameters}

    def run_values(self) -> dict[str, Any]:
        """What every expression of the run reads by bare name besides its parameters (sequence.PARAMETERS)."""
        return run_values(self.config, process_date=self.process_date, batch_id=self.batch_id,
                          prcs_inst_id=self.prcs_inst_id, started=self.started)

    @property
    def config(self) -> StreamConfig:
        return _cached_config(self.config_path, self.config_path.stat().st_mtime_ns,
                              _parameter_sets_version(self.config_path.parent))

    @property
    def ref(self) -> InstanceRef:
        if self.prcs_inst_id is None:
            raise RuntimeError("no process instance allocated yet")
        return InstanceRef(self.prcs_inst_id, self.config.stream.id, self.stream_name, self.process_date,
                           self.batch_id)


@lru_cache(maxsize=32)
def _cached_config(path: Path, mtime_ns: int, sets_version: int) -> StreamConfig:
    """Every stage reads the stream's config; parse the YAML once per version of the file (and of the
    parameter set files beside it)."""
    return parse_stream_file(path).config


def _parameter_sets_version(streams_folder: Path) -> int:
    try:
        with os.scandir(streams_folder / PARAMETER_SETS_DIR) as entries:
            return max((entry.stat().st_mtime_ns for entry in entries), default=0)
    except OSError:
        return 0  # no parameter sets folder


def prepare_run(
    stream: str,
    process_date: date | str | None,
    batch_id: str | None,
    *,
    full_refresh: bool = False,
    reset: bool = False,
    warehouse_block: str | None = None,
    parent_prcs_inst_id: int | None = None,
    parameters: dict[str, str] | None = None,
) -> StreamRun:
    """Check a run's parameters before anything is written; raise RefusedError / ConfigError if bad."""
    import re
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from dcf.errors import RefusedError
    from dcf.stream.definition import load_named_stream

    loaded = load_named_stream(stream)
    config = loaded.config
    if isinstance(process_date, str):
        try:
            process_date = date.fromisoformat(process_date)
        except ValueError:
            raise RefusedError(f"process_date {process_date!r} is not a date (expected YYYY-MM-DD)") from None
    if process_date is None:
        timezone = ZoneInfo(config.schedule.timezone) if config.schedule else None
        process_date = datetime.now(timezone).date()
    if batch_id is None:
        # Stable for a stream and date, so a restart without parameters keeps the instance's batch id.
        batch_id = f"{config.stream.id}_{process_date:%Y%m%d}"
    elif not re.fullmatch(BATCH_ID_PATTERN, batch_id):
        raise RefusedError(f"batch_id {batch_id!r}: use 1-100 letters, digits, '_', '.', ':' or '-'")
    for name, value in (parameters or {}).items():
        declared = config.all_parameters.get(name)
        if declared is None:
            raise RefusedError(f"stream {loaded.name} has no parameter {name!r} (its parameters: "
                               f"{', '.join(config.all_parameters) or 'none'})")
        if declared.values and str(value) not in declared.values:
            raise RefusedError(f"parameter {name} = {value!r}: must be one of {declared.values}")
    if config.stream.status != StreamStatus.ACTIVE:
        raise RefusedError(f"stream {loaded.name} is {config.stream.status} in {loaded.path.name}")
    # The flow's parameter (a deployment's, from the YAML) wins; a run started by hand reads the YAML's.
    warehouse_block = warehouse_block or config.warehouse_block
    return StreamRun(stream_name=loaded.name, config_path=loaded.path, process_date=process_date,
                     batch_id=batch_id, warehouse_block=warehouse_block, full_refresh=full_refresh, reset=reset,
                     parent_prcs_inst_id=parent_prcs_inst_id,
                     parameters={name: str(value) for name, value in (parameters or {}).items()})


def run_values(config: StreamConfig, *, process_date: date, batch_id: str, prcs_inst_id: int | None,
               started: datetime) -> dict[str, Any]:
    """The run-level values expressions read by bare name (a real run's, or a what-if plan's)."""
    origin = config.datastage
    return {"process_date": process_date.isoformat(), "batch_id": batch_id, "stream_name": config.stream.name,
            "stream_id": config.stream.id, "prcs_inst_id": prcs_inst_id,
            "DSJobStartDate": started.date().isoformat(), "DSJobStartTimestamp": started.strftime("%Y-%m-%d %H:%M:%S"),
            "DSProjectName": (origin.project if origin and origin.project else config.stream.name),
            "DSJobName": config.stream.name, "error_source": "", "error_number": "", "error_message": ""}
