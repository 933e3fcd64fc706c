"""The SQL of DataStage's functions: one entry per function of the BASIC catalogue
(:data:`dcf.stream.basic_functions.FUNCTIONS`) that has a rendering, as a sqlglot expression the warehouse's
dialect prints. The semantics are BASIC's and the parallel transformer's (1-based positions, an empty string
past the last field, NULL in -> NULL out); what SQL cannot say the same way is a :class:`ConversionError`.

    call_sql(Call("field", (...)), [exp.column("RAW_REF"), "'|'", "2"], "duckdb")   # SPLIT_PART(RAW_REF, '|', 2)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from dcf.convert.sql import ConversionError
from dcf.store.dialect import Dialect
from dcf.stream.basic_functions import BASIC_DAY_ZERO, date_conversion, strftime_format
from dcf.stream.expressions import Call, Literal

#: StringToDecimal's rounding types -> how the value is brought to the column's scale (default trunc_zero).
DECIMAL_ROUNDING = {
    "trunc_zero": lambda value, scale: exp.Trunc(this=value, decimals=scale),
    "round_inf": lambda value, scale: exp.Round(this=value, decimals=scale),
}
#: The precision text is read at before it is brought to the column's scale.
WIDE_DECIMAL = "DECIMAL(38, 10)"
#: BASIC Num(): an optional sign, digits with at most one decimal point (or the empty string).
_NUMBER = "^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)$"


def text(node: exp.Expression) -> exp.Expression:
    """A value as text, as BASIC concatenates and measures it."""
    if isinstance(node, exp.Literal) and node.is_string:
        return node
    return exp.cast(node, "VARCHAR")


def _literal(node: Any, function: str, what: str) -> Any:
    if not isinstance(node, Literal):
        raise ConversionError(f"{function}(): a {what} that is not a literal is not converted")
    return node.value


def _date_format(node: Any, function: str) -> str:
    return strftime_format(str(_literal(node, function, "date format")))


def _conversion(node: Any, function: str) -> str:
    try:
        return date_conversion(str(_literal(node, function, "conversion code")))
    except ValueError as error:
        raise ConversionError(f"{function}(): {error}") from None


def _day_zero() -> exp.Expression:
    return exp.cast(exp.Literal.string(BASIC_DAY_ZERO), "DATE")


def _collapse_spaces(value: exp.Expression, dialect: str) -> exp.Expression:
    """PX ``Trim(x)``: blanks trimmed at both ends and inner runs reduced to one (DuckDB replaces only the first
    match unless told ``'g'``; Snowflake replaces all)."""
    pattern, single = exp.Literal.string(" +"), exp.Literal.string(" ")
    if Dialect(dialect).regexp_replace_needs_global_flag:
        return exp.RegexpReplace(this=exp.Trim(this=value), expression=pattern, replacement=single,
                                 modifiers=exp.Literal.string("g"))
    return exp.RegexpReplace(this=exp.Trim(this=value), expression=pattern, replacement=single)


def _index(node: Call, args: list[exp.Expression]) -> exp.Expression:
    """``Index(s, sub, n)``: 0 when ``s`` holds fewer than n ``sub``; else the fields before the n-th one, their
    lengths and n-1 separators, plus one."""
    occurrence = int(_literal(node.arguments[2], "Index", "occurrence")) if len(node.arguments) > 2 else 1
    haystack, needle = text(args[0]), text(args[1])
    if occurrence == 1:
        return exp.StrPosition(this=haystack, substr=needle)
    found = exp.Div(this=exp.Paren(this=exp.Sub(this=exp.Length(this=haystack), expression=exp.Length(
        this=exp.Replace(this=haystack, expression=needle, replacement=exp.Literal.string(""))))),
        expression=exp.Length(this=needle))
    before: exp.Expression = exp.Mul(this=exp.Literal.number(occurrence - 1), expression=exp.Length(this=needle))
    for part in range(1, occurrence + 1):
        field = exp.SplitPart(this=haystack, delimiter=needle, part_index=exp.Literal.number(part))
        before = exp.Add(this=before, expression=exp.Length(this=field))
    return exp.Case(ifs=[exp.If(this=exp.GTE(this=found, expression=exp.Literal.number(occurrence)),
                                true=exp.Add(this=before, expression=exp.Literal.number(1)))],
                    default=exp.Literal.number(0))


def _field(node: Call, args: list[exp.Expression]) -> exp.Expression:
    if len(node.arguments) > 3:
        raise ConversionError("Field() of more than one field is not converted")
    mark = str(_literal(node.arguments[1], "Field", "delimiter"))[:1]  # BASIC uses its first character
    return exp.SplitPart(this=text(args[0]), delimiter=exp.Literal.string(mark), part_index=args[2])


def _string_to_decimal(node: Call, args: list[exp.Expression], scale: int | None) -> exp.Expression:
    """PX ``StringToDecimal(text[, rounding])``: the text as a decimal brought to the target column's scale,
    truncated toward zero unless the rounding type says otherwise."""
    rounding = _literal(node.arguments[1], "StringToDecimal", "rounding type") if len(args) > 1 else "trunc_zero"
    if rounding not in DECIMAL_ROUNDING:
        raise ConversionError(f"StringToDecimal() rounding {rounding!r} is not converted "
                              f"(known: {', '.join(DECIMAL_ROUNDING)})")
    if scale is None:
        raise ConversionError("StringToDecimal() outside a decimal column: the scale it rounds to is not known")
    return DECIMAL_ROUNDING[rounding](exp.cast(args[0], WIDE_DECIMAL), exp.Literal.number(scale))


def _decimal_to_string(node: Call, args: list[exp.Expression]) -> exp.Expression:
    shown = exp.cast(args[0], "VARCHAR")
    option = _literal(node.arguments[1], "DecimalToString", "option") if len(args) > 1 else ""
    if option in ("", None):
        return shown
    if option != "suppress_zero":
        raise ConversionError(f"DecimalToString() option {option!r} is not converted")
    # trailing zeros and then a trailing point; one anchored match, so DuckDB needs no 'g'
    stripped = exp.RegexpReplace(this=shown, expression=exp.Literal.string("[.]?0*$"),
                                 replacement=exp.Literal.string(""))
    has_point = exp.GT(this=exp.StrPosition(this=shown, substr=exp.Literal.string(".")),
                       expression=exp.Literal.number(0))
    return exp.Case(ifs=[exp.If(this=has_point, true=stripped)], default=shown)


def _num(args: list[exp.Expression]) -> exp.Expression:
    value = exp.Coalesce(this=text(args[0]), expressions=[exp.Literal.string("")])
    number = exp.Or(this=exp.EQ(this=value, expression=exp.Literal.string("")),
                    expression=exp.RegexpLike(this=value, expression=exp.Literal.string(_NUMBER)))
    return exp.Case(ifs=[exp.If(this=number, true=exp.Literal.number(1))], default=exp.Literal.number(0))


def _substring(args: list[exp.Expression]) -> exp.Expression:
    if len(args) == 2:  # s[n]: the last n characters
        return exp.Right(this=text(args[0]), expression=args[1])
    return exp.Substring(this=text(args[0]), start=args[1], length=args[2])


def call_sql(node: Call, args: list[exp.Expression], dialect: str, scale: int | None = None) -> exp.Expression:
    """``node`` (a catalogue function) over its arguments' SQL; ``scale``: the decimal column it is written to."""
    name = node.function
    renderings: dict[str, Callable[[], exp.Expression]] = {
        "left": lambda: exp.Left(this=text(args[0]), expression=args[1]),
        "right": lambda: exp.Right(this=text(args[0]), expression=args[1]),
        "len": lambda: exp.Length(this=text(args[0])),
        "trim": lambda: _collapse_spaces(args[0], dialect),
        "upcase": lambda: exp.Upper(this=args[0]),
        "downcase": lambda: exp.Lower(this=args[0]),
        "trimleadingtrailing": lambda: exp.Trim(this=args[0]),
        "field": lambda: _field(node, args),
        "index": lambda: _index(node, args),
        "substring": lambda: _substring(args),
        "convert": lambda: exp.Translate(this=text(args[2]), from_=text(args[0]), to=text(args[1])),
        "ereplace": lambda: exp.Replace(this=text(args[0]), expression=text(args[1]), replacement=text(args[2])),
        "str": lambda: exp.Repeat(this=text(args[0]), times=exp.Greatest(
            this=args[1], expressions=[exp.Literal.number(0)])),
        "num": lambda: _num(args),
        "isnull": lambda: exp.Is(this=args[0], expression=exp.Null()),
        "isnotnull": lambda: exp.Not(this=exp.Is(this=args[0], expression=exp.Null())),
        "nulltovalue": lambda: exp.Coalesce(this=args[0], expressions=[args[1]]),
        "nulltoempty": lambda: exp.Coalesce(this=args[0], expressions=[exp.Literal.string("")]),
        "nulltozero": lambda: exp.Coalesce(this=args[0], expressions=[exp.Literal.number(0)]),
        "setnull": lambda: exp.Null(),
        "datetostring": lambda: exp.TimeToStr(this=args[0], format=exp.Literal.string(
            _date_format(node.arguments[1], "DateToString") if len(args) > 1 else "%Y-%m-%d")),
        "stringtodate": lambda: exp.StrToDate(this=args[0], format=exp.Literal.string(
            _date_format(node.arguments[1], "StringToDate") if len(args) > 1 else "%Y-%m-%d")),
        "stringtodecimal": lambda: _string_to_decimal(node, args, scale),
        "decimaltostring": lambda: _decimal_to_string(node, args),
        "datefromdayssince": lambda: exp.DateAdd(this=exp.cast(args[1], "DATE"), expression=args[0],
                                                 unit=exp.var("DAY")),
        "iconv": lambda: exp.DateDiff(this=exp.StrToDate(this=text(args[0]), format=exp.Literal.string(
            _conversion(node.arguments[1], "Iconv"))), expression=_day_zero(), unit=exp.var("DAY")),
        "oconv": lambda: exp.TimeToStr(this=exp.DateAdd(this=_day_zero(), expression=args[0], unit=exp.var("DAY")),
                                       format=exp.Literal.string(_conversion(node.arguments[1], "Oconv"))),
        "currenttimestamp": lambda: exp.CurrentTimestamp(),
    }
    if name not in renderings:
        raise ConversionError(f"function {name}() has no SQL translation yet")
    return renderings[name]()
