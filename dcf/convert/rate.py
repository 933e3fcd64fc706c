"""The parallel jobs' part of the migration report: per job its stages by tier and the models written, and the
conversion rate over all stages (AUTO converted as DataStage runs it, SEMI converted with a stated difference,
MANUAL left to a person, with why)."""

from __future__ import annotations

from collections import Counter

from dcf.convert.job import JobConversion
from dcf.convert.parts import AUTO, MANUAL, SEMI

TIERS = (AUTO, SEMI, MANUAL)


def conversion_counts(conversions: list[JobConversion]) -> dict[str, int]:
    counts = Counter(v.tier for c in conversions for v in c.verdicts)
    return {"jobs": len(conversions), "jobs_converted_whole": sum(
        1 for c in conversions if c.verdicts and all(v.tier != MANUAL for v in c.verdicts)),
        **{tier: counts[tier] for tier in TIERS}}


def conversion_markdown(conversions: list[JobConversion]) -> list[str]:
    counts = conversion_counts(conversions)
    stages = sum(counts[t] for t in TIERS)
    rate = (counts[AUTO] + counts[SEMI]) / stages if stages else 0.0
    lines = ["## Parallel jobs → dbt models", "",
             f"{counts['jobs']} parallel job(s), {counts['jobs_converted_whole']} converted whole; {stages} stages: "
             f"{counts[AUTO]} AUTO, {counts[SEMI]} SEMI, {counts[MANUAL]} MANUAL — {rate:.0%} of stages converted.",
             "", "| job | stages | AUTO | SEMI | MANUAL | models / operations |", "|---|---|---|---|---|---|"]
    for c in sorted(conversions, key=lambda c: c.job):
        tiers = Counter(v.tier for v in c.verdicts)
        lines.append(f"| {c.job} | {len(c.verdicts)} | {tiers[AUTO]} | {tiers[SEMI]} | {tiers[MANUAL]} | "
                     f"{_outputs(c)} |")
    lines.append("")
    for c in sorted(conversions, key=lambda c: c.job):
        lines += [f"### {c.job}", "", "| stage | type | tier | note |", "|---|---|---|---|"]
        lines += [f"| {v.stage} | {v.stage_type} | {v.tier} | {v.note.replace('|', '/')} |" for v in c.verdicts]
        lines.append("")
    return lines


def _outputs(conversion: JobConversion) -> str:
    named = [m.name for m in conversion.models] + [f"operation {o.name}" for o in conversion.operations]
    return ", ".join(named) or "—"
