"""Remove Duplicates: one row per key, the first or last in the order of the in-link sort —
``QUALIFY ROW_NUMBER() OVER (PARTITION BY key ORDER BY <sort>) = 1`` (last: the sort reversed)."""

from __future__ import annotations

from dcf.convert.parts import AUTO, SEMI, ConversionContext, Cte, passed_through
from dcf.convert.sql import ConversionError
from dcf.convert.stages.sorting import order_by, sort_keys
from dcf.datastage.properties import composite
from dcf.datastage.px_graph import PxStage


def convert(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    [source] = ctx.graph.inputs(stage.name)
    [output] = ctx.graph.outputs(stage.name)
    keys = [entry.value for entry in composite(stage.properties.get("key", ""))]
    if not keys:
        raise ConversionError(f"{stage.name}: Remove Duplicates without a key")
    keep_last = stage.properties.get("keep", "first").strip() == "last"
    ordering = sort_keys(stage.pins[source.target_pin].metadata.get("Sort", ""))
    order = order_by(ordering, reverse=keep_last) or ", ".join(keys)
    sql = (f"SELECT {passed_through(output, source)} FROM {source.name} "
           f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {', '.join(keys)} ORDER BY {order}) = 1")
    if ordering:
        ctx.verdict(stage.name, AUTO, f"keep {'last' if keep_last else 'first'} per {', '.join(keys)} in the "
                                      "in-link sort's order (QUALIFY ROW_NUMBER)")
    else:
        ctx.verdict(stage.name, SEMI, "no in-link sort: which duplicate DataStage keeps depends on arrival order; "
                                      "kept: the first by key")
    return [Cte(output.name, sql, [source.name])]
