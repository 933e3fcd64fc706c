"""Transformer derivations and constraints as SQL: the one BASIC parser (:mod:`dcf.stream.expressions`) gives the
tree, this back end turns it into a sqlglot expression rendered for the warehouse (each function through
:mod:`dcf.convert.sql_functions`). A function, operator or system variable it has no SQL for is a
:class:`ConversionError` naming it, never a guess.

    to_sql(parse_expression('Right("0000" : lnk.ID, 10)', any_field=True).tree, resolve)
    # RIGHT('0000' || CAST(ID AS VARCHAR), 10)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from dcf.convert.sql import ConversionError
from dcf.convert.sql_functions import call_sql, text
from dcf.stream.expressions import Binary, Call, IfThenElse, Literal, Not, Reference

#: ``resolve(parts) -> SQL`` for a reference: a link column, a stage variable, a job parameter.
Resolve = Callable[[tuple[str, ...]], exp.Expression]
_COMPARISONS = {"=": exp.EQ, "<>": exp.NEQ, "<": exp.LT, ">": exp.GT, "<=": exp.LTE, ">=": exp.GTE}
_ARITHMETIC = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul, "/": exp.Div}
_BOOLEAN_CALLS = {"isnull", "isnotnull"}


def condition(node: Any, resolve: Resolve, dialect: str = "duckdb") -> exp.Expression:
    """``node`` where a truth value is wanted: a comparison as it is, any other value ``<> 0`` (BASIC truth)."""
    sql = to_sql(node, resolve, dialect)
    boolean = (isinstance(node, Not) or (isinstance(node, Binary) and (node.op in _COMPARISONS
                                                                        or node.op in ("and", "or")))
               or (isinstance(node, Call) and node.function in _BOOLEAN_CALLS))
    return sql if boolean else exp.NEQ(this=sql, expression=exp.Literal.number(0))


def to_sql(node: Any, resolve: Resolve, dialect: str = "duckdb", *, scale: int | None = None) -> exp.Expression:
    """``node`` as SQL; ``scale``: the decimal scale of the column it is written to (StringToDecimal rounds to
    it), carried into the branches of If/Then/Else."""
    if isinstance(node, Literal):
        if isinstance(node.value, str):
            return exp.Literal.string(node.value)
        return exp.Literal.number(node.value)
    if isinstance(node, Reference):
        return resolve(node.parts)
    if isinstance(node, Not):
        return exp.Not(this=condition(node.operand, resolve, dialect))
    if isinstance(node, IfThenElse):
        return exp.Case(ifs=[exp.If(this=condition(node.condition, resolve, dialect),
                                    true=to_sql(node.then, resolve, dialect, scale=scale))],
                        default=to_sql(node.otherwise, resolve, dialect, scale=scale))
    if isinstance(node, Call):
        return call_sql(node, [to_sql(a, resolve, dialect) for a in node.arguments], dialect, scale)
    if isinstance(node, Binary):
        if node.op in ("and", "or"):
            kind = exp.And if node.op == "and" else exp.Or
            return kind(this=condition(node.left, resolve, dialect), expression=condition(node.right, resolve, dialect))
        left, right = to_sql(node.left, resolve, dialect), to_sql(node.right, resolve, dialect)
        if node.op == ":":
            return exp.DPipe(this=text(left), expression=text(right))
        if node.op in _ARITHMETIC:
            return exp.Paren(this=_ARITHMETIC[node.op](this=left, expression=right))
        return _COMPARISONS[node.op](this=left, expression=right)
    raise ConversionError(f"expression part {type(node).__name__} has no SQL translation")
