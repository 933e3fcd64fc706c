r"""DataStage's property text: its escaping and its repeating (composite) properties.

    unescape(r"lookup\\type")        # the property name lookup\type (one backslash)
    composite(unescape(value))        # [PropertyEntry('where', "STATUS = 'ACTIVE'", {'target': '0'}), ...]

Property names and values (and ``category``, ``tableDef``) write a backslash as ``\\`` and any character as
``\\(hh)`` (DSX: one hex digit when it fits). A repeating property is one value: ``\\(02)\\(02)0``, then per entry
``\\(01)``, one ``\\(03)`` per depth, the name, ``\\(02)``, the value, ``\\(02)0``; depth 2 is a sub-property of
the entry before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ESCAPE = re.compile(r"\\\\|\\\(([0-9A-Fa-f]{1,2})\)")
_COMPOSITE = "\x02\x020"


def unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: "\\" if m.group(1) is None else chr(int(m.group(1), 16)), text)


@dataclass
class PropertyEntry:
    name: str
    value: str
    sub: dict[str, str] = field(default_factory=dict)


def is_composite(value: str) -> bool:
    return value.startswith(_COMPOSITE)


def composite(value: str) -> list[PropertyEntry]:
    """The entries of an (unescaped) repeating property; [] when ``value`` is not one."""
    if not is_composite(value):
        return []
    entries: list[PropertyEntry] = []
    for chunk in value[len(_COMPOSITE):].split("\x01")[1:]:
        depth = len(chunk) - len(chunk.lstrip("\x03"))
        name, _, rest = chunk[depth:].partition("\x02")
        text = rest.rsplit("\x02", 1)[0] if "\x02" in rest else rest
        if depth <= 1:
            entries.append(PropertyEntry(name, text))
        elif entries:
            entries[-1].sub[name] = text
    return entries
