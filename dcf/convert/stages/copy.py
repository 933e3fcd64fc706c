"""Copy: each output link is its input's rows with its own columns (renames included)."""

from __future__ import annotations

from dcf.convert.parts import AUTO, ConversionContext, Cte, passed_through
from dcf.datastage.px_graph import PxStage


def convert(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    [source] = ctx.graph.inputs(stage.name)
    ctx.verdict(stage.name, AUTO, "a select per output link")
    return [Cte(link.name, f"SELECT {passed_through(link, source)} FROM {source.name}", [source.name])
            for link in ctx.graph.outputs(stage.name)]
