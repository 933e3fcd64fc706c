"""The activities of a stream's ``sequence:``: one model per DataStage activity type, and the trigger keys.

An activity is a mapping with a ``name``, exactly one kind key and optional triggers::

    - name: load_orders                 # its DCF_T_PRCS_EXEC_LOG.PRCS_NAME
      dbt: {select: ["tag:orders"]}     # the kind key and its settings
      after: {ingest: ok_or_warnings}   # or a list: each input ended OK
      wait_for: all                     # all | any: DataStage's sequencer
      when: "ingest.$UserStatus <> 'EMPTY'"

=================  ==================================  ===========================================
kind key           DataStage activity                  what it does
=================  ==================================  ===========================================
``dbt``            job activity (parallel/server job)  an in-process dbt build, logged live
``stream``         job activity calling a sequence     the child stream as a subflow, same date
``command``        execute command                     argv without a shell; exit code, stdout
``wait_for_file``  wait for file                       polls a glob under DCF_HOME
``set_vars``       user variables activity             values for later parameters/expressions
``loop``           start loop / end loop               the body once per item, in order
``notify``         notification activity               Prefect notification blocks
``terminate``      terminator activity                 ends the run FAILED with a message
``ingest``         file list + bulk load               landing files into the raw table
``quality_gate``   the gate before the load            the quality model's verdict as $UserStatus
``compare``        the parallel run (legacy vs new)    MATCH or MISMATCH as $UserStatus
``sequencer``      sequencer (all / any)               nothing: it joins triggers (``wait_for``)
``nested_condition`` nested condition                  nothing: its followers' triggers branch
=================  ==================================  ===========================================

A trigger's condition is a keyword (``ok``, ``warnings``, ``ok_or_warnings``, ``failed``, ``always``,
``otherwise``) or a custom expression, ``{custom: "load.$JobStatus = RUNWARN"}``: DataStage's custom and
return-value triggers, read when the input has ended, whatever its status. ``otherwise`` fires when none of the
input's other triggers does (custom ones included).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator, model_validator

from dcf.compare.spec import CompareSpec
from dcf.store.dialect import identifier
from dcf.stream.expressions import ExpressionError, parse_expression
from dcf.stream.settings import QualitySettings, SourceSettings, TestWarnings, _Strict, block_names

#: The kind keys, in the order the docs list them.
KINDS = ("dbt", "stream", "command", "wait_for_file", "set_vars", "loop", "notify", "terminate", "ingest",
         "quality_gate", "compare", "sequencer", "nested_condition")
#: Kinds that only shape the graph: they run nothing.
STRUCTURAL_KINDS = ("sequencer", "nested_condition")
#: A trigger's condition on one input (DataStage link trigger types).
Keyword = Literal["ok", "warnings", "ok_or_warnings", "failed", "always", "otherwise"]


class CustomTrigger(_Strict):
    """A custom trigger: fires when the expression holds, read once its input has ended."""

    custom: str

    @field_validator("custom")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse_expression(value)
        except ExpressionError as error:
            raise ValueError(str(error)) from None
        return value


Condition = Keyword | CustomTrigger
_ACTIVITY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,59}")


class DbtStep(_Strict):
    """A dbt build, or with ``operation`` a macro run by ``dbt run-operation`` (a job that only runs SQL); what
    it leaves out comes from the stream's ``dbt:`` section."""

    #: The job it replaces (the importer sets DataStage's job name): what ``$JobName`` reads.
    job: str | None = None
    select: list[str] | None = Field(None, min_length=1, description="default: the stream's dbt.select")
    exclude: list[str] = []
    vars: dict[str, Any] = {}
    full_refresh: bool = False
    threads: PositiveInt | None = None
    reuse: bool | None = None
    test_warnings: TestWarnings | None = Field(None, description="default: the stream's dbt.test_warnings")
    #: A macro of the project to run instead of a build, logged like one (a JOB row, a MODEL row for it).
    operation: str | None = None
    #: The operation's arguments (``--args``).
    args: dict[str, Any] = {}

    @field_validator("operation")
    @classmethod
    def _macro_name(cls, value: str | None) -> str | None:
        if value is not None:
            identifier(value, what="dbt operation (macro name)")  # checked; a macro's name is kept as written
        return value

    @model_validator(mode="after")
    def _build_or_operation(self) -> DbtStep:
        if self.operation is None:
            if self.args:
                raise ValueError("args: only an operation takes args (give operation: <macro>)")
            return self
        building = [name for name in ("select", "exclude", "full_refresh", "reuse", "test_warnings")
                    if name in self.model_fields_set]
        if building:
            raise ValueError(f"{', '.join(building)}: an operation runs a macro and builds nothing; leave "
                             f"{'it' if len(building) == 1 else 'them'} out or drop operation:")
        return self

    @property
    def builds(self) -> bool:
        """Whether this step builds a selection (rather than running an operation)."""
        return self.operation is None


class ChildStream(_Strict):
    name: str
    #: The child's run parameters: ``batch_id``, the child stream's own ``parameters`` and its parameter sets'
    #: (``PS_DB.server``); values may hold ``#...#``.
    parameters: dict[str, str] = {}

    @field_validator("parameters")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            for part in name.split(".", 1):
                identifier(part, what="child stream parameter")
        return value

    @field_validator("name")
    @classmethod
    def _plain(cls, value: str) -> str:
        return identifier(value, what="child stream name")


class CommandStep(_Strict):
    """An executable and its arguments, run without a shell (``#...#`` references are filled in)."""

    argv: list[str] = Field(min_length=1)
    timeout_s: PositiveFloat = 3600
    env: dict[str, str] = {}


class WaitForFile(_Strict):
    #: A glob relative to DCF_HOME (``#...#`` references allowed).
    path: str
    mode: Literal["appear", "disappear"] = "appear"
    timeout_s: PositiveFloat = 3600
    poll_s: PositiveFloat = 5

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError(f"{value!r} must be a glob relative to DCF_HOME, without '..'")
        return value


class NumericRange(_Strict):
    """A numeric loop's bounds: ``from``..``to`` by ``step``; each may be a ``#parameter#``."""

    from_: int | str = Field(1, alias="from")
    to: int | str
    step: int | str = 1


class Loop(_Strict):
    """DataStage's start/end loop: ``do`` runs once per item of ``over``, in order."""

    #: A list, a numeric range, or a string (``#...#`` references allowed) split on ``delimiter``.
    over: list[str | int | float] | NumericRange | str
    as_: str = Field(alias="as")
    delimiter: str = Field(",", min_length=1, max_length=10)
    do: list[Activity] = Field(min_length=1)
    #: The end loop's triggers: the next iteration starts only when they fire (DataStage: the end loop is
    #: reached); otherwise the loop stops there and ends with warnings. Empty: every iteration goes on.
    continue_after: dict[str, Condition] = {}

    @field_validator("as_")
    @classmethod
    def _variable(cls, value: str) -> str:
        identifier(value, what="loop variable")  # checked; kept as written (expressions name it so)
        return value


class Notify(_Strict):
    #: Prefect notification blocks as ``<block-type-slug>/<block-name>``.
    blocks: list[str] = Field(min_length=1)
    subject: str
    body: str = ""

    _slugs = field_validator("blocks")(lambda value: block_names(value))


class Terminate(_Strict):
    message: str


class IngestStep(_Strict):
    """Today's ingest; ``source`` defaults to the stream's ``source:`` section."""

    source: SourceSettings | None = None


class QualityGate(QualitySettings):
    """The quality model's verdict of the day, read after the dbt activity that built it.

    ``$UserStatus`` is READY_FOR_LOADING, QUALITY_ISSUES or NO_DATA_AVAILABLE; the activity ends OK when the
    day may load and with warnings otherwise (failed with ``on_quality_issues: fail``), so an ``ok`` trigger
    is the load's gate.
    """


class NestedCondition(_Strict):
    """DataStage's nested condition: runs nothing; its followers' triggers hold the branches."""


class Activity(_Strict):
    name: str
    after: list[str] | dict[str, Condition] = []
    wait_for: Literal["all", "any"] = "all"
    when: str | None = None
    #: DataStage's "do not checkpoint run": runs again on a restart even if it completed.
    always_rerun: bool = False
    #: End with a failure when the activity ends with warnings (a plain OK trigger would not fire anyway).
    stop_on_warnings: bool = False
    dbt: DbtStep | None = None
    stream: ChildStream | str | None = None
    command: CommandStep | list[str] | None = None
    wait_for_file: WaitForFile | None = None
    set_vars: dict[str, str | int | float | bool] | None = None
    loop: Loop | None = None
    notify: Notify | None = None
    terminate: Terminate | str | None = None
    ingest: IngestStep | None = None
    quality_gate: QualityGate | None = None
    #: The parallel run: the legacy relation against the migrated one (dcf.compare.spec).
    compare: CompareSpec | None = None
    #: A sequencer: waits for all or any of its inputs (its ``wait_for``), then its followers start.
    sequencer: Literal["all", "any"] | None = None
    nested_condition: NestedCondition | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        if isinstance(data, dict):
            kinds = [key for key in KINDS if key in data]
            if len(kinds) != 1:
                found = f"found {' and '.join(kinds)}" if kinds else "found none"
                raise ValueError(f"an activity has exactly one kind key ({', '.join(KINDS)}); {found}")
            if isinstance(data.get("command"), str):
                raise ValueError("command must be a list of arguments, e.g. [python, check.py], never a shell "
                                 "string: nothing runs through a shell")
        return data

    @field_validator("name")
    @classmethod
    def _plain(cls, value: str) -> str:
        if not _ACTIVITY_NAME.fullmatch(value):
            raise ValueError(f"{value!r}: an activity name is a plain identifier (letters, digits, _; at most 60)")
        return value

    @field_validator("set_vars")
    @classmethod
    def _variables(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        for name in value or {}:
            identifier(name, what="user variable")
        return value

    @model_validator(mode="after")
    def _normalised(self) -> Activity:
        # The short forms, as their full models (frozen: set through object.__setattr__ once, here).
        if isinstance(self.stream, str):
            object.__setattr__(self, "stream", ChildStream(name=self.stream))
        if isinstance(self.command, list):
            object.__setattr__(self, "command", CommandStep(argv=self.command))
        if isinstance(self.terminate, str):
            object.__setattr__(self, "terminate", Terminate(message=self.terminate))
        if self.sequencer is not None:
            object.__setattr__(self, "wait_for", self.sequencer)
        return self

    @property
    def kind(self) -> str:
        return next(key for key in KINDS if getattr(self, key) is not None)

    @property
    def inputs(self) -> dict[str, Condition]:
        """Each input activity and the condition its trigger fires on."""
        if isinstance(self.after, dict):
            return dict(self.after)
        return dict.fromkeys(self.after, "ok")

    def passed(self, text: Callable[[str], str]) -> dict[str, Any]:
        """What this activity hands its job or child stream (DataStage's DSSetParam): a dbt build's vars or a
        child stream's parameters, each ``#reference#`` filled in by ``text``; empty for other kinds."""
        values = self.dbt.vars if self.dbt is not None else self.stream.parameters if self.stream is not None else {}
        return {key: text(value) if isinstance(value, str) else value for key, value in values.items()}

    def job_name(self, passed: dict[str, Any]) -> str:
        """``$JobName``: the job a dbt build replaces (its ``job``, else the activity's name) or the child
        stream, with ``.<invocation id>`` for a multi-instance run (the ``dcf_invocation_id`` it is handed)."""
        name = (self.dbt.job if self.dbt is not None else None) or (
            self.stream.name if self.stream is not None else self.name)
        invocation = passed.get("dcf_invocation_id")
        return f"{name}.{invocation}" if invocation not in (None, "") else name

    def read_activities(self) -> set[str]:
        """The activities this one's ``when:`` and custom triggers read (none of an expression that does not
        parse: check_sequence says so)."""
        texts = [self.when] if self.when else []
        texts += [c.custom for c in self.inputs.values() if isinstance(c, CustomTrigger)]
        read: set[str] = set()
        for text in texts:
            with contextlib.suppress(ExpressionError):
                read |= parse_expression(text).activities()
        return read


Loop.model_rebuild()
