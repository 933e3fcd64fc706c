"""One DataStage sequence as a stream YAML, and what the report says about each activity and trigger.

    mapped = map_sequence(job, Context(streams={"SeqChild": "SEQCHILD"}, job_map=JobMap({...}), ...))
    mapped.stream          # the stream YAML's content (a dict, dumped by dcf.datastage.importer)
    mapped.entries         # one Entry per activity and per trigger of the export: nothing is dropped

Structure first: sequencers and nested conditions are folded into their followers' triggers (``wait_for``,
``when``), a start/end loop pair becomes a ``loop`` whose body is what lies between them, the exception
handler's chain becomes ``on_failure``. Then every other activity maps to its kind (see ``_KIND``).
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from dcf.datastage.activity_kinds import kind_of
from dcf.datastage.basic import APPROXIMATED, ATTENTION, MAPPED, Translation, translate
from dcf.datastage.model import DsActivity, DsJob, DsLink, DsParameter, identifier_of
from dcf.stream.sequence import BOOKKEEPING, PARAMETERS

#: Activities that shape the graph rather than run something.
STRUCTURE = {"JSSequencer", "JSCondition", "JSStartLoopActivity", "JSEndLoopActivity", "JSExceptionHandler"}
#: ConditionType codes read with certainty (see ../DATASTAGE_EXPORTS notes): code -> (condition, what it is).
CONDITIONS = {"0": ("always", "unconditional"), "1": ("otherwise", "otherwise"), "2": ("ok", "OK"),
              "6": ("always", "custom expression"), "7": ("always", "return value")}


@dataclass
class Entry:
    """One line of the migration report."""

    sequence: str
    what: str  # "activity" or "trigger"
    name: str
    datastage: str
    status: str
    note: str = ""
    original: str = ""
    translation: str = ""


@dataclass
class JobMap:
    """DataStage job name or glob -> a dbt selector (``tag:x``, a list of them) or ``{stream: NAME}``."""

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


@dataclass
class MappedSequence:
    stream: dict[str, Any]
    entries: list[Entry]
    #: Parallel/server jobs the sequence calls, and whether the job map covers each.
    jobs_called: dict[str, bool]


class _Mapper:
    def __init__(self, job: DsJob, ctx: Context) -> None:
        self.job, self.ctx = job, ctx
        self.entries: list[Entry] = []
        self.jobs_called: dict[str, bool] = {}
        self.incoming: dict[str, list[DsLink]] = defaultdict(list)
        self.outgoing: dict[str, list[DsLink]] = defaultdict(list)
        for link in job.links:
            self.incoming[link.target].append(link)
            self.outgoing[link.source].append(link)
        self.names = self._names()
        self.loops = self._loops()  # start-loop id -> (end-loop id, body ids)
        self.counters = {job.activities[s].name: f"{self.names[s]}_counter" for s in self.loops}
        self.parameters = {p.name: identifier_of(p.name) for p in self.own_parameters()}
        #: ``PS.member`` as written in DataStage -> as the stream reads it (both parts as identifiers).
        self.set_members = {f"{s}.{m.name}": f"{identifier_of(s)}.{identifier_of(m.name)}"
                            for s in self.used_sets() for m in self.ctx.parameter_sets[s]}
        self.translated_links: set[int] = set()
        self.several_inputs: set[int] = set()  # links into an activity that has more than one, no sequencer

    def _names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        used = set(BOOKKEEPING)
        for identifier, activity in sorted(self.job.activities.items(), key=lambda i: i[1].name):
            base = identifier_of(activity.name)
            name = base if base not in used else f"{base}_activity"
            counter = 2
            while name in used:
                name, counter = f"{base}_{counter}", counter + 1
            used.add(name)
            names[identifier] = name
        return names

    def _loops(self) -> dict[str, tuple[str | None, list[str]]]:
        loops = {}
        for identifier, activity in self.job.activities.items():
            if activity.class_name != "JSStartLoopActivity":
                continue
            end = next((link.source for link in self.incoming[identifier]
                        if self.job.activities[link.source].class_name == "JSEndLoopActivity"), None)
            body, pending = [], [link.target for link in self.outgoing[identifier]]
            while pending:
                current = pending.pop(0)
                if current in body or current in (end, identifier):
                    continue
                body.append(current)
                pending += [link.target for link in self.outgoing[current]]
            loops[identifier] = (end, body)
        return loops

    # -- scopes -----------------------------------------------------------------------------------------
    def scope_names(self, loop_vars: tuple[str, ...] = ()) -> set[str]:
        return {*self.parameters.values(), *self.set_members.values(), *PARAMETERS, *loop_vars}

    def used_sets(self) -> list[str]:
        """The parameter sets of the export that this job names among its parameters."""
        return [p.name for p in self.job.parameters if p.name in self.ctx.parameter_sets]

    def own_parameters(self) -> list[DsParameter]:
        """The job's parameters, parameter sets left out (they are shared files the stream names)."""
        return [p for p in self.job.parameters if p.name not in self.ctx.parameter_sets]

    def expression(self, text: str, loop_vars: tuple[str, ...] = ()) -> Translation:
        activities = {a.name: self.names[i] for i, a in self.job.activities.items()}
        renamed = text
        for original, name in self.set_members.items():
            renamed = re.sub(rf"(?<![\w.$]){re.escape(original)}(?![\w])", name, renamed)
        for original, name in self.parameters.items():
            renamed = re.sub(rf"(?<![\w.$]){re.escape(original)}(?![\w.])", name, renamed)
        return translate(renamed, activities=activities, loop_counters=self.counters,
                         names=self.scope_names(loop_vars))

    def template(self, text: str, loop_vars: tuple[str, ...] = ()) -> Translation:
        """A parameter string with ``#...#`` references, each translated."""
        notes, status = [], MAPPED

        def one(match: re.Match[str]) -> str:
            nonlocal status
            inner = self.expression(match.group(1), loop_vars)
            if inner.status != MAPPED:
                status = ATTENTION
                notes.append(inner.note)
                return "##"
            return f"#{inner.text}#"

        return Translation(re.sub(r"#([^#]+)#", one, text), status, "; ".join(notes))

    def stream(self, stream_name: str, stream_id: int) -> MappedSequence:
        job = self.job
        in_loops = {b for _, body in self.loops.values() for b in body}
        handler = _handler_chain(self)
        top = [i for i, a in job.activities.items() if i not in in_loops and i not in handler
               and (a.class_name not in STRUCTURE or a.class_name == "JSStartLoopActivity")]
        sequence = [self.activity(i, ()) for i in top]
        on_failure = [self.activity(i, ()) for i in handler if job.activities[i].class_name not in STRUCTURE]
        for activity in job.activities.values():
            if activity.class_name in STRUCTURE and activity.class_name != "JSStartLoopActivity":
                self.entries.append(Entry(job.name, "activity", activity.name, activity.class_name, MAPPED,
                                          _STRUCTURE_NOTES[activity.class_name]))
        for link in job.links:  # loop-backs and links between structural activities: listed, never dropped
            self.link_entry(link, MAPPED, "joins the graph's structure (loop back, sequencer, condition)")
        selects = [a["dbt"]["select"] for a in _all(sequence) if "dbt" in a and a["dbt"].get("select")]
        stream: dict[str, Any] = {
            "stream": {"name": stream_name, "id": stream_id,
                       "description": f"Imported from DataStage sequence {job.name}"},
            "datastage": {"sequence": job.name,
                          "activities": {a.name: self.names[i] for i, a in job.activities.items()
                                         if a.class_name not in STRUCTURE or a.class_name == "JSStartLoopActivity"}},
            "dbt": {"project_dir": self.ctx.dbt_project_dir, "select": selects[0] if selects
                    else [f"tag:{stream_name.lower()}"]},
        }
        parameters = self.own_parameters()
        if parameters:
            stream["parameters"] = {self.parameters[p.name]: _parameter(p) for p in parameters}
        if self.used_sets():
            stream["parameter_sets"] = [identifier_of(s) for s in self.used_sets()]
        for name in self.used_sets():
            self.entries.append(Entry(job.name, "parameter set", name, "parameter set", MAPPED,
                                      f"shared: parameter_sets/{identifier_of(name)}.yaml, read as "
                                      f"{identifier_of(name)}.<name>"))
        stream["sequence"] = sequence
        if on_failure:
            stream["on_failure"] = on_failure
        return MappedSequence(stream, self.entries, self.jobs_called)

    def activity(self, identifier: str, loop_vars: tuple[str, ...]) -> dict[str, Any]:
        activity = self.job.activities[identifier]
        result: dict[str, Any] = {"name": self.names[identifier], **self.triggers(identifier, loop_vars)}
        if activity.class_name == "JSStartLoopActivity":
            counter = self.counters[activity.name]
            _end, body = self.loops[identifier]
            inner = (*loop_vars, counter)
            over, status, note = self.loop_items(activity, loop_vars)
            do = [self.activity(b, inner) for b in body if self.job.activities[b].class_name not in STRUCTURE]
            result["loop"] = {"over": over, "as": counter, "do": do}
            self.entries.append(Entry(self.job.name, "activity", activity.name, activity.class_name, status,
                                      note or f"loop over {over!r}; body: {len(result['loop']['do'])} activities"))
            return result
        kind = kind_of(self, activity, loop_vars)
        self.entries.append(Entry(self.job.name, "activity", activity.name, activity.class_name, kind.status, kind.note,
                                  kind.original, kind.translation))
        return {**result, **kind.fields}

    def loop_items(self, activity: DsActivity, loop_vars: tuple[str, ...]) -> tuple[Any, str, str]:
        settings = {k.lower(): v for k, v in activity.settings.items()}
        if settings.get("looptype", "").lower() in ("0", "numeric"):
            try:
                start, stop, step = (int(settings.get(k, d)) for k, d in (("from", "1"), ("to", "1"), ("step", "1")))
                return [str(n) for n in range(start, stop + 1, step or 1)][:10_000], MAPPED, ""
            except ValueError:
                return [], ATTENTION, f"numeric loop bounds are not numbers: {settings}"
        values = self.template(settings.get("delimitedloopvalues", ""), loop_vars)
        return values.text, values.status, values.note

    # -- triggers ---------------------------------------------------------------------------------------
    def triggers(self, identifier: str, loop_vars: tuple[str, ...] = ()) -> dict[str, Any]:
        """``after`` / ``wait_for`` / ``when`` of an activity, folding sequencers and conditions in front of it."""
        inputs: dict[str, str] = {}
        whens: list[str] = []
        wait_for = "all"
        direct = [link for link in self.incoming[identifier]
                  if self.job.activities[link.source].class_name not in STRUCTURE - {"JSEndLoopActivity"}]
        if len(direct) > 1 and self.job.activities[identifier].class_name not in STRUCTURE:
            # DataStage's Designer allows one input trigger here; an export with more is read as a sequencer (All)
            self.several_inputs.update(id(link) for link in direct)
        for link in self.incoming[identifier]:
            source = self.job.activities[link.source]
            if identifier in self.loops and link.source == self.loops[identifier][0]:
                self.link_entry(link, MAPPED, "the loop's way back: the loop runs its body once per item")
                continue
            if source.class_name in ("JSStartLoopActivity", "JSExceptionHandler"):
                self.link_entry(link, MAPPED, "the start of a loop body / of the exception handler")
                continue
            if source.class_name in ("JSSequencer", "JSCondition"):
                folded = self.triggers(source.identifier, loop_vars)
                inputs.update(folded.get("after", {}))
                whens += [folded["when"]] if "when" in folded else []
                wait_for = folded.get("wait_for", wait_for)
                if source.class_name == "JSSequencer":
                    wait_for = _sequencer_mode(source)
                    self.link_entry(link, MAPPED, f"from sequencer {source.name} ({wait_for}): its inputs become "
                                                  "this activity's")
                    continue
            name = self._input_name(source)
            if source.class_name == "JSCondition" and link.condition_type == "1":
                whens.append(self._otherwise_branch(source, link, loop_vars))
                continue
            condition, when = self.condition(link, loop_vars)
            if source.class_name != "JSCondition":
                inputs[name] = condition
            if when:
                whens.append(f"({when})")
        result: dict[str, Any] = {}
        if inputs:
            result["after"] = inputs
        if wait_for == "any" and len(inputs) > 1:
            result["wait_for"] = "any"
        if whens:
            result["when"] = " And ".join(whens)
        return result

    def _otherwise_branch(self, condition: DsActivity, link: DsLink, loop_vars: tuple[str, ...]) -> str:
        """A nested condition's otherwise branch: none of its expressions holds."""
        others = [self.expression(o.expression, loop_vars) for o in self.outgoing[condition.identifier]
                  if o is not link and o.condition_type == "6"]
        if not others or any(o.status != MAPPED for o in others):
            self.link_entry(link, ATTENTION, "otherwise of a condition whose branches are not all translated")
            return "1 = 0"
        when = "Not (" + " Or ".join(f"({o.text})" for o in others) + ")"
        self.link_entry(link, MAPPED, "otherwise: none of the condition's branches holds", when)
        return when

    def _input_name(self, source: DsActivity) -> str:
        if source.class_name == "JSEndLoopActivity":
            start = next((s for s, (end, _) in self.loops.items() if end == source.identifier), None)
            return self.names[start] if start else self.names[source.identifier]
        return self.names[source.identifier]

    def condition(self, link: DsLink, loop_vars: tuple[str, ...]) -> tuple[str, str]:
        """The trigger condition on the link's source and the ``when`` text a custom or return-value link adds."""
        code = link.condition_type
        if code not in CONDITIONS:
            self.link_entry(link, ATTENTION, f"ConditionType {code} is not a known code; read as 'always' — "
                                             "check what the trigger meant")
            return "always", ""
        condition, what = CONDITIONS[code]
        if code == "6":
            translated = self.expression(link.expression, loop_vars)
            self.link_entry(link, translated.status, translated.note or what, translated.text)
            return condition, translated.text
        if code == "7":
            translated = self.expression(f"{self.job.activities[link.source].name}.$ReturnValue = "
                                         f"{link.expression or 0}", loop_vars)
            self.link_entry(link, translated.status, translated.note or what, translated.text)
            return condition, translated.text
        self.link_entry(link, MAPPED, what, condition)
        return condition, ""

    def link_entry(self, link: DsLink, status: str, note: str, translation: str = "") -> None:
        key = id(link)
        if key in self.translated_links:
            return
        self.translated_links.add(key)
        source, target = self.job.activities[link.source], self.job.activities[link.target]
        if key in self.several_inputs and status == MAPPED:
            status, note = APPROXIMATED, (f"{note}; one of several input triggers of {target.name} without a "
                                          "sequencer (DataStage allows one): all of them must fire, as a "
                                          "sequencer in All mode")
        self.entries.append(Entry(self.job.name, "trigger", f"{link.name} ({source.name} -> {target.name})",
                                  f"ConditionType {link.condition_type}", status, note, link.expression,
                                  translation))


def _sequencer_mode(activity: DsActivity) -> str:
    mode = (activity.settings.get("SequencerMode") or activity.settings.get("Mode") or "0").lower()
    return "any" if mode in ("1", "any") else "all"


def map_sequence(job: DsJob, ctx: Context, *, stream_name: str, stream_id: int) -> MappedSequence:
    """The stream YAML content of one sequence job, and the report's entries for it."""
    mapper = _Mapper(job, ctx)
    return mapper.stream(stream_name, stream_id)


def _handler_chain(mapper: _Mapper) -> list[str]:
    chain: list[str] = []
    pending = [link.target for i, a in mapper.job.activities.items() if a.class_name == "JSExceptionHandler"
               for link in mapper.outgoing[i]]
    while pending:
        current = pending.pop(0)
        if current not in chain:
            chain.append(current)
            pending += [link.target for link in mapper.outgoing[current]]
    return chain


_STRUCTURE_NOTES = {"JSSequencer": "folded into its followers' after / wait_for",
                    "JSCondition": "its branches become its followers' when",
                    "JSEndLoopActivity": "closes the loop of its start loop",
                    "JSExceptionHandler": "its chain of activities becomes on_failure"}


def parameter_set_file(name: str, members: list[DsParameter]) -> dict[str, Any]:
    """The content of one shared parameter set YAML (see dcf.stream.parameter_sets)."""
    return {"parameter_set": identifier_of(name),
            "description": f"Imported from DataStage parameter set {name}",
            "parameters": {identifier_of(m.name): _parameter(m) for m in members}}


def _parameter(parameter: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"default": parameter.default}
    if parameter.prompt:
        result["prompt"] = parameter.prompt
    if parameter.values:
        result["values"] = parameter.values
    return result


def _all(activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for activity in activities:
        found.append(activity)
        found += _all(activity.get("loop", {}).get("do", []))
    return found
