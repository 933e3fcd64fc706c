"""The compiled job control of a sequence (its ``jobControlCode``) read as an independent witness of its graph.

DataStage's compiler writes the whole sequence as BASIC: a block per activity in label order
(``L$V0S2$START:`` ...), the jobs it attaches (``DSAttachJob("PX_X", …)``), and each trigger as a jump to its
target, gated by the trigger's test (``If (job$V0S2$status = DSJS.RUNOK) Then GoTo L$V0S9$START``). Its header
names the tokens of the tests (``* IdV0S2%%Result1%%3 <= JA_X.$JobStatus``).

    disagreements = check_job_control(job)    # [] when the graph read from the export is the compiled one

Each disagreement is one line showing both sides; the importer reports it as "needs attention".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dcf.datastage.model import DsJob, DsLink
from dcf.stream.expressions import ExpressionError, parse_expression

_LABEL = re.compile(r"^L\$([^\s:]+?)(?:\$[A-Za-z]+(?:\$\d+)?)?:")
_JUMP = re.compile(r"\b(?:GoTo|GoSub)\s+L\$(V\d+S\d+)\$(START|REPEAT)\b", re.I)
_TOKEN = re.compile(r"^\*\s*(Id\S+%%\S+)\s*<=\s*(\S+)\s*$", re.M)
_ATTACH = re.compile(r'DSAttachJob\("((?:[^"]|"")*)"')
_OK_TEST = re.compile(r"^If \((?:job\$\S+\$status = DSJS\.RUNOK|[a-z]\$V\d+S\d+ = 0)\) Then")


@dataclass(frozen=True)
class Jump:
    """A jump of the compiled code: from the block it is in, to an activity's START (or a loop's REPEAT)."""

    block: str
    target: str
    kind: str
    #: "always", "otherwise", "ok" or "expression" (its BASIC test, tokens replaced by their names).
    gate: str
    test: str = ""


def read_jumps(code: str) -> list[Jump]:
    tokens = dict(_TOKEN.findall(code))
    jumps, block = [], "MAIN"  # the sequence's start: everything before the first activity's block
    for raw in code.splitlines():
        line = raw.strip()
        if (label := _LABEL.match(line)) is not None:
            if block != "MAIN" or re.fullmatch(r"V\d+S\d+", label.group(1)):
                block = label.group(1)
            continue
        for match in _JUMP.finditer(line):
            jumps.append(Jump(block, match.group(1), match.group(2).upper(), *_gate(line, tokens)))
    return jumps


def _gate(line: str, tokens: dict[str, str]) -> tuple[str, str]:
    if not line.startswith("If "):
        return "always", ""
    if re.match(r"If b\$\S+else Then", line):
        return "otherwise", ""
    if _OK_TEST.match(line):
        return "ok", ""
    test = line[3:line.rindex(" Then ")]
    for token, name in tokens.items():
        test = test.replace(token, name)
    return "expression", test


def attached_jobs(code: str) -> dict[str, str]:
    """Activity id -> the job its block attaches first (its own; a terminator's STOP list comes later)."""
    attached: dict[str, str] = {}
    block = "MAIN"
    for raw in code.splitlines():
        if (label := _LABEL.match(raw.strip())) is not None:
            block = label.group(1)
        elif block not in attached and (match := _ATTACH.search(raw)) is not None:
            attached[block] = match.group(1).replace('""', '"')
    return attached


def check_job_control(job: DsJob) -> list[str]:
    """Every way the graph read from the export differs from its compiled job control, one line each."""
    if not job.job_control_code.strip():
        return ["the export holds no compiled job control (jobControlCode): nothing to check the graph against"]
    name = {i: a.name for i, a in job.activities.items()}
    jumps = read_jumps(job.job_control_code)
    compiled = {(j.block, j.target): j for j in jumps if j.kind == "START" and j.block in job.activities}
    drawn = {(link.source, link.target): link for link in job.links if not link.loop_back}
    lines = [f"trigger {drawn[e].name} ({name[e[0]]} -> {name[e[1]]}): in the export's graph, not in the job "
             "control" for e in sorted(set(drawn) - set(compiled))]
    lines += [f"the job control jumps from {name[e[0]]} to {name.get(e[1], e[1])}: no trigger of the graph does"
              for e in sorted(set(compiled) - set(drawn))]
    for edge in sorted(set(drawn) & set(compiled)):
        lines += _gate_problems(job, drawn[edge], compiled[edge])
    backs = {(link.source, link.target) for link in job.links if link.loop_back}
    repeats = {(j.block, j.target) for j in jumps if j.kind == "REPEAT"}
    lines += [f"loop back {name.get(s, s)} -> {name.get(t, t)}: " + ("in the graph only" if (s, t) in backs
              else "in the job control only") for s, t in sorted(backs ^ repeats)]
    starts = {j.target for j in jumps if j.block == "MAIN" and j.kind == "START"}
    drawn_starts = {i for i, a in job.activities.items() if a.class_name != "JSExceptionHandler"
                    and not any(link.target == i for link in job.links)}
    if starts != drawn_starts:
        lines.append(f"start activities: the graph has {sorted(name[i] for i in drawn_starts)}, the job control "
                     f"{sorted(name.get(i, i) for i in starts)}")
    attached = attached_jobs(job.job_control_code)
    for identifier, activity in job.activities.items():
        wanted = activity.job_name
        if activity.class_name == "JSJobActivity" and attached.get(identifier) != wanted:
            lines.append(f"activity {activity.name}: the graph runs job {wanted}, the job control attaches "
                         f"{attached.get(identifier, 'none')}")
    return lines


def _gate_problems(job: DsJob, link: DsLink, jump: Jump) -> list[str]:
    source = job.activities[link.source]
    where = f"trigger {link.name} ({source.name} -> {job.activities[link.target].name})"
    wanted = {"0": "always", "1": "otherwise", "2": "ok"}.get(link.condition_type, "expression")
    if link.condition_type == "7" and jump.gate == "ok":
        return []  # a return value "= 0" may compile as the OK test
    if wanted != jump.gate:
        return [f"{where}: ConditionType {link.condition_type} in the graph, a {jump.gate} test in the job control"]
    if wanted != "expression":
        return []
    text = link.expression.strip() if link.condition_type == "6" else \
        f"{source.name}.$ReturnValue {link.expression.strip()}"
    try:
        same = parse_expression(text, any_field=True).tree == parse_expression(jump.test, any_field=True).tree
    except ExpressionError as error:
        return [f"{where}: {text!r} or the job control's {jump.test!r} does not read: {error}"]
    return [] if same else [f"{where}: the graph tests {text!r}, the job control {jump.test!r}"]
