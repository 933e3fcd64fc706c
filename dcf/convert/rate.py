"""The parallel jobs' part of the migration report: per job its stages by tier and the models written, and the
conversion rate over all stages (AUTO converted as DataStage runs it, SEMI converted with a stated difference,
MANUAL left to a person, with why)."""

from __future__ import annotations

from collections import Counter

from dcf.convert.job import JobConversion
from dcf.convert.parts import AUTO, MANUAL, SEMI

TIERS = (AUTO, SEMI, MANUAL)


def conversion_counts(conversions: list[JobConversion]) -> dict[str, int]:
    """Jobs (by tier), stages by tier, transformer expressions and how many were translated."""
    counts = Counter(v.tier for c in conversions for v in c.verdicts)
    jobs = Counter(c.tier for c in conversions)
    return {"jobs": len(conversions), "jobs_converted_whole": sum(1 for c in conversions if c.tier != MANUAL),
            **{f"jobs_{tier}": jobs[tier] for tier in TIERS},
            **{tier: counts[tier] for tier in TIERS},
            "derivations": sum(len(c.derivations) for c in conversions),
            "derivations_translated": sum(1 for c in conversions for d in c.derivations if d.translated)}


def totals_line(counts: dict[str, int]) -> str:
    """The totals as one line: jobs by tier, stages converted, derivations translated."""
    stages = sum(counts[t] for t in TIERS)
    rate = (counts[AUTO] + counts[SEMI]) / stages if stages else 0.0
    derived = counts["derivations_translated"] / counts["derivations"] if counts["derivations"] else 1.0
    return (f"{counts['jobs']} parallel job(s): {counts['jobs_AUTO']} AUTO, {counts['jobs_SEMI']} SEMI, "
            f"{counts['jobs_MANUAL']} MANUAL ({counts['jobs_converted_whole']} converted whole); {stages} stages: "
            f"{counts[AUTO]} AUTO, {counts[SEMI]} SEMI, {counts[MANUAL]} MANUAL — {rate:.0%} converted; "
            f"{counts['derivations_translated']} of {counts['derivations']} derivations translated ({derived:.0%})")


def conversion_markdown(conversions: list[JobConversion]) -> list[str]:
    lines = ["## Parallel jobs → dbt models", "", totals_line(conversion_counts(conversions)) + ".", "",
             "| job | tier | stages | AUTO | SEMI | MANUAL | derivations translated | models / operations |",
             "|---|---|---|---|---|---|---|---|"]
    for c in sorted(conversions, key=lambda c: c.job):
        tiers = Counter(v.tier for v in c.verdicts)
        translated = sum(1 for d in c.derivations if d.translated)
        lines.append(f"| {c.job} | {c.tier} | {len(c.verdicts)} | {tiers[AUTO]} | {tiers[SEMI]} | {tiers[MANUAL]} | "
                     f"{translated} of {len(c.derivations)} | {_outputs(c)} |")
    lines.append("")
    for c in sorted(conversions, key=lambda c: c.job):
        lines += [f"### {c.job}", "", "| stage | type | tier | note |", "|---|---|---|---|"]
        lines += [f"| {v.stage} | {v.stage_type} | {v.tier} | {_cell(v.note)} |"
                  for v in [*c.verdicts, *c.job_verdicts]]
        if c.derivations:
            lines += ["", "| derivation | original (BASIC) | SQL |", "|---|---|---|"]
            lines += [f"| {d.target} | `{_cell(d.original)}` | "
                      f"{f'`{_cell(d.sql)}`' if d.translated else 'not translated: ' + _cell(d.note)} |"
                      for d in c.derivations]
        lines.append("")
    return lines


def _cell(text: str) -> str:
    """Text in a markdown table cell: one line, its pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _outputs(conversion: JobConversion) -> str:
    named = [f"{m.name} (to write by hand)" if m.placeholder else m.name for m in conversion.models]
    named += [f"operation {o.name}" for o in conversion.operations]
    return ", ".join(named) or "—"
