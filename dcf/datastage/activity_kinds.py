"""Each DataStage activity class as a stream activity kind (the settings it keeps, what it loses).

``kind_of(mapper, activity, loop_vars)`` returns the activity's kind key(s) and the report's verdict:
mapped, approximated (with what differs) or needs attention (with why).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from dcf.datastage.basic import APPROXIMATED, ATTENTION, MAPPED
from dcf.datastage.model import DsActivity, identifier_of

#: The executable a routine or an unknown activity becomes: it fails, so nothing passes as migrated unseen.
PLACEHOLDER = ["false"]


@dataclass
class Kind:
    fields: dict[str, Any]
    status: str = MAPPED
    note: str = ""
    original: str = ""
    translation: str = ""


def kind_of(mapper: Any, activity: DsActivity, loop_vars: tuple[str, ...]) -> Kind:
    handler = _KINDS.get(activity.class_name)
    if handler is None:
        return Kind({"command": PLACEHOLDER}, ATTENTION,
                    f"activity class {activity.class_name or '?'} is not known; a failing placeholder command")
    return handler(mapper, activity, loop_vars)


def _setting(activity: DsActivity, *keys: str, default: str = "") -> str:
    lowered = {k.lower(): v for k, v in activity.settings.items()}
    return next((lowered[k.lower()] for k in keys if lowered.get(k.lower())), default)


def _job(mapper: Any, activity: DsActivity, loop_vars: tuple[str, ...]) -> Kind:
    return _execution_settings(activity, _job_call(mapper, activity, loop_vars))


#: A job activity's ExecutionAction codes: run / reset if required, then run / validate only.
_EXECUTION_ACTIONS = {"0": "run", "1": "reset", "2": "validate"}


def _execution_settings(activity: DsActivity, kind: Kind) -> Kind:
    """ExecutionAction and CheckPoint of a job activity, on top of what it calls."""
    fields, notes, status = dict(kind.fields), [kind.note] if kind.note else [], kind.status
    action = _setting(activity, "ExecutionAction").lower()
    action = _EXECUTION_ACTIONS.get(action, action)
    if action == "reset":
        notes.append("ExecutionAction reset if required, then run: a dbt build or a stream needs no reset")
    elif action == "validate":
        status = ATTENTION
        notes.append("ExecutionAction validate only: this activity would build; the stream's VALIDATE mode "
                     "checks selections without building")
    elif action not in ("", "run"):
        status = ATTENTION
        notes.append(f"ExecutionAction {action!r} is not a known code")
    checkpoint = _setting(activity, "CheckPoint").lower()
    if checkpoint in ("0", "false", "no"):
        fields["always_rerun"] = True
        notes.append("not checkpointed (CheckPoint 0): always_rerun, it runs again on a restart")
    elif checkpoint not in ("", "1", "true", "yes"):
        status = ATTENTION
        notes.append(f"CheckPoint {checkpoint!r} is not a known value; checkpointed as usual")
    return Kind(fields, status, "; ".join(notes), kind.original, kind.translation)


def _job_call(mapper: Any, activity: DsActivity, loop_vars: tuple[str, ...]) -> Kind:
    job_name = _setting(activity, "Jobname", "jobName")
    values = [(name, mapper.template(value, loop_vars)) for name, value in activity.values]
    lost = [f"{n}: {t.note}" for n, t in values if t.status != MAPPED]
    if job_name in mapper.ctx.streams:
        child: dict[str, Any] = {"name": mapper.ctx.streams[job_name]}
        passed = {identifier_of(n): t.text for n, t in values if t.status == MAPPED}
        if passed:
            child["parameters"] = passed
        note = f"child sequence {job_name}" + (f"; values not carried over: {'; '.join(lost)}" if lost else "")
        return Kind({"stream": child}, APPROXIMATED if lost else MAPPED, note, job_name)
    mapped = mapper.ctx.job_map.lookup(job_name)
    mapper.jobs_called[job_name] = mapped is not None
    if isinstance(mapped, dict) and "stream" in mapped:
        return Kind({"stream": str(mapped["stream"])}, MAPPED, f"job {job_name} -> stream (job map)", job_name)
    step: dict[str, Any] = {"select": [mapped] if isinstance(mapped, str) else list(mapped or [])}
    if not step["select"]:
        step["select"] = [f"tag:{job_name.lower()}"]
    dbt_vars = {n: t.text for n, t in values if t.status == MAPPED}
    if dbt_vars:
        step["vars"] = dbt_vars
    if mapped is None:
        return Kind({"dbt": step}, ATTENTION, f"job {job_name} is not in the job map: needs a dbt model "
                                              f"(selected as {step['select'][0]})", job_name)
    if lost:
        return Kind({"dbt": step}, APPROXIMATED, "values not carried over: " + "; ".join(lost), job_name)
    return Kind({"dbt": step}, MAPPED, f"job {job_name} -> {step['select']}", job_name)


def _user_vars(mapper: Any, activity: DsActivity, loop_vars: tuple[str, ...]) -> Kind:
    variables, notes = {}, []
    for name, expression in activity.values:
        translated = mapper.expression(expression, loop_vars)
        if translated.status == MAPPED:
            variables[identifier_of(name)] = translated.text
        else:
            variables[identifier_of(name)] = "''"
            notes.append(f"{name} = {expression}: {translated.note}")
    original = "; ".join(f"{n} = {e}" for n, e in activity.values)
    translation = "; ".join(f"{n} = {v}" for n, v in variables.items())
    if notes:
        return Kind({"set_vars": variables}, ATTENTION, "left empty: " + "; ".join(notes), original, translation)
    return Kind({"set_vars": variables}, MAPPED, "", original, translation)


def _command(mapper: Any, activity: DsActivity, loop_vars: tuple[str, ...]) -> Kind:
    line = " ".join(p for p in (_setting(activity, "Path", "CommandName", "Command"),
                                _setting(activity, "Parameters", "CommandParameters")) if p)
    try:
        argv = shlex.split(line)
    except ValueError as error:
        return Kind({"command": PLACEHOLDER}, ATTENTION, f"command line not split: {error}", line)
    if not argv:
        return Kind({"command": PLACEHOLDER}, ATTENTION, "no command line", line)
    parts = [mapper.template(part, loop_vars) for part in argv]
    notes = [p.note for p in parts if p.status != MAPPED]
    status = ATTENTION if notes else (APPROXIMATED if any(c in line for c in "|;&>`") else MAPPED)
    note = "; ".join(notes) or ("shell syntax (pipes, redirections) does not run without a shell"
                                if status == APPROXIMATED else "")
    return Kind({"command": [p.text for p in parts]}, status, note, line, " ".join(p.text for p in parts))


def _routine(mapper: Any, activity: DsActivity, loop_vars: tuple[str, ...]) -> Kind:
    routine = _setting(activity, "CatalogueName", "RoutineName", default="?")
    return Kind({"command": PLACEHOLDER}, ATTENTION,
                f"server routine {routine} has no equivalent: a failing placeholder command to replace", routine)


def _terminate(mapper: Any, activity: DsActivity, loop_vars: tuple[str, ...]) -> Kind:
    text = _setting(activity, "LogText", "Message", default=f"terminated by {activity.name}")
    message = mapper.template(text, loop_vars)
    if message.status != MAPPED:
        return Kind({"terminate": f"terminated by {activity.name}"}, APPROXIMATED, message.note, text)
    return Kind({"terminate": message.text}, MAPPED, "", text, message.text)


def _mail(mapper: Any, activity: DsActivity, loop_vars: tuple[str, ...]) -> Kind:
    subject = mapper.template(_setting(activity, "Subject", default=activity.name), loop_vars)
    body = mapper.template(_setting(activity, "Body"), loop_vars)
    block = mapper.ctx.job_map.lookup("notify") or "email/datastage-mail"
    status = MAPPED if "notify" in mapper.ctx.job_map.entries else ATTENTION
    note = "" if status == MAPPED else (f"recipients {_setting(activity, 'To', 'Recipients')!r}: name a Prefect "
                                        f"notification block as 'notify' in the job map (now {block})")
    return Kind({"notify": {"blocks": [block], "subject": subject.text, "body": body.text}}, status, note)


def _wait_for_file(mapper: Any, activity: DsActivity, loop_vars: tuple[str, ...]) -> Kind:
    path = mapper.template(_setting(activity, "FileName", "File"), loop_vars)
    relative = path.text.lstrip("/")
    timeout = _setting(activity, "Timeout", default="3600")
    mode = "disappear" if _setting(activity, "WaitType", "Mode").lower() in ("1", "disappear") else "appear"
    step = {"path": relative or "missing", "mode": mode,
            "timeout_s": float(timeout) if timeout.replace(".", "", 1).isdigit() else 3600}
    if relative != path.text or path.status != MAPPED:
        return Kind({"wait_for_file": step}, APPROXIMATED, "the path is read under DCF_HOME: "
                    + (path.note or f"{path.text} became {relative}"), path.text)
    return Kind({"wait_for_file": step}, MAPPED)


_KINDS = {"JSJobActivity": _job, "JSUserVarsActivity": _user_vars, "JSExecCmdActivity": _command,
          "JSRoutineActivity": _routine, "JSTerminatorActivity": _terminate, "JSMailActivity": _mail,
          "JSWaitForFileActivity": _wait_for_file}
