"""Sort stages and in-link sorts. A Sort stage is dropped (a table has no order); the order an in-link sort
gives matters to the stage that reads it (Remove Duplicates, a transformer's previous-row logic) and is read
from the pin's ``Sort`` metadata: ``tsort -key A -asc -key B -asc -nulls first -key C -cs -desc``."""

from __future__ import annotations

import shlex

from dcf.convert.parts import AUTO, ConversionContext, Cte, outputs_passed_through
from dcf.datastage.px_graph import PxStage


def convert(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    ctes = outputs_passed_through(stage, ctx)
    ctx.verdict(stage.name, AUTO, "dropped: a table has no order (a stage that needs one sorts its own input)")
    return ctes


def sort_keys(tsort: str) -> list[tuple[str, bool, bool]]:
    """``(column, ascending, nulls_first)`` of an in-link sort; [] when there is none. PX puts nulls first in
    an ascending sort unless told otherwise."""
    keys: list[tuple[str, bool, bool]] = []
    tokens = shlex.split(tsort) if tsort else []
    for position, token in enumerate(tokens):
        if token == "-key" and position + 1 < len(tokens):
            keys.append((tokens[position + 1], True, True))
        elif keys and token in ("-asc", "-desc"):
            keys[-1] = (keys[-1][0], token == "-asc", keys[-1][2])
        elif keys and token == "-nulls" and position + 1 < len(tokens):
            keys[-1] = (keys[-1][0], keys[-1][1], tokens[position + 1] == "first")
    return keys


def order_by(keys: list[tuple[str, bool, bool]], *, reverse: bool = False) -> str:
    parts = []
    for column, ascending, nulls_first in keys:
        up = ascending != reverse
        first = nulls_first != reverse
        parts.append(f"{column} {'ASC' if up else 'DESC'} NULLS {'FIRST' if first else 'LAST'}")
    return ", ".join(parts)
