"""Copy: each output link is its input's rows with its own columns (renames included)."""

from __future__ import annotations

from dcf.convert.parts import AUTO, ConversionContext, Cte, outputs_passed_through
from dcf.datastage.px_graph import PxStage


def convert(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    ctes = outputs_passed_through(stage, ctx)
    ctx.verdict(stage.name, AUTO, "a select per output link")
    return ctes
