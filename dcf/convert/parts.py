"""What a converted job is made of: CTEs (one per link), the models written per target, and per stage the
tier of its conversion."""

from __future__ import annotations

from dataclasses import dataclass, field

from dcf.convert.sql import ConversionError, StandIns
from dcf.datastage.px_graph import PxGraph, PxLink, PxStage

AUTO, SEMI, MANUAL = "AUTO", "SEMI", "MANUAL"


@dataclass
class Cte:
    """The rows of one link, as a SELECT over the CTEs of its stage's inputs."""

    name: str
    sql: str
    reads: list[str] = field(default_factory=list)


@dataclass
class StageVerdict:
    stage: str
    stage_type: str
    tier: str
    note: str = ""


@dataclass
class DerivationVerdict:
    """One BASIC expression of a transformer (a column derivation, a stage variable, a constraint): its SQL,
    or why it has none."""

    stage: str
    target: str  # lnk_out.COLUMN / stage variable svX / constraint of lnk_out
    original: str
    sql: str | None
    note: str = ""

    @property
    def translated(self) -> bool:
        return self.sql is not None


@dataclass
class Model:
    name: str
    stage: str
    #: ``table`` (truncate and load), ``incremental`` (append or merge) or ``view``
    materialized: str
    sql: str
    target: str
    #: The target link's key columns, and whether the table relies on them (a merge): tests from the job.
    keys: list[str] = field(default_factory=list)
    keys_enforced: bool = False
    #: A target that was not converted: the model stops with the reasons until someone writes it.
    placeholder: bool = False


@dataclass
class LookupCheck:
    """A lookup whose failure action is fail: DataStage aborts the job when a primary row has no match."""

    stage: str
    primary: str
    reference: str
    #: ``reference.KEY = primary.COLUMN`` conditions
    conditions: list[str]


@dataclass
class ConversionContext:
    """One job's conversion under way: its graph, the CTE of every link converted so far, the verdicts."""

    graph: PxGraph
    dialect: str
    job: str = ""
    #: The job's parameter names (a bare name in a derivation that is one of them reads its value).
    parameters: set[str] = field(default_factory=set)
    stand_ins: StandIns = field(default_factory=StandIns)
    ctes: dict[str, Cte] = field(default_factory=dict)
    verdicts: list[StageVerdict] = field(default_factory=list)
    derivations: list[DerivationVerdict] = field(default_factory=list)
    checks: list[LookupCheck] = field(default_factory=list)

    def verdict(self, stage: str, tier: str, note: str = "") -> None:
        self.verdicts.append(StageVerdict(stage, self.graph.stage(stage).stage_type, tier, note))


def passed_through(link: PxLink, source: PxLink) -> str:
    """The select list of ``link`` from ``source``'s CTE: each column from the column it names (a rename is
    ``PRINCIPAL AS EXPOSURE_AMOUNT``)."""
    names = {column.name for column in source.columns}
    parts = []
    for column in link.columns:
        origin = column.source_column.rpartition(".")[2] if column.source_column else column.name
        if origin not in names:
            origin = column.name
        parts.append(origin if origin == column.name else f"{origin} AS {column.name}")
    return ", ".join(parts)


def from_inputs(link: PxLink, inputs: list[PxLink]) -> str:
    """The select list of ``link`` over several inputs joined under their link names: each column from the
    ``input.COLUMN`` it names (a column no input has is a ConversionError: its value would be made up)."""
    by_name = {source.name: {c.name for c in source.columns} for source in inputs}
    parts = []
    for column in link.columns:
        origin_link, _, origin = column.source_column.rpartition(".")
        if origin_link not in by_name or origin not in by_name[origin_link]:
            owners = [name for name, columns in by_name.items() if column.name in columns]
            if not owners:
                raise ConversionError(f"link {link.name}: column {column.name} comes from no input")
            origin_link, origin = owners[0], column.name
        parts.append(f"{origin_link}.{origin} AS {column.name}")
    return ", ".join(parts)


def outputs_passed_through(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    """A one-input stage whose output links are its input's rows with their own columns (Copy, a dropped Sort)."""
    [source] = ctx.graph.inputs(stage.name)
    return [Cte(link.name, f"SELECT {passed_through(link, source)} FROM {source.name}", [source.name])
            for link in ctx.graph.outputs(stage.name)]
