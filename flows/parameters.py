"""Typed flow parameters, so the Prefect UI shows a proper form and the server refuses bad values early.

* :data:`StreamName` is a plain ``str`` for Python callers and tests (any stream under ``DCF_STREAMS_DIR``
  works), but its JSON schema lists the known stream names as an ``enum``. ``prefect deploy`` stores that
  schema with the deployment, so the UI offers a dropdown and the server (``enforce_parameter_schema``,
  on by default) answers 409 to an unknown name before any flow run exists. The list is read when the
  schema is generated (deploy time), not at import, so a test pointing ``DCF_STREAMS_DIR`` elsewhere
  after import still sees its own streams.
* :data:`ProcessDate` is a ``date``; its schema adds a YYYY-MM-DD pattern because the server checks
  patterns but not ``format: date`` (it validates without a format checker), so "03/01/2024" or "today" is
  refused before a run exists. An impossible day (2024-02-30) passes the pattern and is refused by the
  flow's own parameter validation, before any stage runs.
* :data:`BatchId` carries the batch-id rule of :func:`dcf.stream.run.prepare_run` into the schema.
* :class:`RunMode` is DataStage's ``dsjob -run -mode``, reduced to the modes that mean something here.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import GetJsonSchemaHandler, StringConstraints
from pydantic_core import CoreSchema

from dcf.stream.definition import load_all_streams
from dcf.stream.run import BATCH_ID_PATTERN


class _SchemaExtra:
    """Pydantic marker: add fixed keys to a parameter's JSON schema (validation is left to the type)."""

    def __init__(self, **extra: Any) -> None:
        self.extra = extra

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {**handler(schema), **self.extra}


class _KnownStreams:
    """Pydantic marker: add ``enum: [stream names]`` to the JSON schema of a ``str`` parameter."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        json_schema = handler(schema)
        # A broken stream YAML raises here: deploying with a broken stream should stop, with its one-line error.
        json_schema["enum"] = [stream.name for stream in load_all_streams()]
        return json_schema


class _EmptyMeans:
    """Pydantic marker for an optional parameter: the UI's toggle names what leaving it empty means,
    instead of offering a bare "None"."""

    def __init__(self, meaning: str) -> None:
        self.meaning = meaning

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        json_schema = handler(schema)
        for branch in json_schema.get("anyOf", []):
            if branch.get("type") == "null":
                branch["title"] = self.meaning
        return json_schema


#: A stream name (``stream.name`` of a configs/streams YAML); checked by ``load_stream``.
StreamName = Annotated[str, _KnownStreams()]

#: A business date; the UI shows a date picker, the server refuses text that is not YYYY-MM-DD.
ProcessDate = Annotated[date, _SchemaExtra(pattern=r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]

#: dcf.stream.run.prepare_run's rule, in the schema so the server refuses a bad batch id before a run exists.
BatchId = Annotated[str, StringConstraints(pattern=BATCH_ID_PATTERN)]

#: The optional parameters of a stream run, as the UI offers them: empty means the default it names.
OptionalProcessDate = Annotated[ProcessDate | None, _EmptyMeans("today (the stream's timezone)")]
OptionalBatchId = Annotated[BatchId | None, _EmptyMeans("stream id and date")]
OptionalWarehouseBlock = Annotated[str | None, _EmptyMeans("the local DuckDB file")]


class RunMode(StrEnum):
    """How a run treats an earlier failed run of the same stream and process date.

    NORMAL: resume the failed run after its last good stage (same PRCS_INST_ID), else start a new one —
    DataStage NORMAL/RESTART of a checkpointed sequence. RESET: start over with a new process instance,
    the failed one is marked superseded — DataStage RESET then run. VALIDATE: check everything that can be
    checked without running and print the plan; writes no row.
    """

    NORMAL = "NORMAL"
    RESET = "RESET"
    VALIDATE = "VALIDATE"
