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
}
