"""A comparison in markdown (the run's artifact): the verdict, the counts, the columns that differ, samples."""

from __future__ import annotations

from dcf.compare.comparison import CompareResult
from dcf.compare.spec import CompareSpec
from dcf.compare.verdict import Judgement


def _cell(value: object) -> str:
    text = "NULL" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def comparison_markdown(result: CompareResult, outcome: Judgement, spec: CompareSpec) -> str:
    lines = [f"# Parallel run: {result.verdict}", "",
             f"`{result.legacy}` (legacy) against `{result.new}` (new), key {', '.join(result.key)}; "
             f"decided by the {result.decided_by} in {result.duration_s:.2f} s "
             f"({len(result.statements)} statement(s): {', '.join(result.statements)}).", "",
             f"Judgement: **{outcome.status.value}** — {outcome.why}", "",
             "| | legacy | new |", "|---|---|---|",
             f"| rows | {result.rows_legacy} | {result.rows_new} |",
             f"| fingerprint | {_cell(result.fingerprint_legacy)} | {_cell(result.fingerprint_new)} |",
             f"| rows whose key the other side lacks | {result.only_legacy} | {result.only_new} |",
             f"| rows with a duplicate key | {result.dup_rows_legacy} | {result.dup_rows_new} |", ""]
    if spec.legacy_filter or spec.new_filter:
        lines += [f"Filters: legacy `{spec.legacy_filter or '-'}`, new `{spec.new_filter or '-'}`.", ""]
    differing = [c for c in result.columns if c.value or c.null or c.tolerated]
    if differing:
        lines += ["| column (legacy → new) | value vs value | null vs value | within tolerance |", "|---|---|---|---|"]
        lines += [f"| {c.legacy} → {c.new} | {c.value} | {c.null} | {c.tolerated} |"
                  for c in sorted(differing, key=lambda c: -(c.value + c.null))] + [""]
    samples = [(c.legacy, s) for c in result.columns for s in c.samples] + [("", s) for s in result.samples]
    if samples:
        lines += ["Samples:", "", "| kind | column | key | legacy | new |", "|---|---|---|---|---|"]
        lines += [f"| {s['kind']} | {column} | {_cell(s['key'])} | {_cell(s['legacy'])} | {_cell(s['new'])} |"
                  for column, s in samples] + [""]
    return "\n".join(lines)
