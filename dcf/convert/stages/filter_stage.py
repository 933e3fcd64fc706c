"""Filter: a WHERE per output (``where`` clauses with their ``target`` output numbers); the reject link gets
the rows no clause holds for. A NULL comparison is false, so a clause is ``COALESCE(clause, FALSE)``. With
``first`` on, a row goes only to the first output whose clause holds."""

from __future__ import annotations

from dcf.convert.parts import AUTO, ConversionContext, Cte, passed_through
from dcf.convert.sql import ConversionError, transpile
from dcf.datastage.properties import composite
from dcf.datastage.px_graph import PxStage


def convert(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    [source] = ctx.graph.inputs(stage.name)
    outputs = ctx.graph.outputs(stage.name)
    rejects = [link for link in outputs if link.link_type == "Reject"]
    numbered = [link for link in outputs if link.link_type != "Reject"]
    clauses: list[tuple[str, int]] = []
    for entry in composite(stage.properties.get("where", "")):
        target = int(entry.sub.get("target", "0") or 0)
        if target >= len(numbered):
            raise ConversionError(f"{stage.name}: where clause {entry.value!r} sends rows to output {target}, "
                                  f"which is not linked")
        condition = transpile(entry.value, ctx.stand_ins, read="oracle", write=ctx.dialect, condition=True)
        clauses.append((f"COALESCE(({condition}), FALSE)", target))
    first = stage.properties.get("first", "").strip() == "first"
    ctes = []
    for number, link in enumerate(numbered):
        holds = []
        for position, (condition, target) in enumerate(clauses):
            if target == number:
                earlier = [c for c, _ in clauses[:position]] if first else []
                holds.append(" AND ".join([*(f"NOT {c}" for c in earlier), condition]))
        where = " OR ".join(f"({h})" for h in holds) or "FALSE"
        ctes.append(Cte(link.name, f"SELECT {passed_through(link, source)} FROM {source.name} WHERE {where}",
                        [source.name]))
    for link in rejects:
        where = " AND ".join(f"NOT {condition}" for condition, _ in clauses) or "TRUE"
        ctes.append(Cte(link.name, f"SELECT {passed_through(link, source)} FROM {source.name} WHERE {where}",
                        [source.name]))
    ctx.verdict(stage.name, AUTO, f"{len(clauses)} where clause(s) as WHERE per output"
                + ("; rows matching none to the reject link" if rejects else ""))
    return ctes
