"""Aggregator: GROUP BY the ``key`` columns; ``selection`` reduce computes, per ``reduce`` column, its
sub-properties (sum, max, min, mean, count of non-missing values) into output columns; ``selection`` count
counts the rows of each group into ``countField``."""

from __future__ import annotations

from dcf.convert.parts import AUTO, ConversionContext, Cte
from dcf.convert.sql import ConversionError
from dcf.datastage.properties import composite
from dcf.datastage.px_graph import PxStage

_FUNCTIONS = {"sum": "SUM", "max": "MAX", "min": "MIN", "mean": "AVG", "count": "COUNT"}


def convert(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    [source] = ctx.graph.inputs(stage.name)
    [output] = ctx.graph.outputs(stage.name)
    keys = [entry.value for entry in composite(stage.properties.get("key", ""))]
    computed: dict[str, str] = {}
    if stage.properties.get("selection", "reduce").strip() == "count":
        field = stage.properties.get("countField", "").strip()
        if not field:
            raise ConversionError(f"{stage.name}: count rows without a countField")
        computed[field] = "COUNT(*)"
    for entry in composite(stage.properties.get("reduce", "")):
        for function, name in entry.sub.items():
            if function not in _FUNCTIONS:
                raise ConversionError(f"{stage.name}: aggregation {function!r} of {entry.value} is not converted")
            computed[name] = f"{_FUNCTIONS[function]}({entry.value})"
    parts = []
    for column in output.columns:
        if column.name in computed:
            parts.append(f"{computed[column.name]} AS {column.name}")
        elif column.name in keys or column.source_column.rpartition(".")[2] in keys:
            parts.append(f"{column.source_column.rpartition('.')[2] or column.name} AS {column.name}")
        else:
            raise ConversionError(f"{stage.name}: output column {column.name} is neither a key nor an aggregate")
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    ctx.verdict(stage.name, AUTO, f"GROUP BY {', '.join(keys) or '(all rows)'} with {len(computed)} aggregate(s)")
    return [Cte(output.name, f"SELECT {', '.join(parts)} FROM {source.name}{group}", [source.name])]
