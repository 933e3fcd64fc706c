"""Transformer (parallel): stage variables in evaluation order, then per output link its derivations under its
constraint; the Otherwise link gets the rows no other link takes. Every expression goes through the one BASIC
parser and :mod:`dcf.convert.derivations`.

Stage variables become columns computed one after the other (each may read the ones before it). A variable
read before its own turn holds the previous row's value: ``LAG(<its derivation>, 1, <its initial value>)``
over the order the rows arrive in — the source SQL's ORDER BY, on a sequential transformer (on a parallel one
it would depend on the partitioning: MANUAL). Computed over every row, before any constraint, as DataStage does.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from dcf.convert.derivations import condition, to_sql
from dcf.convert.parts import AUTO, ConversionContext, Cte
from dcf.convert.sql import ConversionError
from dcf.datastage.connectors import read_connector
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

    reading = [len(variables)]  # the position of the stage variable being converted (past the end: outputs)

    def resolve(parts: tuple[str, ...]) -> exp.Expression:
        if len(parts) == 2 and parts[0] == source.name:
            return exp.column(parts[1])
        if len(parts) == 1 and parts[0] in variables:
            before = variables.index(parts[0]) >= reading[0]  # not computed yet for this row: the previous row's
            return exp.column(f"DCF_PREVIOUS_{parts[0]}" if before else parts[0])
        if len(parts) == 1 and parts[0] in ctx.parameters:
            return exp.Literal.string(ctx.stand_ins.parameter(parts[0]))
        raise ConversionError(f"{stage.name}: {'.'.join(parts)} is neither a column of {source.name}, a stage "
                              "variable nor a job parameter")

    def sql(node, as_condition: bool = False) -> str:
        expression = condition(node, resolve, ctx.dialect) if as_condition else to_sql(node, resolve, ctx.dialect)
        return ctx.stand_ins.show(expression.sql(dialect=ctx.dialect))

    parsed = [_parse(v.derivation or v.initial or "''", f"stage variable {v.name}") for v in stage.variables]
    previous = {name for position, expression in enumerate(parsed)
                for name in {p[0] for p in expression.references()} & set(variables[position:])}
    rows = f"SELECT * FROM {source.name}"
    if previous:
        rows = f"SELECT *, {_previous_values(stage, source, parsed, sorted(previous), sql, ctx)} FROM {source.name}"
    for position, variable in enumerate(stage.variables):
        reading[0] = position
        rows = f"SELECT *, {sql(parsed[position].tree)} AS {variable.name} FROM ({rows}) v{position}"
    reading[0] = len(variables)
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
    carried = f"; previous-row value of {', '.join(sorted(previous))} by LAG" if previous else ""
    ctx.verdict(stage.name, AUTO, f"{len(variables)} stage variable(s), {len(outputs)} output link(s) with "
                                  f"{sum(1 for lk in outputs for c in lk.columns if c.derivation)} derivation(s)"
                                  + carried)
    return ctes


def _previous_values(stage: PxStage, source: PxLink, parsed: list[Expression], names: list[str], sql,
                     ctx: ConversionContext) -> str:
    """``LAG(...) AS DCF_PREVIOUS_<var>`` for each variable read before its turn, over the source's order."""
    if not stage.sequential:
        raise ConversionError(f"{stage.name}: stage variables {names} carry the previous row on a parallel "
                              "transformer: the value depends on the partitioning")
    order = _source_order(source, ctx)
    if not order:
        raise ConversionError(f"{stage.name}: stage variables {names} carry the previous row, and the order rows "
                              "arrive in is not known (no ORDER BY in the source SQL)")
    columns = []
    for name in names:
        position = [v.name for v in stage.variables].index(name)
        if any(ref[0] != source.name for ref in parsed[position].references()):
            raise ConversionError(f"{stage.name}: {name} carries the previous row and reads other variables: "
                                  "not converted yet")
        initial = _parse(stage.variables[position].initial or "''", f"initial value of {name}")
        columns.append(f"LAG({sql(parsed[position].tree)}, 1, {sql(initial.tree)}) OVER (ORDER BY {order}) "
                       f"AS DCF_PREVIOUS_{name}")
    return ", ".join(columns)


def _source_order(link: PxLink, ctx: ConversionContext) -> str | None:
    """The ORDER BY of the user SQL of the source connector ``link`` comes from, in the warehouse's dialect."""
    connector = read_connector(ctx.graph.stage(link.source))
    if connector is None or not connector.select:
        return None
    try:
        order = sqlglot.parse_one(ctx.stand_ins.hide(connector.select), read="oracle").args.get("order")
    except sqlglot.errors.ParseError:
        return None
    return None if order is None else ", ".join(e.sql(dialect=ctx.dialect) for e in order.expressions)


def _column_sql(link: PxLink, column, source: PxLink, sql) -> str:
    if column.derivation:
        return f"{sql(_parse(column.derivation, f'{link.name}.{column.name}').tree)} AS {column.name}"
    origin = column.source_column.rpartition(".")[2] or column.name
    if origin not in {c.name for c in source.columns}:
        raise ConversionError(f"{link.name}.{column.name}: no derivation and no source column")
    return origin if origin == column.name else f"{origin} AS {column.name}"
