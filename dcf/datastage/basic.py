"""DataStage BASIC expressions (trigger conditions, user variables, loop values) in the stream grammar.

    translate('Load.$JobStatus = DSJS.RUNOK And level = "1"', activities={"Load": "load"}, ...)
    -> Translation(text="load.$JobStatus = DSJS.RUNOK And level = '1'", status="mapped", note="")

Strings become single-quoted, activity names become the imported activity names, a start loop's
``$Counter`` becomes its loop variable; the result is parsed by the stream grammar, so what comes out always
runs. What it cannot carry over (``$ErrSource``, a name it does not know, a string holding a quote) is
"needs attention" with the reason, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dcf.stream.expressions import FUNCTIONS, ExpressionError, parse_expression

MAPPED, APPROXIMATED, ATTENTION = "mapped", "approximated", "needs attention"
_TOKEN = re.compile(r"""\s+ | "[^"]*" | '[^']*' | \$?[A-Za-z_][A-Za-z0-9_]*(?:\.\$?[A-Za-z_][A-Za-z0-9_]*)?
                        | \d+(?:\.\d+)? | <> | <= | >= | [=<>():,]""", re.VERBOSE)
_WORDS = {"and", "or", "not", "if", "then", "else"}


@dataclass(frozen=True)
class Translation:
    text: str
    status: str
    note: str = ""


def translate(expression: str, *, activities: dict[str, str], loop_counters: dict[str, str],
              names: set[str]) -> Translation:
    """``expression`` in the stream grammar. ``activities``: DataStage activity name -> imported name;
    ``loop_counters``: start-loop name -> loop variable; ``names``: parameters and loop variables in scope."""
    parts: list[str] = []
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            return Translation("", ATTENTION, f"cannot read {expression[position:position + 10]!r}")
        token = match.group()
        position = match.end()
        converted = _token(token, activities, loop_counters, names)
        if isinstance(converted, Translation):
            return converted
        parts.append(converted)
    text = "".join(parts).strip()
    try:
        parse_expression(text)
    except ExpressionError as error:
        return Translation("", ATTENTION, f"not in the stream grammar: {error}")
    return Translation(text, MAPPED)


def _token(token: str, activities: dict[str, str], loop_counters: dict[str, str],
           names: set[str]) -> str | Translation:
    if token.startswith('"'):
        if "'" in token:
            return Translation("", ATTENTION, f"the string {token} holds a quote")
        return "'" + token[1:-1] + "'"
    if "." in token and not token[0].isdigit():
        if token in names:  # a parameter set's member, PS_DB.server
            return token
        owner, field = token.split(".", 1)
        if owner.upper() == "DSJS":
            return token
        if owner in loop_counters and field == "$Counter":
            if loop_counters[owner] not in names:
                return Translation("", ATTENTION, f"{token} is read outside its loop")
            return loop_counters[owner]
        if owner in activities:
            return f"{activities[owner]}.{field}"
        return Translation("", ATTENTION, f"{token}: {owner} is not an activity of this sequence")
    if token.startswith("$"):
        return Translation("", ATTENTION, f"{token} (the exception handler's error details) has no equivalent")
    if token[0].isalpha() or token[0] == "_":
        known = token.lower() in _WORDS or token.lower() in FUNCTIONS or token.upper() in ("RUNOK", "RUNWARN",
                                                                                          "RUNFAILED")
        if not known and token not in names:
            return Translation("", ATTENTION, f"{token} is neither a parameter of the sequence nor a loop variable")
    return token
