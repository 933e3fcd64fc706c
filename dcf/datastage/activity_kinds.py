"""Each DataStage activity class as a stream activity kind (the settings it keeps, what it loses).

``kind_of(mapper, activity, scope)`` returns the activity's kind key(s) and the report's verdict: mapped,
approximated (with what differs) or needs attention (with why). Setting names are those of 11.x exports
(``ExecutionType``, ``CheckPoint``, ``Path``, ``FinalMessage``, ...; see the corpus's FORMAT notes).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

import yaml

from dcf.datastage.basic import (
    APPROXIMATED,
    ATTENTION,
    MAPPED,
    Scope,
    Translation,
    template,
    translate,
    value_template,
)
from dcf.datastage.job_parameters import is_parameter_set
from dcf.datastage.model import DsActivity, identifier_of

#: The executable a routine or an unknown activity becomes: it fails, so nothing passes as migrated unseen.
PLACEHOLDER = ["false"]
#: A job activity's ExecutionType codes: run / reset if required, then run / validate only.
_EXECUTION_TYPES = {"0": "run", "1": "reset", "2": "validate"}


@dataclass
class Kind:
    fields: dict[str, Any]
    status: str = MAPPED
    note: str = ""
    original: str = ""
    translation: str = ""


def kind_of(mapper: Any, activity: DsActivity, scope: Scope) -> Kind:
    handler = _KINDS.get(activity.class_name)
    if handler is None:
        return Kind({"command": PLACEHOLDER}, ATTENTION,
                    f"activity class {activity.class_name or '?'} is not known; a failing placeholder command")
    kind = handler(mapper, activity, scope)
    if not kind.translation:  # what the activity became, as the stream YAML says it
        kind.translation = yaml.safe_dump(kind.fields, default_flow_style=True, width=1_000_000,
                                          sort_keys=False).strip()
    if activity.settings.get("CheckPoint", "").strip() == "1":
        kind.fields["always_rerun"] = True
        kind.note = "; ".join(n for n in (kind.note, "CheckPoint 1 (do not checkpoint run): always_rerun") if n)
    return kind


def _setting(activity: DsActivity, *keys: str, default: str = "") -> str:
    lowered = {k.lower(): v for k, v in activity.settings.items()}
    return next((lowered[k.lower()] for k in keys if lowered.get(k.lower())), default)


def _worst(*statuses: str) -> str:
    return next((s for s in (ATTENTION, APPROXIMATED) if s in statuses), MAPPED)


def _job(mapper: Any, activity: DsActivity, scope: Scope) -> Kind:
    job_name = activity.job_name
    passed, notes = _passed_values(mapper, activity, scope)
    action = _EXECUTION_TYPES.get(_setting(activity, "ExecutionType", "ExecutionAction").strip(), "run")
    status = _worst(*(t.status for t in passed.values()))
    notes += [f"{n}: {t.note}" for n, t in passed.items() if t.status != MAPPED]
    if action == "validate":
        status = ATTENTION
        notes.append("ExecutionType validate only: the stream's VALIDATE mode checks without building")
    values = {_key(n): t.text for n, t in passed.items() if t.status == MAPPED}
    if job_name in mapper.ctx.streams:
        child: dict[str, Any] = {"name": mapper.ctx.streams[job_name]}
        if values:
            child["parameters"] = values
        return Kind({"stream": child}, status, "; ".join([f"child sequence {job_name}", *notes]), job_name)
    notes += _parameters_against_the_job(mapper, job_name, activity)
    mapped = mapper.ctx.job_map.lookup(job_name)
    mapper.jobs_called[job_name] = mapped is not None
    if isinstance(mapped, dict) and "stream" in mapped:
        return Kind({"stream": str(mapped["stream"])}, status, f"job {job_name} -> stream (job map)", job_name)
    operation = mapped.get("operation") if isinstance(mapped, dict) else \
        mapper.ctx.operations.get(job_name) if mapped is None else None
    step: dict[str, Any] = {"operation": str(operation)} if operation else \
        {"select": [mapped] if isinstance(mapped, str) else list(mapped or []) or [f"tag:{job_name.lower()}"]}
    step["job"] = job_name  # what $JobName reads
    if activity.invocation_id:
        invocation = template(activity.invocation_id, scope)
        values["dcf_invocation_id"] = invocation.text
        notes.append(f"multi-instance job, invocation {activity.invocation_id}: passed as dbt var dcf_invocation_id")
    if values:
        step["vars"] = values
    tier = mapper.ctx.converted.get(job_name) if mapped is None else None
    if tier is not None:  # the converted models carry the job's name as their tag
        mapper.jobs_called[job_name] = True
        status = _worst(status, _TIER_STATUS[tier])
        made = f"a dbt operation ({tier}: {_TIER_MEANS[tier]}), run as operation {operation}" if operation else \
            f"dbt models ({tier}: {_TIER_MEANS[tier]}), selected as {step['select'][0]}"
        notes.insert(0, f"job {job_name} converted to {made}")
    elif mapped is None:
        status = ATTENTION
        notes.insert(0, f"job {job_name} is not in the job map: needs a dbt model (selected as {step['select'][0]})")
    target = f"operation {operation}" if operation else step["select"]
    return Kind({"dbt": step}, status, "; ".join(notes) or f"job {job_name} -> {target}", job_name)


#: What a converted job's tier makes of the activity that runs it, and what the tier means.
_TIER_STATUS = {"AUTO": MAPPED, "SEMI": APPROXIMATED, "MANUAL": ATTENTION}
_TIER_MEANS = {"AUTO": "every stage converted", "SEMI": "approximations, listed per stage below",
               "MANUAL": "stages left to a person: its models do not build until someone supplies them"}


def _parameters_against_the_job(mapper: Any, job_name: str, activity: DsActivity) -> list[str]:
    """What the activity passes that the called job (read from the exports) does not define — a value that
    reaches no parameter, as in DataStage — and the job's parameters it leaves at their defaults."""
    defined = mapper.ctx.job_parameters.get(job_name)
    if defined is None:
        return []
    passed = [name for name, _ in activity.values]
    unknown = [name for name in passed if name not in defined]
    defaulted = [name for name in defined if name not in passed and not name.startswith("$")]
    notes = []
    if unknown:
        notes.append(f"passes {', '.join(unknown)}, which job {job_name} as exported does not define (the value "
                     "reaches no parameter: the sequence and the job exported at different versions?)")
    if unknown and defaulted:
        notes.append(f"{', '.join(defaulted)} of {job_name} keep their defaults")
    return notes


def _key(name: str) -> str:
    """A passed value's name as the stream writes it: ``$APT_CONFIG_FILE`` -> ``APT_CONFIG_FILE``, a parameter
    set's member ``PS_SRC.SRC_SCHEMA`` as it is."""
    return ".".join(identifier_of(part) for part in name.split(".", 1))


def _passed_values(mapper: Any, activity: DsActivity, scope: Scope) -> tuple[dict[str, Translation], list[str]]:
    """A job activity's values (BASIC expressions) as stream parameter strings. A parameter set passed whole
    passes each of its members (as DataStage sets the set and every member), passwords left to their block."""
    passed: dict[str, Translation] = {}
    notes: list[str] = []
    sets = {p.name: p for p in mapper.job.parameters if is_parameter_set(p)}
    for name, expression in activity.values:
        if name in sets and expression.strip() == name:
            members = mapper.ctx.parameter_sets.get(name, [])
            for member in members:
                if not member.encrypted:
                    passed[f"{name}.{member.name}"] = value_template(f"{name}.{member.name}", scope)
            notes.append(f"parameter set {name} passed whole: each member but passwords (the child reads those "
                         "from their secret block)")
            continue
        if _is_password(mapper, expression):
            notes.append(f"{name}: a password, not passed (the job reads it from its secret block or profile; a "
                         "value handed to dbt would be written to its run results)")
            continue
        passed[name] = value_template(expression, scope)
    return passed, notes


def _is_password(mapper: Any, expression: str) -> bool:
    """An encrypted value, or a parameter (or set member) that holds one."""
    text = expression.strip()
    if text.startswith("{iisenc}"):
        return True
    encrypted = {p.name for p in mapper.job.parameters if p.encrypted}
    encrypted |= {f"{s}.{m.name}" for s, members in mapper.ctx.parameter_sets.items() for m in members if m.encrypted}
    return text in encrypted


def _user_vars(mapper: Any, activity: DsActivity, scope: Scope) -> Kind:
    variables, notes = {}, []
    for name, expression in activity.values:
        translated = translate(expression, scope)
        if translated.status == MAPPED:
            variables[identifier_of(name)] = translated.text
        else:
            variables[identifier_of(name)] = "'NEEDS ATTENTION'"
            notes.append(f"{name} = {expression}: {translated.note}")
    original = "; ".join(f"{n} = {e}" for n, e in activity.values)
    translation = "; ".join(f"{n} = {v}" for n, v in variables.items())
    status = ATTENTION if notes else MAPPED
    return Kind({"set_vars": variables}, status, "; ".join(notes), original, translation)


def _command(mapper: Any, activity: DsActivity, scope: Scope) -> Kind:
    line = " ".join(p for p in (_setting(activity, "Path", "CommandName"), _setting(activity, "Parameters")) if p)
    try:
        argv = shlex.split(line)
    except ValueError as error:
        return Kind({"command": PLACEHOLDER}, ATTENTION, f"command line not split: {error}", line)
    if not argv:
        return Kind({"command": PLACEHOLDER}, ATTENTION, "no command line", line)
    parts = [template(part, scope) for part in argv]
    notes = [p.note for p in parts if p.status != MAPPED]
    shell = any(token in argv for token in ("|", "||", "&&", ";", ">", ">>", "<", "2>&1")) or "`" in line
    if shell and not notes:
        # the line as DataStage's shell read it, quotes and globs included (its words re-joined would not be)
        argv_out = ["sh", "-c", template(line, scope).text]
        return Kind({"command": argv_out}, APPROXIMATED, "shell syntax (pipes, redirections): run through sh -c",
                    line, shlex.join(argv_out))
    status = ATTENTION if notes else MAPPED
    return Kind({"command": [p.text for p in parts]}, status, "; ".join(notes), line,
                shlex.join(p.text for p in parts))


def _routine(mapper: Any, activity: DsActivity, scope: Scope) -> Kind:
    routine = _setting(activity, "CatalogueName", "RoutineName", default="?")
    arguments = ", ".join(f"{n} = {e}" for n, e in activity.values)
    return Kind({"command": PLACEHOLDER}, ATTENTION,
                f"server routine {routine}({arguments}) has no equivalent: a failing placeholder command to "
                "replace (a command whose output sets the same values)", routine)


def _terminate(mapper: Any, activity: DsActivity, scope: Scope) -> Kind:
    text = _setting(activity, "FinalMessage", default=f"terminated by {activity.name}")
    message = template(text, scope)
    how = "STOP to running jobs, wait for them, then abort" if _setting(activity, "TerminationType") == "1" \
        else "STOP to running jobs, abort"
    if message.status != MAPPED:
        return Kind({"terminate": f"terminated by {activity.name}"}, APPROXIMATED, message.note, text)
    return Kind({"terminate": message.text}, MAPPED, f"terminator ({how}): the run ends FAILED", text, message.text)


def _mail(mapper: Any, activity: DsActivity, scope: Scope) -> Kind:
    subject = template(_setting(activity, "Subject", default=activity.name), scope)
    body = template(_setting(activity, "Body"), scope)
    block = mapper.ctx.job_map.lookup("notify") or "email/datastage-mail"
    status = _worst(subject.status, body.status, MAPPED if "notify" in mapper.ctx.job_map.entries else ATTENTION)
    note = "" if status == MAPPED else (f"recipients {_setting(activity, 'Recipients', 'To')!r}: name a Prefect "
                                        f"notification block as 'notify' in the job map (now {block})")
    return Kind({"notify": {"blocks": [block], "subject": subject.text, "body": body.text}}, status, note,
                _setting(activity, "Subject"))


def _wait_for_file(mapper: Any, activity: DsActivity, scope: Scope) -> Kind:
    path = template(_setting(activity, "FileName", "File"), scope)
    relative = path.text.lstrip("/")
    mode = "disappear" if _setting(activity, "WaitType").strip() in ("1", "disappear") else "appear"
    step: dict[str, Any] = {"path": relative or "missing", "mode": mode, "timeout_s": _seconds(activity)}
    if relative != path.text or path.status != MAPPED:
        return Kind({"wait_for_file": step}, APPROXIMATED, "the path is read under DCF_HOME: "
                    + (path.note or f"{path.text} became {relative}"), path.text, relative)
    return Kind({"wait_for_file": step}, MAPPED, "", path.text, relative)


def _seconds(activity: DsActivity) -> float:
    """``TimeoutLength`` (hh:mm:ss); ``DoNotTimeout`` 1: a day, the longest a stream waits."""
    if _setting(activity, "DoNotTimeout").strip() == "1":
        return 86_400.0
    text = _setting(activity, "TimeoutLength", "Timeout", default="01:00:00").strip()
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        return 3600.0
    seconds = sum(value * 60 ** index for index, value in enumerate(reversed(parts)))
    return seconds or 3600.0


_KINDS = {"JSJobActivity": _job, "JSUserVarsActivity": _user_vars, "JSExecCmdActivity": _command,
          "JSRoutineActivity": _routine, "JSTerminatorActivity": _terminate, "JSMailActivity": _mail,
          "JSWaitFileActivity": _wait_for_file, "JSWaitForFileActivity": _wait_for_file}
