"""Transformer (parallel): stage variables in evaluation order, then per output link its derivations under its
constraint; the Otherwise link gets the rows no other link takes. Every expression goes through the one BASIC
parser and :mod:`dcf.convert.derivations`.

Stage variables become columns computed one after the other (each may read the ones before it). A variable
read before its own turn holds the previous row's value: ``LAG(<its derivation>, 1, <its initial value>)``
over the order the rows arrive in — the source SQL's ORDER BY, on a sequential transformer (on a parallel one
it would depend on the partitioning: MANUAL). Computed over every row, before any constraint, as DataStage does.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp

from dcf.convert.derivations import condition, to_sql
from dcf.convert.parts import AUTO, SEMI, ConversionContext, Cte, DerivationVerdict
from dcf.convert.sql import ConversionError
from dcf.convert.sql_functions import WIDE_DECIMAL
from dcf.datastage.connectors import read_connector
from dcf.datastage.px_graph import PxLink, PxStage
from dcf.stream.expressions import Expression, ExpressionError, parse_expression

#: The BASIC Transformer: the same layout, server BASIC functions (Iconv, Oconv, Field, x[1,4]).
BASIC_TRANSFORMER = "PxSVTransformer"


def _parse(text: str, where: str) -> Expression:
    try:
        return parse_expression(text, any_field=True)
    except ExpressionError as error:
        raise ConversionError(f"{where}: {text!r}: {error}") from None


class _Expressions:
    """One transformer's expressions as SQL: what a reference reads, each expression recorded with its SQL (or
    why it has none) in the conversion's derivation verdicts."""

    def __init__(self, stage: PxStage, source: PxLink, ctx: ConversionContext) -> None:
        self.stage, self.source, self.ctx = stage, source, ctx
        self.variables = [v.name for v in stage.variables]
        #: the position of the stage variable being converted (past the end: the output links)
        self.reading = len(self.variables)
        self.failures: list[str] = []

    def resolve(self, parts: tuple[str, ...]) -> exp.Expression:
        if len(parts) == 2 and parts[0] == self.source.name:
            return exp.column(parts[1])
        if len(parts) == 1 and parts[0] in self.variables:
            before = self.variables.index(parts[0]) >= self.reading  # not computed yet for this row: the previous
            return exp.column(f"DCF_PREVIOUS_{parts[0]}" if before else parts[0])
        if len(parts) == 1 and parts[0] in self.ctx.parameters:
            return exp.Literal.string(self.ctx.stand_ins.parameter(parts[0]))
        raise ConversionError(f"{self.stage.name}: {'.'.join(parts)} is neither a column of {self.source.name}, a "
                              "stage variable nor a job parameter")

    def sql(self, node, as_condition: bool = False, scale: int | None = None) -> str:
        """``node`` as SQL; with ``scale``, written to a decimal column of that scale: truncated toward zero
        (PX's default rounding), not rounded as a CAST would."""
        dialect = self.ctx.dialect
        expression = condition(node, self.resolve, dialect) if as_condition else \
            to_sql(node, self.resolve, dialect, scale=scale)
        if scale is not None:
            expression = exp.Trunc(this=exp.cast(expression, WIDE_DECIMAL), decimals=exp.Literal.number(scale))
        return self.ctx.stand_ins.show(expression.sql(dialect=dialect))

    def translated(self, target: str, original: str, produce: Callable[[], str]) -> str:
        """One expression's SQL, recorded with its original; a failure is recorded too, and the stage fails
        once every expression has been tried (the report lists each)."""
        try:
            text = produce()
        except ConversionError as error:
            self.ctx.derivations.append(DerivationVerdict(self.stage.name, target, original, None, str(error)))
            self.failures.append(str(error))
            return "NULL"
        self.ctx.derivations.append(DerivationVerdict(self.stage.name, target, original, text))
        return text


def convert(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    inputs = ctx.graph.inputs(stage.name)
    if len(inputs) != 1:
        raise ConversionError(f"{stage.name}: a transformer with {len(inputs)} inputs is not converted")
    expressions = _Expressions(stage, inputs[0], ctx)
    prepared, previous = _variables_cte(expressions)
    outputs = ctx.graph.outputs(stage.name)
    ctes = [prepared, *_output_ctes(expressions, prepared, outputs)]
    if expressions.failures:
        failures = expressions.failures
        raise ConversionError(f"{len(failures)} expression(s) not translated: {'; '.join(failures[:3])}"
                              + (" …" if len(failures) > 3 else ""))
    carried = (f"; approximated: {', '.join(sorted(previous))} carries the previous row's value, here a LAG over "
               "the source SQL's ORDER BY (DataStage takes it from the order rows reach a sequential transformer, "
               "which that ORDER BY gives only while nothing between them re-orders)") if previous else ""
    basic = "; a BASIC Transformer: its server-BASIC functions with the parallel ones' NULL rule (a NULL " \
            "argument gives NULL), not checked against a run" if stage.stage_type == BASIC_TRANSFORMER else ""
    ctx.verdict(stage.name, SEMI if basic or previous else AUTO,
                f"{len(stage.variables)} stage variable(s), {len(outputs)} output link(s) with "
                f"{sum(1 for lk in outputs for c in lk.columns if c.derivation)} derivation(s)" + carried + basic)
    return ctes


def _variables_cte(expressions: _Expressions) -> tuple[Cte, set[str]]:
    """Every row with the stage variables computed in order (and the previous row's values some read)."""
    stage, source, ctx = expressions.stage, expressions.source, expressions.ctx
    variables = expressions.variables
    parsed = [_parse(v.derivation or v.initial or "''", f"stage variable {v.name}") for v in stage.variables]
    previous = {name for position, expression in enumerate(parsed)
                for name in {p[0] for p in expression.references()} & set(variables[position:])}
    rows = f"SELECT * FROM {source.name}"
    if previous:
        lagged = _previous_values(stage, source, parsed, sorted(previous), expressions.sql, ctx)
        rows = f"SELECT *, {lagged} FROM {source.name}"
    for position, variable in enumerate(stage.variables):
        expressions.reading = position
        value = expressions.translated(f"stage variable {variable.name}", variable.derivation or variable.initial,
                                       lambda tree=parsed[position].tree: expressions.sql(tree))
        rows = f"SELECT *, {value} AS {variable.name} FROM ({rows}) v{position}"
    expressions.reading = len(variables)
    return Cte(f"{stage.name.lower()}_rows", rows, [source.name]), previous


def _output_ctes(expressions: _Expressions, prepared: Cte, outputs: list[PxLink]) -> list[Cte]:
    """Per output link its columns under its constraint; the Otherwise link the rows no other link takes."""
    sql, translated = expressions.sql, expressions.translated
    constraints = {link.name: translated(f"constraint of {link.name}", link.constraint, lambda link=link: sql(
        _parse(link.constraint, f"constraint of {link.name}").tree, as_condition=True))
        for link in outputs if link.constraint and not link.otherwise}
    ctes = []
    for link in outputs:
        select = ", ".join(_passed_column(link, column, expressions.source) if not column.derivation else
                           translated(f"{link.name}.{column.name}", column.derivation,
                                      lambda link=link, column=column: _derived(link, column, sql))
                           + f" AS {column.name}" for column in link.columns)
        if link.otherwise:
            taken = [f"COALESCE(({c}), FALSE)" for c in constraints.values()]
            unconditional = [o for o in outputs if not o.otherwise and o.name not in constraints]
            where = "FALSE" if unconditional else " AND ".join(f"NOT {t}" for t in taken) or "TRUE"
        else:
            where = f"COALESCE(({constraints[link.name]}), FALSE)" if link.name in constraints else "TRUE"
        ctes.append(Cte(link.name, f"SELECT {select} FROM {prepared.name} WHERE {where}", [prepared.name]))
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


def _derived(link: PxLink, column, sql) -> str:
    scale = column.scale or 0 if column.type_code == "Decimal" else None
    return sql(_parse(column.derivation, f"{link.name}.{column.name}").tree, scale=scale)


def _passed_column(link: PxLink, column, source: PxLink) -> str:
    origin = column.source_column.rpartition(".")[2] or column.name
    if origin not in {c.name for c in source.columns}:
        raise ConversionError(f"{link.name}.{column.name}: no derivation and no source column")
    return origin if origin == column.name else f"{origin} AS {column.name}"
