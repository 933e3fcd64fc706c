"""One DataStage sequence as a stream YAML, and what the report says about each activity and trigger.

    mapped = map_sequence(job, Context(streams={"SQ_CHILD": "SQ_CHILD"}, job_map=JobMap({...})), ...)
    mapped.stream          # the stream YAML's content (a dict, dumped by dcf.datastage.importer)
    mapped.entries         # one Entry per activity, trigger and parameter of the export: nothing is dropped

The graph is kept as DataStage drew it: every trigger becomes a trigger of the stream (a custom or return-value
trigger a ``{custom: expression}``), sequencers and nested conditions stay activities that run nothing, a
start/end loop pair becomes a ``loop`` whose body is what lies between them and whose ``continue_after`` is
what reaches the end loop, the exception handler's chain becomes ``on_failure`` (an activity the main graph
reaches too is copied there as ``<name>_on_failure``). Without "automatically handle activities that fail"
(``handleaborts``) a failure only warns: ``unhandled_failure: warn``. Activities are listed in the compiled
job control's label order, the order in which DataStage starts what becomes ready together.
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from dcf.datastage.activity_kinds import kind_of
from dcf.datastage.basic import APPROXIMATED, ATTENTION, MAPPED, Scope, template, translate
from dcf.datastage.job_parameters import map_parameters
from dcf.datastage.model import DsActivity, DsJob, DsLink, DsParameter, identifier_of
from dcf.stream.sequence import BOOKKEEPING

#: Activities that can fail (their failures are what handleaborts sends to the exception handler).
CAN_FAIL = {"JSJobActivity", "JSExecCmdActivity", "JSRoutineActivity", "JSWaitFileActivity",
            "JSWaitForFileActivity"}
#: A trigger that cannot be read: never fires, and the report says why (its text stays in the report).
NEVER = {"custom": "'needs attention' = 'see the migration report'"}
_LABEL = re.compile(r"^L\$(V\d+S\d+)\$START:", re.M)


@dataclass
class Entry:
    """One line of the migration report."""

    sequence: str
    what: str  # "activity", "trigger", "parameter", "parameter set"
    name: str
    datastage: str
    status: str
    note: str = ""
    original: str = ""
    translation: str = ""


@dataclass
class JobMap:
    """DataStage job name or glob -> a dbt selector (``tag:x``, a list of them), ``{stream: NAME}`` or
    ``{operation: MACRO}``."""

    entries: dict[str, Any] = field(default_factory=dict)

    def lookup(self, job_name: str) -> Any:
        if job_name in self.entries:
            return self.entries[job_name]
        return next((v for k, v in self.entries.items() if fnmatch.fnmatchcase(job_name, k)), None)


@dataclass
class Context:
    #: DataStage sequence name -> stream name, for every sequence of the export(s).
    streams: dict[str, str]
    job_map: JobMap
    dbt_project_dir: str = "dbt/gdw1"
    #: Parameter set name -> its parameters (ISX ``.pst`` assets).
    parameter_sets: dict[str, list[DsParameter]] = field(default_factory=dict)
    #: Parallel job name -> its conversion tier (AUTO / SEMI / MANUAL), for the jobs converted to dbt models.
    converted: dict[str, str] = field(default_factory=dict)
    #: Converted jobs that only run SQL -> the dbt operation (macro) they became.
    operations: dict[str, str] = field(default_factory=dict)
    #: Parallel/server jobs read from the exports -> their parameter names (a job activity is checked against them).
    job_parameters: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class MappedSequence:
    stream: dict[str, Any]
    entries: list[Entry]
    #: Parallel/server jobs the sequence calls, and whether the job map covers each.
    jobs_called: dict[str, bool]
    #: Prefect Secret blocks the stream reads: block name -> what it holds.
    secret_blocks: dict[str, str] = field(default_factory=dict)


class _Mapper:
    def __init__(self, job: DsJob, ctx: Context) -> None:
        self.job, self.ctx, self.acts = job, ctx, job.activities
        self.entries: list[Entry] = []
        self.jobs_called: dict[str, bool] = {}
        self.incoming: dict[str, list[DsLink]] = defaultdict(list)
        self.outgoing: dict[str, list[DsLink]] = defaultdict(list)
        for link in job.links:
            self.incoming[link.target].append(link)
            self.outgoing[link.source].append(link)
        self.order = _label_order(job)
        self.names = self._names()
        self.params = map_parameters(job.name, job.parameters, ctx.parameter_sets)
        self.handlers = {i for i, a in self.acts.items() if a.class_name == "JSExceptionHandler"}
        self.loops = {i: self._loop_end(i) for i, a in self.acts.items() if a.class_name == "JSStartLoopActivity"}
        self.loop_of = self._loop_membership()
        self.chain = self._reach([link.target for h in self.handlers for link in self.outgoing[h]])
        self.main = self._reach([i for i in self.order if not self.incoming[i] and i not in self.handlers])
        self.listed: set[int] = set()
        self.loop_names = {self.acts[s].name for s in self.loops}
        self.handler_names = {self.acts[h].name for h in self.handlers}
        #: The activities whose values an expression may read: DataStage name -> imported name.
        self.readable = {a.name: self.names[i] for i, a in self.acts.items()
                         if a.class_name not in ("JSStartLoopActivity", "JSEndLoopActivity", "JSExceptionHandler")}

    # -- structure ------------------------------------------------------------------------------------
    def _names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        used = set(BOOKKEEPING)
        for identifier in self.order:
            base = identifier_of(self.acts[identifier].name)
            name, counter = (base if base not in used else f"{base}_activity"), 2
            while name in used:
                name, counter = f"{base}_{counter}", counter + 1
            used.add(name)
            names[identifier] = name
        return names

    def _loop_end(self, start: str) -> str | None:
        back = next((link.source for link in self.incoming[start] if link.loop_back), None)
        return back or next((i for i, a in self.acts.items() if a.settings.get("StartActivityID") == start), None)

    def _loop_membership(self) -> dict[str, str]:
        """Each activity inside a loop -> its innermost start loop."""
        bodies = {start: self._reach([link.target for link in self.outgoing[start]], stop={start, end})
                  for start, end in self.loops.items()}
        member: dict[str, str] = {}
        for start in sorted(bodies, key=lambda s: -len(bodies[s])):  # outer loops first, inner ones override
            member.update(dict.fromkeys(bodies[start], start))
        return member

    def _reach(self, starts: list[str], stop: set[str | None] | None = None) -> set[str]:
        seen: set[str] = set()
        pending = list(starts)
        while pending:
            current = pending.pop()
            if current in seen or current in (stop or set()):
                continue
            seen.add(current)
            pending += [link.target for link in self.outgoing[current] if not link.loop_back]
        return seen

    def copied(self, identifier: str, in_handler: bool) -> bool:
        """Whether this is on_failure's copy of an activity the main graph has too (reported there once)."""
        return in_handler and identifier in self.main

    def name(self, identifier: str, in_handler: bool) -> str:
        return f"{self.names[identifier]}_on_failure" if self.copied(identifier, in_handler) else self.names[identifier]

    def scope(self, identifier: str) -> Scope:
        counters, loop = {}, self.loop_of.get(identifier)
        while loop is not None:
            counters[self.acts[loop].name] = f"{self.names[loop]}_counter"
            loop = self.loop_of.get(loop)
        return Scope(activities=self.readable, parameters=self.params.names, loop_counters=counters,
                     loops=self.loop_names, handlers=self.handler_names)

    # -- the stream -----------------------------------------------------------------------------------
    def level(self, members: set[str], in_handler: bool = False) -> list[dict[str, Any]]:
        return [self.activity(i, in_handler) for i in self.order if i in members
                and self.acts[i].class_name not in ("JSEndLoopActivity", "JSExceptionHandler")]

    def stream(self, stream_name: str, stream_id: int) -> MappedSequence:
        job = self.job
        top = {i for i in self.main if i not in self.loop_of}
        sequence = self.level(top)
        on_failure = self.level({i for i in self.chain if i not in self.loop_of}, in_handler=True)
        for identifier in self.order:
            activity = self.acts[identifier]
            if activity.class_name in ("JSEndLoopActivity", "JSExceptionHandler"):
                note = ("its triggers become the loop's continue_after; what follows it follows the loop"
                        if activity.class_name == "JSEndLoopActivity" else "its chain of activities becomes on_failure")
                log_text = activity.settings.get("LogText", "").strip()
                status = APPROXIMATED if log_text else MAPPED
                if log_text:
                    note += "; its LogText is not logged by the stream (the run's failure message is)"
                self.entries.append(Entry(job.name, "activity", activity.name, activity.class_name, status, note,
                                          log_text))
            elif identifier not in self.main and identifier not in self.chain:
                self.entries.append(Entry(job.name, "activity", activity.name, activity.class_name, ATTENTION,
                                          "no trigger reaches it: not imported"))
        for link in job.links:
            if id(link) not in self.listed:
                self.link_entry(link, MAPPED, "the loop's way back: the loop runs its body once per item"
                                if link.loop_back else "from the exception handler: on_failure starts here")
        stream: dict[str, Any] = {
            "stream": {"name": stream_name, "id": stream_id,
                       "description": f"Imported from DataStage sequence {job.name}"},
            "datastage": {"sequence": job.name, **({"project": job.project} if job.project else {}),
                          "activities": {self.acts[i].name: self.names[i] for i in self.order}},
        }
        if _builds_with_dbt([*sequence, *on_failure]):  # each job activity selects its own models
            stream["dbt"] = {"project_dir": self.ctx.dbt_project_dir}
        if self.params.parameters:
            stream["parameters"] = self.params.parameters
        if self.params.sets:
            stream["parameter_sets"] = self.params.sets
        for name, note, status in self.params.notes:
            self.entries.append(Entry(job.name, "parameter", name, "job parameter", status, note))
        if "handleaborts" not in job.options:
            stream["unhandled_failure"] = "warn"
        stream["sequence"] = sequence
        if on_failure:
            stream["on_failure"] = on_failure
        return MappedSequence(stream, self.entries, self.jobs_called, self.params.secret_blocks)

    def activity(self, identifier: str, in_handler: bool) -> dict[str, Any]:
        activity = self.acts[identifier]
        result: dict[str, Any] = {"name": self.name(identifier, in_handler)}
        after = self.after(identifier, in_handler)
        if after:
            result["after"] = after
        if activity.class_name == "JSSequencer":
            mode = "any" if activity.settings.get("SequencerType", "0").strip() == "1" else "all"
            return self.structural(activity, {**result, "sequencer": mode}, f"sequencer ({mode})", in_handler)
        if activity.class_name == "JSCondition":
            return self.structural(activity, {**result, "nested_condition": {}},
                                   "nested condition: its branches are its followers' triggers", in_handler)
        if activity.class_name == "JSStartLoopActivity":
            return self.loop(identifier, result, in_handler)
        kind = kind_of(self, activity, self.scope(identifier))
        if not self.copied(identifier, in_handler):
            self.entries.append(Entry(self.job.name, "activity", activity.name, activity.class_name, kind.status,
                                      kind.note, kind.original, kind.translation))
        if "checkpoints" not in self.job.options:
            kind.fields["always_rerun"] = True  # without checkpoints a restart runs everything again
        return {**result, **kind.fields}

    def structural(self, activity: DsActivity, result: dict[str, Any], note: str, in_handler: bool) -> dict[str, Any]:
        if not self.copied(activity.identifier, in_handler):
            self.entries.append(Entry(self.job.name, "activity", activity.name, activity.class_name, MAPPED, note))
        return result

    def loop(self, start: str, result: dict[str, Any], in_handler: bool) -> dict[str, Any]:
        activity, end = self.acts[start], self.loops[start]
        settings = activity.settings
        counter = f"{self.names[start]}_counter"
        body = {i for i, loop in self.loop_of.items() if loop == start}
        scope = self.scope(start)
        if settings.get("LoopType", "0").strip() == "1":
            values = template(settings.get("DelimitedLoopValues", ""), scope)
            over: Any = values.text
            status, note = values.status, values.note or "a list loop"
            extra = {"delimiter": settings.get("Delimiter") or ","}
        else:
            bounds = {key: template(settings.get(name, default), scope) for key, name, default in
                      (("from", "NumericLoopStart", "1"), ("to", "NumericLoopEnd", "1"),
                       ("step", "NumericLoopIncrement", "1"))}
            over = {key: int(b.text) if b.text.strip().lstrip("-").isdigit() else b.text for key, b in bounds.items()}
            bad = [f"{key}: {b.note}" for key, b in bounds.items() if b.status != MAPPED]
            status, note, extra = (ATTENTION if bad else MAPPED), "; ".join(bad) or "a numeric loop", {}
        loop: dict[str, Any] = {"over": over, "as": counter, **extra, "do": self.level(body, in_handler)}
        if end is not None:
            ends = self.after(end, in_handler)
            if ends:
                loop["continue_after"] = ends
        if not loop["do"]:
            status, note = ATTENTION, "the loop's body is empty"
        self.entries.append(Entry(self.job.name, "activity", activity.name, activity.class_name, status,
                                  f"{note}; body: {len(loop['do'])} activities, variable {counter}", "", str(over)))
        return {**result, "loop": loop}

    # -- triggers -------------------------------------------------------------------------------------
    def after(self, identifier: str, in_handler: bool) -> dict[str, Any]:
        """The triggers into an activity, each as ``{input: condition}``."""
        after: dict[str, Any] = {}
        for link in self.incoming[identifier]:
            source = self.acts[link.source]
            if link.loop_back or link.source in self.handlers or self.loop_of.get(identifier) == link.source:
                continue  # the loop's way back; the start of on_failure; the start of a loop body
            if link.source not in (self.chain if in_handler else self.main):
                continue  # the handler's copies are reached from the handler only, and the main graph's not
            if source.class_name == "JSEndLoopActivity":
                start = next((s for s, e in self.loops.items() if e == link.source), None)
                if start is None:
                    self.link_entry(link, ATTENTION, "from an end loop without its start loop: not imported")
                    continue
                after[self.name(start, in_handler)] = "ok"
                self.link_entry(link, MAPPED, "after the loop has run every iteration", "ok")
                continue
            after[self.name(link.source, in_handler)] = self.condition(link, source)
        return after

    def condition(self, link: DsLink, source: DsActivity) -> Any:
        code = link.condition_type
        if code == "0":
            if source.class_name in CAN_FAIL and "handleaborts" in self.job.options and not self._otherwise(source):
                self.link_entry(link, MAPPED, "unconditional; a failure goes to the exception handler first "
                                              "(handleaborts), so it fires on OK or warnings", "ok_or_warnings")
                return "ok_or_warnings"
            self.link_entry(link, MAPPED, "unconditional", "always")
            return "always"
        simple = {"1": ("otherwise", MAPPED, "otherwise"), "2": ("ok", MAPPED, "OK"),
                  "3": ("failed", APPROXIMATED, "failed (code 3, read from the Designer's list)"),
                  "4": ("warnings", APPROXIMATED, "warning (code 4, read from the Designer's list)")}
        if code in simple:
            condition, status, note = simple[code]
            self.link_entry(link, status, note, condition)
            return condition
        if code in ("6", "7"):
            text = link.expression.strip() if code == "6" else f"{source.name}.$ReturnValue {link.expression.strip()}"
            translated = translate(text, self.scope(link.source))
            if translated.status == MAPPED:
                self.link_entry(link, MAPPED, "custom" if code == "6" else "return value", translated.text)
                return {"custom": translated.text}
            self.link_entry(link, ATTENTION, f"never fires until someone translates it: {translated.note}")
            return NEVER
        self.link_entry(link, ATTENTION, f"ConditionType {code} is not a known code: never fires until someone "
                                         "says what it means")
        return NEVER

    def _otherwise(self, source: DsActivity) -> bool:
        return any(link.condition_type == "1" for link in self.outgoing[source.identifier])

    def link_entry(self, link: DsLink, status: str, note: str, translation: str = "") -> None:
        if id(link) in self.listed:
            return
        self.listed.add(id(link))
        source, target = self.acts[link.source], self.acts[link.target]
        self.entries.append(Entry(self.job.name, "trigger", f"{link.name} ({source.name} -> {target.name})",
                                  f"ConditionType {link.condition_type}", status, note, link.expression, translation))


def _label_order(job: DsJob) -> list[str]:
    """Activity ids in the job control's label order (then any it does not list, by id)."""
    labelled = [i for i in dict.fromkeys(_LABEL.findall(job.job_control_code)) if i in job.activities]
    rest = sorted((i for i in job.activities if i not in labelled),
                  key=lambda i: [int(n) if n.isdigit() else n for n in re.split(r"(\d+)", i)])
    return labelled + rest


def _builds_with_dbt(activities: list[dict[str, Any]]) -> bool:
    pending = list(activities)
    while pending:
        activity = pending.pop(0)
        if "dbt" in activity:
            return True
        pending += activity.get("loop", {}).get("do", [])
    return False


def map_sequence(job: DsJob, ctx: Context, *, stream_name: str, stream_id: int) -> MappedSequence:
    """The stream YAML content of one sequence job, and the report's entries for it."""
    return _Mapper(job, ctx).stream(stream_name, stream_id)
