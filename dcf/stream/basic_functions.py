"""The catalogue of DataStage BASIC functions the expression grammar knows, with their semantics as BASIC has
them (1-based positions, missing fields empty, no errors on short strings): ``dcf.stream.expressions`` parses
calls against it and evaluates them with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def text_value(value: Any) -> str:
    """A value as BASIC shows it: whole floats without their .0, None as empty."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def number_value(value: Any) -> float | None:
    """A value as a number if it reads as one (BASIC compares numerically then), else None."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _int(value: Any) -> int:
    return int(number_value(value) or 0)


def _field(text: Any, delimiter: Any, occurrence: Any, count: Any = 1) -> str:
    """BASIC ``Field(s, d, n[, k])``: the n-th (1-based) d-delimited field, k fields from there."""
    mark = text_value(delimiter)[:1]
    parts, start = text_value(text).split(mark or "\0"), max(_int(occurrence), 1) - 1
    return mark.join(parts[start:start + max(_int(count), 1)]) if start < len(parts) else ""


def _index(text: Any, sub: Any, occurrence: Any) -> int:
    """BASIC ``Index(s, sub, n)``: the 1-based position of the n-th occurrence, 0 if there is none."""
    position, haystack, needle = -1, text_value(text), text_value(sub)
    for _ in range(max(_int(occurrence), 1)):
        position = haystack.find(needle, position + 1)
        if position < 0:
            return 0
    return position + 1


def _substring(text: Any, start: Any, length: Any = None) -> str:
    """BASIC ``s[start, length]`` (1-based); ``s[n]`` alone is the last n characters."""
    value = text_value(text)
    if length is None:
        return value[-_int(start):] if _int(start) > 0 else ""
    return value[max(_int(start), 1) - 1:][:max(_int(length), 0)]


def _convert(old: Any, new: Any, text: Any) -> str:
    """BASIC ``Convert(from, to, s)``: each character of ``from`` becomes the one at its place in ``to``, or
    is dropped when ``to`` is shorter."""
    table = {ord(c): (text_value(new)[i] if i < len(text_value(new)) else None) for i, c in enumerate(text_value(old))}
    return text_value(text).translate(table)


_DATE_FORMAT = {"%yyyy": "%Y", "%yy": "%y", "%mm": "%m", "%dd": "%d", "%hh": "%H", "%nn": "%M", "%ss": "%S"}


def strftime_format(datastage: str) -> str:
    """A DataStage date format (``%yyyy-%mm-%dd``) as a strftime one (``%Y-%m-%d``)."""
    for token, code in _DATE_FORMAT.items():
        datastage = datastage.replace(token, code)
    return datastage


def _date_to_string(value: Any, fmt: Any = "%yyyy-%mm-%dd") -> str | None:
    import datetime

    if value is None:
        return None
    day = value if isinstance(value, datetime.date) else datetime.date.fromisoformat(text_value(value)[:10])
    return day.strftime(strftime_format(text_value(fmt)))


def _string_to_date(value: Any, fmt: Any = "%yyyy-%mm-%dd") -> Any:
    import datetime

    if value is None:
        return None
    return datetime.datetime.strptime(text_value(value), strftime_format(text_value(fmt))).date()


#: Iconv/Oconv "D" dates count days from this day (day 0).
BASIC_DAY_ZERO = "1967-12-31"
#: The orders a "D" conversion code may name, as strftime fields.
_DATE_ORDERS = {"YMD": ("%Y", "%m", "%d"), "DMY": ("%d", "%m", "%Y"), "MDY": ("%m", "%d", "%Y")}


def date_conversion(code: str) -> str:
    """A BASIC "D" conversion code (``D-YMD[4,2,2]``, ``D/DMY[2,2,4]``) as the strftime format it reads or
    writes (``%Y-%m-%d``, ``%d/%m/%Y``); a ValueError for any other code."""
    text = text_value(code).strip()
    separator, order = text[1:2], text[2:5]
    lengths = text[5:].strip("[]").split(",") if text[5:] else []
    if not text.startswith("D") or order not in _DATE_ORDERS or (lengths and len(lengths) != 3):
        raise ValueError(f"conversion code {text!r}: only dates of the form D<separator><YMD|DMY|MDY>[...]")
    fields = [("%y" if field == "%Y" and length.strip() == "2" else field)
              for field, length in zip(_DATE_ORDERS[order], lengths or ["4"] * 3, strict=True)]
    return separator.join(fields)


def _iconv(value: Any, code: Any) -> int | None:
    import datetime

    if value is None:
        return None
    day = datetime.datetime.strptime(text_value(value), date_conversion(code)).date()
    return (day - datetime.date.fromisoformat(BASIC_DAY_ZERO)).days


def _oconv(value: Any, code: Any) -> str | None:
    import datetime

    if value is None:
        return None
    day = datetime.date.fromisoformat(BASIC_DAY_ZERO) + datetime.timedelta(days=_int(value))
    return day.strftime(date_conversion(code))


def _num(value: Any) -> int:
    """BASIC ``Num(x)``: 1 for a number (an optional leading sign, digits, one decimal point) or the empty
    string, else 0."""
    text = text_value(value)
    body = text[1:] if text[:1] in "+-" else text
    digits = body.replace(".", "", 1)
    return 1 if text == "" or (digits.isdigit() and digits.isascii()) else 0


def _string_to_decimal(value: Any, rounding: Any = "trunc_zero") -> Any:
    import decimal

    return None if value is None else decimal.Decimal(text_value(value).strip())


def _decimal_to_string(value: Any, option: Any = "") -> str | None:
    """PX ``DecimalToString(d[, "suppress_zero"])``: suppress_zero drops trailing zeros and a trailing point."""
    if value is None:
        return None
    text = text_value(value)
    if text_value(option) == "suppress_zero" and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _date_from_days_since(days: Any, base: Any) -> Any:
    import datetime

    if days is None or base is None:
        return None
    start = base if isinstance(base, datetime.date) else datetime.date.fromisoformat(text_value(base)[:10])
    return start + datetime.timedelta(days=_int(days))


def _now() -> Any:
    import datetime

    return datetime.datetime.now()


#: DataStage BASIC functions: name -> ((fewest, most) arguments, implementation).
FUNCTIONS: dict[str, tuple[tuple[int, int], Callable[..., Any]]] = {
    "left": ((2, 2), lambda text, n: text_value(text)[:max(0, _int(n))]),
    "right": ((2, 2), lambda text, n: text_value(text)[-_int(n):] if _int(n) > 0 else ""),
    "len": ((1, 1), lambda text: len(text_value(text))),
    "trim": ((1, 1), lambda text: " ".join(text_value(text).split())),
    "upcase": ((1, 1), lambda text: text_value(text).upper()),
    "downcase": ((1, 1), lambda text: text_value(text).lower()),
    "field": ((3, 4), _field),
    "index": ((3, 3), _index),
    "ereplace": ((3, 3), lambda text, old, new: text_value(text).replace(text_value(old), text_value(new))
                 if text_value(old) else text_value(text)),
    "convert": ((3, 3), _convert),
    "substring": ((2, 3), _substring),
    # the parallel transformer's null handling and conversions (NULL is None)
    "isnull": ((1, 1), lambda value: value is None),
    "isnotnull": ((1, 1), lambda value: value is not None),
    "nulltovalue": ((2, 2), lambda value, default: default if value is None else value),
    "nulltoempty": ((1, 1), lambda value: "" if value is None else value),
    "nulltozero": ((1, 1), lambda value: 0 if value is None else value),
    "setnull": ((0, 0), lambda: None),
    "datetostring": ((1, 2), _date_to_string),
    "stringtodate": ((1, 2), _string_to_date),
    "trimleadingtrailing": ((1, 1), lambda text: text_value(text).strip()),
    "str": ((2, 2), lambda text, times: text_value(text) * max(_int(times), 0)),
    "num": ((1, 1), _num),
    "iconv": ((2, 2), _iconv),
    "oconv": ((2, 2), _oconv),
    "stringtodecimal": ((1, 2), _string_to_decimal),
    "decimaltostring": ((1, 2), _decimal_to_string),
    "datefromdayssince": ((2, 2), _date_from_days_since),
    "currenttimestamp": ((0, 0), _now),
}
