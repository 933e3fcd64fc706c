"""The BASIC function catalogue evaluated in Python (the stream's back end of the one expression tree) gives what
DataStage gave: the corpus's BASIC Transformer (PX_CHECKSUM_HASH's BTR_PARSE: Field, x[1,4], Convert, Ereplace,
Num, Index, Str, Len, Left/Right, Iconv/Oconv) run on each input row, against the answer key's target rows (where
the key shows NULL for an empty string: Oracle stores '' as NULL)."""

from __future__ import annotations

import pytest

from dcf.stream.basic_functions import text_value
from dcf.stream.expressions import parse_expression
from tests.convert.corpus_rows import key_rows
from tests.datastage.corpus import PARALLEL, parallel_jobs

pytestmark = pytest.mark.unit
JOB = "PX_CHECKSUM_HASH"


def _csv(name: str) -> list[dict[str, str | None]]:
    path = PARALLEL / "data" / JOB / name
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    return [dict(zip(header, row, strict=True)) for row in key_rows(path)]


def test_the_basic_transformer_derivations_evaluate_to_the_keys_values() -> None:
    graph = parallel_jobs()[JOB].graph
    [parsed] = graph.outputs("BTR_PARSE")
    [source] = graph.inputs("BTR_PARSE")
    passed_on = {c.name for c in graph.link("lnk_check").columns if c.source_column == f"lnk_parsed.{c.name}"}
    derived = [c for c in parsed.columns if c.derivation and c.name in passed_on]
    assert len(derived) >= 11
    expected = {row["MSG_ID"]: row for row in _csv("expected_PAYMENT_CHECK.csv")}
    compared = 0
    for message in _csv("PAYMENT_MESSAGE.csv"):
        def resolve(parts: tuple[str, ...], message=message):
            assert parts[0] == source.name, parts
            return message[parts[1]]

        for column in derived:
            value = parse_expression(column.derivation, any_field=True).tree.evaluate(resolve)
            shown = text_value(value) if value is not None else None
            assert (shown or None) == expected[message["MSG_ID"]][column.name], (message["MSG_ID"], column.name,
                                                                                 column.derivation)
            compared += 1
    assert compared == len(derived) * 12
