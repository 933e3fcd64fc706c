"""Typed flow parameters, so the Prefect UI shows a proper form and the server refuses bad values early.

* :data:`StreamName` is a plain ``str`` for Python callers and tests (any stream under ``DCF_STREAMS_DIR``
  works), but its JSON schema lists the known stream names as an ``enum``. ``prefect deploy`` stores that
  schema with the deployment, so the UI offers a dropdown and the server (``enforce_parameter_schema``,
  on by default) answers 409 to an unknown name before any flow run exists. The list is read when the
  schema is generated (deploy time), not at import, so a test pointing ``DCF_STREAMS_DIR`` elsewhere
  after import still sees its own streams.
* :data:`ProcessDate` is a ``date`` (``format: date``): the UI offers a date picker, and its form check
  answers "'03/01/2024' is not a 'date'". The server does not check formats when a run is requested
  through the API (it validates without a format checker), so there the flow's own parameter check
  refuses the text in one line naming the field and the expected form, before any stage runs. (A
  pattern would be checked by the server too, but a user would read the raw regular expression.)
* :func:`run_form`: an optional parameter shows one input, not a choice between a value and "None"; an
  empty field is left out of the request and the flow takes the default its description names.
* :data:`BatchId` carries the batch-id rule of :func:`dcf.stream.run.prepare_run` into the schema.
* :class:`RunMode` is DataStage's ``dsjob -run -mode``, reduced to the modes that mean something here.
"""

from __future__ import annotations

import inspect
import warnings
from datetime import date
from enum import StrEnum
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from prefect import Flow
from pydantic import BeforeValidator, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import PydanticJsonSchemaWarning
from pydantic_core import CoreSchema

from dcf.stream.definition import load_all_streams
from dcf.stream.run import BATCH_ID_PATTERN

FlowT = TypeVar("FlowT", bound=Flow)


class _KnownStreams:
    """Pydantic marker: add ``enum: [stream names]`` to the JSON schema of a ``str`` parameter."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        json_schema = handler(schema)
        # A broken stream YAML raises here: deploying with a broken stream should stop, with its one-line error.
        json_schema["enum"] = [stream.name for stream in load_all_streams()]
        return json_schema


def _parse_date(value: Any) -> Any:
    """Text must be YYYY-MM-DD; the message says so in words (pydantic's would name a parsing rule)."""
    if not isinstance(value, str):
        return value
    try:  # fromisoformat alone would also take 20240301 and week dates
        if len(value) == 10 and value[4] == value[7] == "-":
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise ValueError(f"{value!r} is not a date of the form YYYY-MM-DD (e.g. 2024-03-01)")


#: A stream name (``stream.name`` of a configs/streams YAML); checked by ``load_stream``.
StreamName = Annotated[str, _KnownStreams()]

#: A business date: a date picker in the UI; text that is not YYYY-MM-DD is refused by the form's check, or
#: (a request through the API) by the flow's parameter check, in words.
ProcessDate = Annotated[date, BeforeValidator(_parse_date)]

#: dcf.stream.run.prepare_run's rule, in the schema so the server refuses a bad batch id before a run exists.
BatchId = Annotated[str, StringConstraints(pattern=BATCH_ID_PATTERN)]

#: The optional parameters of a stream run, as the UI offers them: empty means the default it names.
OptionalProcessDate = ProcessDate | None
OptionalBatchId = BatchId | None
OptionalWarehouseBlock = str | None


class _LeftEmpty:
    """The default of an optional parameter in the run form's signature: pydantic cannot encode it, so the
    schema has no ``default`` (see :func:`run_form`)."""

    def __repr__(self) -> str:
        return "<left empty>"


# pydantic says so each time it leaves such a default out of a schema; here that is the point.
warnings.filterwarnings("ignore", message="Default value <left empty> is not JSON serializable",
                        category=PydanticJsonSchemaWarning)


def run_form(flow: FlowT) -> FlowT:
    """Give the flow's run form one plain input per optional parameter.

    The Prefect UI draws ``X | None = None`` as a choice between X and a branch that reads 'Property is
    type "None"', and fills the field with the default ``null``. The form (``prefect deploy`` builds it
    from ``inspect.signature(flow)``) is therefore generated from a signature where such a parameter is
    plain X without a default: the UI shows one empty input and leaves it out of the request, and the
    server accepts a missing or ``null`` value for it. Calls and parameter checks use the function's own
    signature, so Python callers still pass ``None``."""
    signature = inspect.signature(flow.fn, eval_str=True)
    parameters = [parameter.replace(annotation=_without_none(parameter.annotation), default=_LeftEmpty())
                  if parameter.default is None else parameter for parameter in signature.parameters.values()]
    flow.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return flow


def _without_none(annotation: Any) -> Any:
    """``X | None`` → X, inside ``Annotated`` too."""
    if get_origin(annotation) is Annotated:
        inner, *metadata = get_args(annotation)
        return Annotated[(_without_none(inner), *metadata)]
    if get_origin(annotation) in (Union, UnionType):
        members = tuple(member for member in get_args(annotation) if member is not type(None))
        return members[0] if len(members) == 1 else Union[members]  # noqa: UP007 (a tuple of members)
    return annotation


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
