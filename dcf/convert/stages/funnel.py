"""Funnel: the input links' rows together (UNION ALL), each projected to the output link's columns by name.
A sort funnel merges in key order; a table has no order, so only a stateful stage downstream would care."""

from __future__ import annotations

from dcf.convert.parts import AUTO, SEMI, ConversionContext, Cte
from dcf.datastage.px_graph import PxStage


def convert(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    inputs = ctx.graph.inputs(stage.name)
    [output] = ctx.graph.outputs(stage.name)
    names = ", ".join(column.name for column in output.columns)
    sql = " UNION ALL ".join(f"SELECT {names} FROM {link.name}" for link in inputs)
    if stage.properties.get("operator", "funnel") == "sortfunnel":
        ctx.verdict(stage.name, SEMI, "sort funnel as UNION ALL: the merge order is not kept (a table has none)")
    else:
        ctx.verdict(stage.name, AUTO, f"UNION ALL of {len(inputs)} inputs")
    return [Cte(output.name, sql, [link.name for link in inputs])]
