"""Modify: its specification statements (``modifyspec`` entries, in order) applied to the input's columns —
``DROP a, b``, ``KEEP a, b``, ``new = old``, ``new:type = old`` (a conversion), ``new:date =
date_from_string[%yyyy-%mm-%dd](old)``, ``new:decimal[9,2] = handle_null(old, 0)``; each column becomes a
sqlglot expression rendered for the warehouse. A statement of another form is reported, not guessed."""

from __future__ import annotations

import re

from sqlglot import exp

from dcf.convert.parts import AUTO, ConversionContext, Cte
from dcf.convert.sql import ConversionError
from dcf.datastage.properties import composite
from dcf.datastage.px_graph import PxStage
from dcf.stream.basic_functions import strftime_format

_NAMES = re.compile(r"^(DROP|KEEP)\s+(.+)$", re.IGNORECASE)
_ASSIGN = re.compile(r"^(\w+)\s*(?::\s*(?:nullable\s+|not_nullable\s+)?([\w\[\], ]+?))?\s*=\s*(.+)$", re.IGNORECASE)
_DATE_FROM_STRING = re.compile(r"^date_from_string\[([^\]]+)\]\((\w+)\)$", re.IGNORECASE)
_HANDLE_NULL = re.compile(r"^handle_null\((\w+)\s*,\s*(.+)\)$", re.IGNORECASE)
_TYPES = {"int8": "TINYINT", "int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT", "string": "VARCHAR",
          "date": "DATE", "timestamp": "TIMESTAMP", "dfloat": "DOUBLE", "sfloat": "FLOAT", "time": "TIME"}


def _sql_type(text: str) -> str:
    text = text.strip().lower()
    decimal = re.fullmatch(r"decimal\[(\d+)\s*,\s*(\d+)\]", text)
    if decimal:
        return f"DECIMAL({decimal.group(1)}, {decimal.group(2)})"
    if text.split("[")[0] not in _TYPES:
        raise ConversionError(f"modify type {text!r} is not converted")
    return _TYPES[text.split("[")[0]]


def _value(source: str, columns: dict[str, exp.Expression]) -> exp.Expression:
    date = _DATE_FROM_STRING.match(source)
    if date:
        return exp.StrToDate(this=columns[date.group(2)], format=exp.Literal.string(strftime_format(date.group(1))))
    null = _HANDLE_NULL.match(source)
    if null:
        return exp.Coalesce(this=columns[null.group(1)], expressions=[exp.maybe_parse(null.group(2))])
    if source in columns:
        return columns[source]
    raise ConversionError(f"modify expression {source!r} is not converted")


def apply_spec(statements: list[str], columns: dict[str, exp.Expression]) -> dict[str, exp.Expression]:
    """The columns after each statement, in order; KeyError-free: an unknown column is a ConversionError."""
    columns = dict(columns)
    for statement in statements:
        names = _NAMES.match(statement)
        if names:
            listed = [n.strip() for n in names.group(2).split(",")]
            missing = [n for n in listed if n not in columns]
            if missing:
                raise ConversionError(f"modify {statement!r}: no column(s) {missing}")
            keep = names.group(1).upper() == "KEEP"
            columns = {n: e for n, e in columns.items() if (n in listed) == keep}
            continue
        assign = _ASSIGN.match(statement)
        if not assign:
            raise ConversionError(f"modify statement {statement!r} is not converted")
        name, type_text, source = assign.group(1), assign.group(2), assign.group(3).strip()
        try:
            value = _value(source, columns)
        except KeyError as missing:
            raise ConversionError(f"modify {statement!r}: no column {missing}") from None
        columns[name] = exp.cast(value, _sql_type(type_text)) if type_text else value
    return columns


def convert(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    [source] = ctx.graph.inputs(stage.name)
    [output] = ctx.graph.outputs(stage.name)
    statements = [e.value.strip() for e in composite(stage.properties.get("modifyspec", "")) if e.value.strip()]
    columns = apply_spec(statements, {c.name: exp.column(c.name) for c in source.columns})
    missing = [c.name for c in output.columns if c.name not in columns]
    if missing:
        raise ConversionError(f"{stage.name}: output column(s) {missing} are not made by its specification")
    select = ", ".join(_aliased(columns[c.name], c.name, ctx.dialect) for c in output.columns)
    ctx.verdict(stage.name, AUTO, f"{len(statements)} modify statement(s) as column expressions")
    return [Cte(output.name, f"SELECT {select} FROM {source.name}", [source.name])]


def _aliased(expression: exp.Expression, name: str, dialect: str) -> str:
    text = expression.sql(dialect=dialect)
    return text if text == name else f"{text} AS {name}"
