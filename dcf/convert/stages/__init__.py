"""One module per stage type; ``CONVERTERS`` maps a ``stageType`` to the function that gives the CTE of each
of the stage's output links (target connectors and files become models in :mod:`dcf.convert.job`)."""

from __future__ import annotations

from collections.abc import Callable

from dcf.convert.parts import ConversionContext, Cte
from dcf.convert.stages import (
    aggregator,
    connector,
    copy,
    filter_stage,
    funnel,
    join,
    lookup,
    modify,
    remove_duplicates,
    sequential_file,
    sorting,
    transformer,
)
from dcf.datastage.px_graph import PxStage

Converter = Callable[[PxStage, ConversionContext], list[Cte]]

CONVERTERS: dict[str, Converter] = {
    "OracleConnectorPX": connector.source, "NetezzaConnectorPX": connector.source,
    "PxFilter": filter_stage.convert, "PxCopy": copy.convert, "PxFunnel": funnel.convert,
    "PxSort": sorting.convert, "PxRemDup": remove_duplicates.convert, "PxModify": modify.convert,
    "PxJoin": join.convert, "PxLookup": lookup.convert, "PxAggregator": aggregator.convert,
    "CTransformerStage": transformer.convert, "PxSVTransformer": transformer.convert,
    "PxSequentialFile": sequential_file.source,
}
