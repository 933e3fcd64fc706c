"""A landing file's records, checked as DuckDB's CSV reader checks them: UTF-8, field count, closed quotes.

    rejected: list[Reject] = []
    for number, record in checked_records(path, columns, ",", rejected):
        ...                          # number: 1, 2, ... over the records that parse (the raw SRC_ROW_NUM)

Used where the engine does not read the file itself (Snowflake): the records that parse go on to the warehouse,
the others come back in ``rejected`` with their line, as DuckDB's rejects table gives them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Reject:
    """A row of a landing file that does not parse: its line, why, and (the start of) its text."""

    line: int
    reason: str
    text: str


def checked_records(path: Path, columns: list[str], delimiter: str,
                    rejected: list[Reject]) -> Iterator[tuple[int, list[str]]]:
    """(record number, fields) of each record after the header that parses; the others are appended to
    ``rejected`` (not in line order: sort them when done)."""
    position = {"line": 0}
    with path.open("rb") as handle:
        reader = csv.reader(_utf8_lines(handle, rejected, position), delimiter=delimiter, strict=True)
        number = 0
        start = 1
        try:
            next(reader)
            while True:
                start = position["line"] + 1  # where the record begins (a quoted field may span lines)
                record = next(reader, None)
                if record is None:
                    return
                if len(record) != len(columns):
                    kind = "MISSING COLUMNS" if len(record) < len(columns) else "TOO MANY COLUMNS"
                    rejected.append(Reject(start, f"{kind}: Expected Number of Columns: {len(columns)} "
                                                  f"Found: {len(record)}", delimiter.join(record)[:500]))
                    continue
                number += 1
                yield number, record
        except csv.Error:  # an unterminated quote runs to the end of the file
            rejected.append(Reject(start, "UNQUOTED VALUE: Value with unterminated quote found.", ""))


def _utf8_lines(handle: Any, rejected: list[Reject], position: dict[str, int]) -> Iterator[str]:
    """The file's lines as text; a line that is not UTF-8 is rejected (and left out)."""
    for raw in handle:
        position["line"] += 1
        try:
            yield raw.decode("utf-8-sig" if position["line"] == 1 else "utf-8")
        except UnicodeDecodeError as error:
            rejected.append(Reject(position["line"], f"INVALID ENCODING: not UTF-8 (byte {error.start} of the line)",
                                   raw[:500].decode("utf-8", "replace")))
