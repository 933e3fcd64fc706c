"""DataStage BASIC (trigger conditions, user variables, passed values, ``#...#`` references) in the stream's
expression grammar: one parser (``dcf.stream.expressions``, which reads DataStage's own text), one tree, renamed
here and rendered back to text.

    scope = Scope(activities={"JA_LOAD": "JA_LOAD"}, parameters={"LEVEL": "LEVEL"})
    translate('JA_LOAD.$JobStatus = DSJS.RUNOK And LEVEL = "1"', scope)
    -> Translation(text="JA_LOAD.$JobStatus = 1 And LEVEL = '1'", status="mapped", note="")

Activity names become the imported names, parameters and parameter-set members theirs (``$APT_CONFIG_FILE`` ->
``APT_CONFIG_FILE``), a start loop's ``$Counter`` its loop variable, the exception handler's ``$ErrSource`` /
``$ErrNumber`` / ``$ErrMessage`` the run values ``error_source`` / ``error_number`` / ``error_message``. What it
cannot carry over is "needs attention" with the reason, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dcf.stream.expression_text import render
from dcf.stream.expressions import (
    ACTIVITY_FIELDS,
    Binary,
    Call,
    ExpressionError,
    IfThenElse,
    Literal,
    Not,
    Reference,
    parse_expression,
)
from dcf.stream.sequence import PARAMETERS

MAPPED, APPROXIMATED, ATTENTION = "mapped", "approximated", "needs attention"
_HANDLER_FIELDS = {"$ErrSource": "error_source", "$ErrNumber": "error_number", "$ErrMessage": "error_message"}
_TEMPLATE = re.compile(r"#([^#]*)#")


@dataclass(frozen=True)
class Translation:
    text: str
    status: str
    note: str = ""


@dataclass
class Scope:
    """What a DataStage expression may name at one place of the sequence, and what each becomes."""

    #: DataStage activity name -> imported activity name (activities whose values a stream can read).
    activities: dict[str, str] = field(default_factory=dict)
    #: DataStage parameter (or ``SET.member``) -> the stream's name for it.
    parameters: dict[str, str] = field(default_factory=dict)
    #: Start loops around this place: DataStage name -> loop variable.
    loop_counters: dict[str, str] = field(default_factory=dict)
    #: Every start loop of the sequence (a ``$Counter`` read outside its loop is reported).
    loops: set[str] = field(default_factory=set)
    #: Exception handlers (their ``$Err...`` fields).
    handlers: set[str] = field(default_factory=set)


class _Untranslated(Exception):
    pass


def translate(expression: str, scope: Scope) -> Translation:
    """``expression`` (DataStage BASIC) in the stream grammar, or why not."""
    try:
        tree = parse_expression(expression, any_field=True).tree
    except ExpressionError as error:
        return Translation("", ATTENTION, f"not read as BASIC: {error}")
    try:
        text = render(_renamed(tree, scope))
        parse_expression(text)
    except (_Untranslated, ExpressionError) as error:
        return Translation("", ATTENTION, str(error))
    return Translation(text, MAPPED)


def template(text: str, scope: Scope) -> Translation:
    """A string with ``#...#`` references (a command line, an invocation id), each reference translated."""
    notes: list[str] = []

    def one(match: re.Match[str]) -> str:
        if not match.group(1):
            return "##"
        inner = translate(match.group(1), scope)
        if inner.status != MAPPED:
            notes.append(f"#{match.group(1)}#: {inner.note}")
            return match.group(0)
        return f"#{inner.text}#"

    converted = _TEMPLATE.sub(one, text)
    return Translation(converted, ATTENTION if notes else MAPPED, "; ".join(notes))


def value_template(expression: str, scope: Scope) -> Translation:
    """A value passed to a job (a BASIC expression) as a stream parameter string: a string literal as its
    text, anything else as one ``#expression#``."""
    translated = translate(expression, scope)
    if translated.status != MAPPED:
        return translated
    tree = parse_expression(translated.text).tree
    if isinstance(tree, Literal):
        return Translation(str(tree.value).replace("#", "##"), MAPPED)
    return Translation(f"#{translated.text}#", MAPPED)


def _renamed(node: Any, scope: Scope) -> Any:
    if isinstance(node, Reference):
        return _reference(node.parts, scope)
    if isinstance(node, Not):
        return Not(_renamed(node.operand, scope))
    if isinstance(node, Binary):
        return Binary(node.op, _renamed(node.left, scope), _renamed(node.right, scope))
    if isinstance(node, IfThenElse):
        return IfThenElse(*(_renamed(part, scope) for part in (node.condition, node.then, node.otherwise)))
    if isinstance(node, Call):
        return Call(node.function, tuple(_renamed(argument, scope) for argument in node.arguments))
    return node


def _reference(parts: tuple[str, ...], scope: Scope) -> Reference:
    name = ".".join(parts)
    if name in scope.parameters:
        return Reference(tuple(scope.parameters[name].split(".")))
    if len(parts) == 1:
        if name in PARAMETERS:
            return Reference(parts)
        raise _Untranslated(f"{name} is not a parameter of the sequence")
    owner, item = parts
    if owner in scope.handlers:
        if item in _HANDLER_FIELDS:
            return Reference((_HANDLER_FIELDS[item],))
        raise _Untranslated(f"{name}: an exception handler has {', '.join(_HANDLER_FIELDS)}")
    if owner in scope.loops:
        if item == "$Counter" and owner in scope.loop_counters:
            return Reference((scope.loop_counters[owner],))
        raise _Untranslated(f"{name} is read outside its loop" if item == "$Counter"
                            else f"{name}: a loop has $Counter")
    if owner in scope.activities:
        if item.startswith("$") and item not in ACTIVITY_FIELDS:
            raise _Untranslated(f"{name}: {item} has no equivalent in a stream (it reads "
                                f"{', '.join(ACTIVITY_FIELDS)})")
        return Reference((scope.activities[owner], item))
    raise _Untranslated(f"{name}: {owner} is neither an activity nor a parameter set of this sequence")
