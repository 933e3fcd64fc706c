"""Transformer derivations and constraints as SQL: the one BASIC parser (:mod:`dcf.stream.expressions`) gives the
tree, this back end turns it into a sqlglot expression rendered for the warehouse. A function, operator or
system variable it has no SQL for is a :class:`ConversionError` naming it, never a guess.

    to_sql(parse_expression('Right("0000" : lnk.ID, 10)', any_field=True).tree, resolve)
    # RIGHT('0000' || CAST(ID AS VARCHAR), 10)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from dcf.convert.sql import ConversionError
from dcf.store.dialect import Dialect
from dcf.stream.basic_functions import strftime_format
from dcf.stream.expressions import Binary, Call, IfThenElse, Literal, Not, Reference

#: ``resolve(parts) -> SQL`` for a reference: a link column, a stage variable, a job parameter.
Resolve = Callable[[tuple[str, ...]], exp.Expression]
_COMPARISONS = {"=": exp.EQ, "<>": exp.NEQ, "<": exp.LT, ">": exp.GT, "<=": exp.LTE, ">=": exp.GTE}
_ARITHMETIC = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul, "/": exp.Div}
_BOOLEAN_CALLS = {"isnull", "isnotnull"}


def _text(node: exp.Expression) -> exp.Expression:
    """A value as text, as BASIC concatenates and measures it."""
    if isinstance(node, exp.Literal) and node.is_string:
        return node
    return exp.cast(node, "VARCHAR")


def _format(node: Any, function: str) -> str:
    if not (isinstance(node, Literal) and isinstance(node.value, str)):
        raise ConversionError(f"{function}(): a date format that is not a literal is not converted")
    return strftime_format(node.value)


def _collapse_spaces(text: exp.Expression, dialect: str) -> exp.Expression:
    """PX ``Trim(x)``: blanks trimmed at both ends and inner runs reduced to one (DuckDB replaces only the first
    match unless told ``'g'``; Snowflake replaces all)."""
    pattern, single = exp.Literal.string(" +"), exp.Literal.string(" ")
    if Dialect(dialect).regexp_replace_needs_global_flag:
        return exp.RegexpReplace(this=exp.Trim(this=text), expression=pattern, replacement=single,
                                 modifiers=exp.Literal.string("g"))
    return exp.RegexpReplace(this=exp.Trim(this=text), expression=pattern, replacement=single)


def _index(node: Call, args: list[exp.Expression]) -> exp.Expression:
    occurrence = node.arguments[2] if len(node.arguments) > 2 else Literal(1)
    if not (isinstance(occurrence, Literal) and occurrence.value == 1):
        raise ConversionError("Index() of an occurrence other than the first has no SQL translation yet")
    return exp.StrPosition(this=_text(args[0]), substr=_text(args[1]))


def _call(node: Call, resolve: Resolve, dialect: str) -> exp.Expression:
    args = [to_sql(a, resolve, dialect) for a in node.arguments]
    name = node.function
    if name == "trim":
        return _collapse_spaces(args[0], dialect)
    if name == "index":
        return _index(node, args)
    simple: dict[str, Callable[[], exp.Expression]] = {
        "left": lambda: exp.Left(this=_text(args[0]), expression=args[1]),
        "right": lambda: exp.Right(this=_text(args[0]), expression=args[1]),
        "len": lambda: exp.Length(this=_text(args[0])),
        "upcase": lambda: exp.Upper(this=args[0]),
        "downcase": lambda: exp.Lower(this=args[0]),
        "trimleadingtrailing": lambda: exp.Trim(this=args[0]),
        "isnull": lambda: exp.Is(this=args[0], expression=exp.Null()),
        "isnotnull": lambda: exp.Not(this=exp.Is(this=args[0], expression=exp.Null())),
        "nulltovalue": lambda: exp.Coalesce(this=args[0], expressions=[args[1]]),
        "nulltoempty": lambda: exp.Coalesce(this=args[0], expressions=[exp.Literal.string("")]),
        "nulltozero": lambda: exp.Coalesce(this=args[0], expressions=[exp.Literal.number(0)]),
        "setnull": lambda: exp.Null(),
    }
    if name in simple:
        return simple[name]()
    if name == "datetostring":
        fmt = _format(node.arguments[1], "DateToString") if len(args) > 1 else "%Y-%m-%d"
        return exp.TimeToStr(this=args[0], format=exp.Literal.string(fmt))
    if name == "stringtodate":
        fmt = _format(node.arguments[1], "StringToDate") if len(args) > 1 else "%Y-%m-%d"
        return exp.StrToDate(this=args[0], format=exp.Literal.string(fmt))
    if name == "substring" and len(args) == 3:
        return exp.Substring(this=_text(args[0]), start=args[1], length=args[2])
    raise ConversionError(f"function {name}() has no SQL translation yet")


def condition(node: Any, resolve: Resolve, dialect: str = "duckdb") -> exp.Expression:
    """``node`` where a truth value is wanted: a comparison as it is, any other value ``<> 0`` (BASIC truth)."""
    sql = to_sql(node, resolve, dialect)
    boolean = (isinstance(node, Not) or (isinstance(node, Binary) and (node.op in _COMPARISONS
                                                                        or node.op in ("and", "or")))
               or (isinstance(node, Call) and node.function in _BOOLEAN_CALLS))
    return sql if boolean else exp.NEQ(this=sql, expression=exp.Literal.number(0))


def to_sql(node: Any, resolve: Resolve, dialect: str = "duckdb") -> exp.Expression:
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
                                    true=to_sql(node.then, resolve, dialect))],
                        default=to_sql(node.otherwise, resolve, dialect))
    if isinstance(node, Call):
        return _call(node, resolve, dialect)
    if isinstance(node, Binary):
        if node.op in ("and", "or"):
            kind = exp.And if node.op == "and" else exp.Or
            return kind(this=condition(node.left, resolve, dialect), expression=condition(node.right, resolve, dialect))
        left, right = to_sql(node.left, resolve, dialect), to_sql(node.right, resolve, dialect)
        if node.op == ":":
            return exp.DPipe(this=_text(left), expression=_text(right))
        if node.op in _ARITHMETIC:
            return exp.Paren(this=_ARITHMETIC[node.op](this=left, expression=right))
        return _COMPARISONS[node.op](this=left, expression=right)
    raise ConversionError(f"expression part {type(node).__name__} has no SQL translation")
