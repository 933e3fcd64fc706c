"""What every export reader produces: jobs, their parameters, activities and trigger links."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dcf.datastage.px_graph import PxGraph

#: DataStage job types (DSX ``JobType``, XMI ``jobType``).
JOB_KINDS = {"0": "server", "1": "mainframe", "2": "sequence", "3": "parallel", "Sequence": "sequence",
             "Parallel": "parallel", "Server": "server"}


@dataclass
class DsParameter:
    name: str
    default: str = ""
    prompt: str = ""
    type_code: str = ""
    #: A list parameter's values (DataStage validList).
    values: list[str] = field(default_factory=list)
    #: XMI ``extendedType`` (Parameterset, Stringlist, Pathname, Encrypted) or what DSX's ParamType code means.
    extended_type: str = ""

    @property
    def encrypted(self) -> bool:
        """A password: its default is an ``{iisenc}`` cipher text, never to be written anywhere."""
        return self.extended_type == "Encrypted" or self.default.startswith("{iisenc}")


@dataclass
class DsActivity:
    identifier: str
    name: str
    #: The activity class without DSX's leading C: JSJobActivity, JSSequencer, JSCondition, ...
    class_name: str
    settings: dict[str, str] = field(default_factory=dict)
    input_pins: list[str] = field(default_factory=list)
    output_pins: list[str] = field(default_factory=list)
    #: (name, expression) pairs: a user-variables activity's variables, a job activity's parameter values.
    values: list[tuple[str, str]] = field(default_factory=list)
    #: A multi-instance job's invocation id (``#PS.X#_#PM_Y#``), as written.
    invocation_id: str = ""

    @property
    def job_name(self) -> str:
        """The job a job activity runs (XMI's ``jobname`` attribute, DSX's ``Jobname`` field)."""
        return next((v for k, v in self.settings.items() if k.lower() == "jobname"), "")


@dataclass
class DsLink:
    """A trigger: from an activity's output pin to another activity."""

    name: str
    source: str
    target: str
    condition_type: str = "0"
    expression: str = ""
    #: The way back from an end loop to its start loop (its input pin's link type 4).
    loop_back: bool = False


@dataclass
class DsSubroutine:
    """A before/after-job subroutine (``has_FunctionCall``): ``DSU.ExecSH`` with its arguments."""

    context: str  # Before / After
    routine: str
    arguments: list[str] = field(default_factory=list)


@dataclass
class DsJob:
    name: str
    kind: str
    #: Where it came from: the export file, and the entry inside an ISX archive.
    source: str
    folder: str = ""
    #: The DataStage project it was exported from (DSProjectName), when the export says.
    project: str = ""
    parameters: list[DsParameter] = field(default_factory=list)
    activities: dict[str, DsActivity] = field(default_factory=dict)
    links: list[DsLink] = field(default_factory=list)
    #: What the reader could not make sense of (reported, never fatal).
    problems: list[str] = field(default_factory=list)
    #: A (server) job whose job-control BASIC runs other jobs: a sequence in all but name.
    job_control: bool = False
    #: The compiler-generated BASIC of a sequence (``jobControlCode``), backslashes as the export holds them.
    job_control_code: str = ""
    #: ``jobSeqCodeGenOpts``: handleaborts, checkpoints, logjoberrors, logjobreports.
    options: set[str] = field(default_factory=set)
    #: A parallel job's stages, links, columns and derivations (None for other kinds).
    graph: PxGraph | None = None
    #: Before/after-job subroutines, in the export's order.
    subroutines: list[DsSubroutine] = field(default_factory=list)

    def activity_of_pin(self, pin: str) -> DsActivity | None:
        for activity in self.activities.values():
            if pin in activity.output_pins or pin in activity.input_pins:
                return activity
        return None


@dataclass
class ReadProblem:
    """An export (or a job in it) that could not be read: one line naming the file and the job."""

    source: str
    message: str


def identifier_of(name: str, *, upper: bool = False) -> str:
    """A plain identifier derived from a DataStage name (``Seq-Load 1`` -> ``Seq_Load_1``)."""
    text = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "unnamed"
    if text[0].isdigit():
        text = f"n_{text}"
    return (text.upper() if upper else text)[:60]
