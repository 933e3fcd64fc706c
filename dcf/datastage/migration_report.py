"""The migration report in markdown: per sequence, every activity and trigger with its verdict, and a graph."""

from __future__ import annotations

from typing import Any

from dcf.datastage.model import DsJob

_STATUSES = ("mapped", "approximated", "needs attention")


def sequence_graph(job: DsJob) -> str:
    """A mermaid flowchart of the sequence as DataStage drew it: activities and their triggers."""
    lines = ["flowchart TD"]
    ids = {identifier: f"a{number}" for number, identifier in enumerate(job.activities)}
    for identifier, activity in job.activities.items():
        label = f"{activity.name}<br/>{activity.class_name}".replace('"', "'")
        lines.append(f'  {ids[identifier]}["{label}"]')
    for link in job.links:
        condition = link.expression or f"code {link.condition_type}"
        lines.append(f'  {ids[link.source]} -->|"{condition[:40]}"| {ids[link.target]}'.replace('""', '"'))
    return "\n".join(lines)


def _cell(text: str) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def report_markdown(sequences: dict[str, dict[str, Any]], entries: list[Any], problems: list[str]) -> str:
    """The whole report: totals, problems, then one section per sequence."""
    counts = {status: sum(1 for e in entries if e.status == status) for status in _STATUSES}
    lines = ["# DataStage migration report", "",
             f"{len(sequences)} sequence(s) imported; {sum(1 for e in entries if e.what == 'activity')} "
             f"activities and {sum(1 for e in entries if e.what == 'trigger')} triggers: "
             + ", ".join(f"{n} {s}" for s, n in counts.items()), ""]
    if problems:
        lines += ["## Problems", "", *(f"- {_cell(p)}" for p in problems), ""]
    for name, sequence in sorted(sequences.items()):
        mine = [e for e in entries if e.sequence == name]
        lines += [f"## {name} → `{sequence['file']}` (stream {sequence['stream']})", "",
                  f"From `{sequence['source']}`, folder `{sequence['folder'] or '(none)'}`.", ""]
        jobs = sequence["jobs_called"]
        if jobs:
            lines += ["Parallel/server jobs called: " + ", ".join(
                f"`{job}` ({'in the job map' if covered else 'needs a dbt model'})"
                for job, covered in sorted(jobs.items())), ""]
        lines += ["| | name | DataStage | verdict | note | original | translation |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {e.what} | {_cell(e.name)} | {_cell(e.datastage)} | {e.status} | {_cell(e.note)} | "
                  f"`{_cell(e.original)}` | `{_cell(e.translation)}` |" for e in mine]
        lines += ["", "```mermaid", sequence["graph"], "```", ""]
    return "\n".join(lines)
