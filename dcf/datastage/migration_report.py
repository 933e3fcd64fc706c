"""The migration report in markdown: one line per sequence, the problems grouped by kind, the Prefect blocks to
create, then per sequence every activity, trigger and parameter with its verdict and the generated stream's
graph (mermaid, every label escaped and whole, and the same edges as a table for viewers without mermaid)."""

from __future__ import annotations

from collections import Counter
from typing import Any

_STATUSES = ("mapped", "approximated", "needs attention")
#: Mermaid's entity codes for what would end or break a quoted label.
_MERMAID_ESCAPES = {"#": "#35;", '"': "#quot;", "|": "#124;", "<": "#lt;", ">": "#gt;", "\n": " "}


def _label(text: str) -> str:
    return "".join(_MERMAID_ESCAPES.get(c, c) for c in text)


def _condition(condition: Any) -> str:
    return f"custom: {condition['custom']}" if isinstance(condition, dict) else str(condition)


def stream_edges(stream: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(level, from, to, condition) of every trigger of the generated stream, loop bodies and on_failure
    included."""
    edges: list[tuple[str, str, str, str]] = []

    def walk(activities: list[dict[str, Any]], level: str) -> None:
        for activity in activities:
            for source, condition in (activity.get("after") or {}).items():
                edges.append((level, source, activity["name"], _condition(condition)))
            if "loop" in activity:
                walk(activity["loop"]["do"], f"loop {activity['name']}")
                for source, condition in (activity["loop"].get("continue_after") or {}).items():
                    edges.append((f"loop {activity['name']}", source, f"next iteration of {activity['name']}",
                                  _condition(condition)))

    walk(stream.get("sequence", []), "sequence")
    walk(stream.get("on_failure", []), "on_failure")
    return edges


def stream_graph(stream: dict[str, Any]) -> str:
    """A mermaid flowchart of the generated stream: activities (by kind), triggers with their conditions."""
    lines = ["flowchart TD"]
    ids: dict[str, str] = {}

    def nodes(activities: list[dict[str, Any]]) -> None:
        for activity in activities:
            ids[activity["name"]] = f"n{len(ids)}"
            kind = next((k for k in activity if k not in ("name", "after", "always_rerun")), "?")
            lines.append(f'  {ids[activity["name"]]}["{_label(activity["name"])}<br/>{_label(kind)}"]')
            if "loop" in activity:
                lines.append(f'  subgraph {ids[activity["name"]]}_body["{_label("body of " + activity["name"])}"]')
                nodes(activity["loop"]["do"])
                lines.append("  end")

    nodes(stream.get("sequence", []))
    if stream.get("on_failure"):
        lines.append('  subgraph on_failure["on_failure"]')
        nodes(stream["on_failure"])
        lines.append("  end")
    for _level, source, target, condition in stream_edges(stream):
        if source in ids and target in ids:
            lines.append(f'  {ids[source]} -->|"{_label(condition)}"| {ids[target]}')
    return "\n".join(lines)


def _cell(text: Any) -> str:
    text = str(text or "").replace("|", "\\|").replace("\n", " ")
    return f"`{text}`" if text else ""


def report_markdown(sequences: dict[str, dict[str, Any]], entries: list[Any], problems: list[str],
                    secret_blocks: dict[str, str] | None = None) -> str:
    """The whole report: a line per sequence, problems by kind, blocks to create, then one section each."""
    counts = Counter(e.status for e in entries)
    lines = ["# DataStage migration report", "",
             f"{len(sequences)} sequence(s) imported; {sum(1 for e in entries if e.what == 'activity')} activities "
             f"and {sum(1 for e in entries if e.what == 'trigger')} triggers: "
             + ", ".join(f"{counts[s]} {s}" for s in _STATUSES), "",
             "| sequence | stream file | activities | triggers read | triggers mapped | loads | VALIDATE "
             "| job-control check |", "|---|---|---|---|---|---|---|---|"]
    for name, sequence in sorted(sequences.items()):
        mine = [e for e in entries if e.sequence == name and e.what == "trigger"]
        disagreements = sequence["job_control_disagreements"]
        lines.append(f"| {name} | {sequence['file']} | {sequence['activities']} | {sequence['triggers']} | "
                     f"{sum(1 for e in mine if e.status == 'mapped')} | {'yes' if sequence['loads'] else 'NO'} | "
                     f"{_validated(sequence.get('validate'))} | "
                     f"{'agrees' if not disagreements else f'{disagreements} disagreement(s)'} |")
    lines.append("")
    kinds = Counter((e.what, e.status) for e in entries if e.status != "mapped")
    if kinds or problems:
        lines += ["## Problems by kind", ""]
        lines += [f"- {what}, {status}: {n}" for (what, status), n in sorted(kinds.items())]
        lines += [f"- could not be read or imported: {len(problems)}"] if problems else []
        lines += ["", *(f"- {p}" for p in problems), ""] if problems else [""]
    if secret_blocks:
        lines += ["## Blocks to create", "", "Prefect Secret blocks (`prefect block create secret`, or "
                  "`Secret(value=...).save(name)`) holding the passwords the export kept encrypted:", ""]
        lines += [f"- `{block}`: {what}" for block, what in sorted(secret_blocks.items())] + [""]
    for name, sequence in sorted(sequences.items()):
        lines += _sequence_section(name, sequence, [e for e in entries if e.sequence == name])
    return "\n".join(lines)


def _validated(problems: list[str] | None) -> str:
    if problems is None:
        return "not run"
    return f"{len(problems)} problem(s)" if problems else "passes"


def _sequence_section(name: str, sequence: dict[str, Any], entries: list[Any]) -> list[str]:
    lines = [f"## {name} → {sequence['file']} (stream {sequence['stream']})", "",
             f"From {sequence['source']}, folder {sequence['folder'] or '(none)'}.", ""]
    jobs = sequence["jobs_called"]
    if jobs:
        lines += ["Parallel/server jobs called: " + ", ".join(
            f"{job} ({'in the job map' if covered else 'needs a dbt model'})"
            for job, covered in sorted(jobs.items())), ""]
    if sequence.get("validate"):
        lines += [f"VALIDATE ({len(sequence['validate'])} problem(s)):", "",
                  *(f"- {problem}" for problem in sequence["validate"]), ""]
    # The UI's markdown pane is narrow and does not scroll sideways: one narrow table, then what each item
    # became as a list (a long command or expression wraps there; in a table cell it widens the table).
    lines += ["| | name (DataStage) | verdict | note |", "|---|---|---|---|"]
    lines += [f"| {e.what} | {e.name} ({e.datastage}) | {e.status} | {str(e.note).replace('|', '/')} |"
              for e in entries]
    lines += ["", "What each became (original → translation):", ""]
    lines += [f"- {e.name}: {_cell(e.original) or '(nothing)'} → {_cell(e.translation) or '(nothing)'}"
              for e in entries if e.original or e.translation]
    lines += ["", "The generated stream:", "", "```mermaid", sequence["graph"], "```", "",
              "| level | from | to | condition |", "|---|---|---|---|"]
    lines += [f"| {level} | {source} | {target} | {_cell(condition)} |"
              for level, source, target, condition in sequence["edges"]]
    return [*lines, ""]
