"""Join: the inputs joined on the ``key`` columns (left = first input pin), ``operator`` innerjoin /
leftouterjoin / rightouterjoin / fullouterjoin; each output column from the input it names."""

from __future__ import annotations

from dcf.convert.parts import AUTO, ConversionContext, Cte, from_inputs
from dcf.convert.sql import ConversionError
from dcf.datastage.properties import composite
from dcf.datastage.px_graph import PxStage

_JOINS = {"innerjoin": "INNER JOIN", "leftouterjoin": "LEFT JOIN", "rightouterjoin": "RIGHT JOIN",
          "fullouterjoin": "FULL OUTER JOIN"}


def convert(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    inputs = ctx.graph.inputs(stage.name)
    [output] = ctx.graph.outputs(stage.name)
    keys = [entry.value for entry in composite(stage.properties.get("key", ""))]
    operator = stage.properties.get("operator", "innerjoin").strip()
    if operator not in _JOINS or not keys or len(inputs) < 2:
        raise ConversionError(f"{stage.name}: join {operator!r} on {keys or 'no key'} is not converted")
    if operator == "fullouterjoin":
        raise ConversionError(f"{stage.name}: a full outer join's key columns need DataStage's left/right naming")
    left, *others = inputs
    sql = f"SELECT {from_inputs(output, inputs)} FROM {left.name}"
    for other in others:
        on = " AND ".join(f"{left.name}.{key} = {other.name}.{key}" for key in keys)
        sql += f" {_JOINS[operator]} {other.name} ON {on}"
    ctx.verdict(stage.name, AUTO, f"{_JOINS[operator]} on {', '.join(keys)}")
    return [Cte(output.name, sql, [link.name for link in inputs])]
