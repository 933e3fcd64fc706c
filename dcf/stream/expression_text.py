"""An expression tree back as text (the stream's grammar; strings single-quoted): what the importer writes into a
stream YAML after renaming DataStage's references. ``parse_expression(render(tree))`` gives ``tree`` back."""

from __future__ import annotations

from typing import Any

from dcf.stream.basic_functions import text_value
from dcf.stream.expressions import Call, IfThenElse, Literal, Not, Reference

#: How tightly each operator binds (higher: tighter), for rendering with no more parentheses than needed.
_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "=": 4, "<>": 4, "<": 4, ">": 4, "<=": 4, ">=": 4, ":": 5,
               "+": 6, "-": 6, "*": 7, "/": 7}
_FUNCTION_NAMES = {name.lower(): name for name in (
    "Left", "Right", "Len", "Trim", "UpCase", "DownCase", "Field", "Index", "Ereplace", "Convert", "IsNull",
    "IsNotNull", "NullToValue", "NullToEmpty", "NullToZero", "SetNull", "DateToString", "StringToDate",
    "TrimLeadingTrailing")}


def render(node: Any, outer: int = 0) -> str:
    """An expression tree as text this grammar reads back to the same tree (strings single-quoted)."""
    if isinstance(node, Literal):
        if isinstance(node.value, str):
            return f"'{node.value}'" if "'" not in node.value else f'"{node.value}"'
        return text_value(node.value)
    if isinstance(node, Reference):
        return ".".join(node.parts)
    if isinstance(node, Call):
        if node.function == "substring":
            return f"{render(node.arguments[0], 8)}[{', '.join(render(a) for a in node.arguments[1:])}]"
        return f"{_FUNCTION_NAMES[node.function]}({', '.join(render(a) for a in node.arguments)})"
    if isinstance(node, IfThenElse):
        text, level = f"If {render(node.condition)} Then {render(node.then)} Else {render(node.otherwise)}", 0
    elif isinstance(node, Not):
        text, level = f"Not {render(node.operand, _PRECEDENCE['not'])}", _PRECEDENCE["not"]
    else:
        level = _PRECEDENCE[node.op]
        op = {"and": "And", "or": "Or"}.get(node.op, node.op)
        # comparisons do not chain (both sides bind tighter); the others associate to the left
        left = render(node.left, level + 1 if level == _PRECEDENCE["="] else level)
        text = f"{left} {op} {render(node.right, level + 1)}"
    return f"({text})" if level < outer or (level == 0 and outer) else text
