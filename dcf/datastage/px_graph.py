"""A parallel job as a stage graph: stages with their properties, links with their columns, derivations,
constraints and properties, transformer stage variables in evaluation order. Read from XMI
(:mod:`dcf.datastage.px_xmi`); what the converter to dbt reads.

    graph.stage("LKP_DIM_CURRENT").input_pins        # pin order = link order (primary first, left first)
    graph.inputs("LKP_DIM_CURRENT")                  # its input links, in that order
    link.columns[0].derivation                       # the BASIC expression, None for a pass-through
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PxColumn:
    name: str
    type_code: str = ""  # String, Int32, Int64, Decimal, Date, Datetime, Dfloat, ... (DataStage's, as read)
    length: int | None = None
    scale: int | None = None
    nullable: bool = True
    key: bool = False
    #: The BASIC derivation; None for a column passed through (``source_column`` names it).
    derivation: str | None = None
    #: ``link.COLUMN`` (or a stage variable) the value comes from.
    source_column: str = ""
    #: A lookup's key expression on a reference link column (``lnk_primary.CUSTOMER_ID``).
    lookup_key: str | None = None
    #: Written in the link's compact ``dSFlowVar*`` attributes rather than as an element.
    compact: bool = False


@dataclass
class PxStageVariable:
    name: str
    derivation: str
    initial: str = ""
    type_code: str = ""


@dataclass
class PxPin:
    internal_id: str
    #: Pin attributes (``lookupFail``, ``conditionNotMet``, ...) and its APT metadata (``Sort``, ``Part/Col``).
    attributes: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class PxStage:
    name: str
    stage_type: str
    internal_id: str
    properties: dict[str, str] = field(default_factory=dict)
    input_pins: list[str] = field(default_factory=list)
    output_pins: list[str] = field(default_factory=list)
    pins: dict[str, PxPin] = field(default_factory=dict)
    sequential: bool = False
    #: Transformer stage variables, in evaluation order.
    variables: list[PxStageVariable] = field(default_factory=list)


@dataclass
class PxLink:
    name: str
    link_type: str  # Primary / Reference / Reject
    source: str  # stage names
    target: str
    source_pin: str  # internal ids
    target_pin: str
    columns: list[PxColumn] = field(default_factory=list)
    #: Properties by usage: ``Out`` belongs to the source stage (a file's read options), ``In`` to the target.
    properties_out: dict[str, str] = field(default_factory=dict)
    properties_in: dict[str, str] = field(default_factory=dict)
    constraint: str | None = None

    @property
    def otherwise(self) -> bool:
        """A transformer's Otherwise/Log link (the link property ``Reject=1``)."""
        return self.properties_out.get("Reject", "").strip() == "1"


@dataclass
class PxGraph:
    stages: dict[str, PxStage] = field(default_factory=dict)
    links: list[PxLink] = field(default_factory=list)

    def stage(self, name: str) -> PxStage:
        return self.stages[name]

    def inputs(self, stage: str) -> list[PxLink]:
        """The stage's input links in pin order (the order that means something: left/right, primary first)."""
        order = {pin: n for n, pin in enumerate(self.stages[stage].input_pins)}
        return sorted((link for link in self.links if link.target == stage), key=lambda x: order.get(x.target_pin, 99))

    def outputs(self, stage: str) -> list[PxLink]:
        order = {pin: n for n, pin in enumerate(self.stages[stage].output_pins)}
        return sorted((link for link in self.links if link.source == stage), key=lambda x: order.get(x.source_pin, 99))

    def link(self, name: str) -> PxLink:
        return next(link for link in self.links if link.name == name)
