"""Transformer (parallel): stage variables in evaluation order, then per output link its derivations under its
constraint; the Otherwise link gets the rows no other link takes. Every expression goes through the one BASIC
parser and :mod:`dcf.convert.derivations`.

Stage variables become columns computed one after the other (each may read the ones before it). A variable
that reads itself or a later one reads the previous row's value: that needs a window over the source order
(LAG) and is not converted yet — MANUAL, with the variable named.
"""

from __future__ import annotations

from sqlglot import exp

from dcf.convert.derivations import condition, to_sql
from dcf.convert.parts import AUTO, ConversionContext, Cte
from dcf.convert.sql import ConversionError
from dcf.datastage.px_graph import PxLink, PxStage
from dcf.stream.expressions import Expression, ExpressionError, parse_expression


def _parse(text: str, where: str) -> Expression:
    try:
        return parse_expression(text, any_field=True)
    except ExpressionError as error:
        raise ConversionError(f"{where}: {text!r}: {error}") from None


def convert(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    inputs = ctx.graph.inputs(stage.name)
    if len(inputs) != 1:
        raise ConversionError(f"{stage.name}: a transformer with {len(inputs)} inputs is not converted")
    [source] = inputs
    variables = [v.name for v in stage.variables]

    def resolve(parts: tuple[str, ...]) -> exp.Expression:
        if len(parts) == 2 and parts[0] == source.name:
            return exp.column(parts[1])
        if len(parts) == 1 and parts[0] in variables:
            return exp.column(parts[0])
        if len(parts) == 1 and parts[0] in ctx.parameters:
            return exp.Literal.string(ctx.stand_ins.parameter(parts[0]))
        raise ConversionError(f"{stage.name}: {'.'.join(parts)} is neither a column of {source.name}, a stage "
                              "variable nor a job parameter")

    def sql(node, as_condition: bool = False) -> str:
        expression = condition(node, resolve) if as_condition else to_sql(node, resolve)
        return ctx.stand_ins.show(expression.sql(dialect=ctx.dialect))

    rows = f"SELECT * FROM {source.name}"
    for position, variable in enumerate(stage.variables):
        parsed = _parse(variable.derivation or variable.initial or "''", f"stage variable {variable.name}")
        later = {p[0] for p in parsed.references()} & set(variables[position:])
        if later:
            raise ConversionError(f"{stage.name}: stage variable {variable.name} reads {sorted(later)} of the "
                                  "previous row (needs LAG over the source order): not converted yet")
        rows = f"SELECT *, {sql(parsed.tree)} AS {variable.name} FROM ({rows}) v{position}"
    prepared = Cte(f"{stage.name.lower()}_rows", rows, [source.name])
    outputs = ctx.graph.outputs(stage.name)
    constraints = {link.name: sql(_parse(link.constraint, f"constraint of {link.name}").tree, as_condition=True)
                   for link in outputs if link.constraint and not link.otherwise}
    ctes = [prepared]
    for link in outputs:
        select = ", ".join(_column_sql(link, column, source, sql) for column in link.columns)
        if link.otherwise:
            taken = [f"COALESCE(({c}), FALSE)" for c in constraints.values()]
            unconditional = [o for o in outputs if not o.otherwise and o.name not in constraints]
            where = "FALSE" if unconditional else " AND ".join(f"NOT {t}" for t in taken) or "TRUE"
        else:
            where = f"COALESCE(({constraints[link.name]}), FALSE)" if link.name in constraints else "TRUE"
        ctes.append(Cte(link.name, f"SELECT {select} FROM {prepared.name} WHERE {where}", [prepared.name]))
    ctx.verdict(stage.name, AUTO, f"{len(variables)} stage variable(s), {len(outputs)} output link(s) with "
                                  f"{sum(1 for lk in outputs for c in lk.columns if c.derivation)} derivation(s)")
    return ctes


def _column_sql(link: PxLink, column, source: PxLink, sql) -> str:
    if column.derivation:
        return f"{sql(_parse(column.derivation, f'{link.name}.{column.name}').tree)} AS {column.name}"
    origin = column.source_column.rpartition(".")[2] or column.name
    if origin not in {c.name for c in source.columns}:
        raise ConversionError(f"{link.name}.{column.name}: no derivation and no source column")
    return origin if origin == column.name else f"{origin} AS {column.name}"
