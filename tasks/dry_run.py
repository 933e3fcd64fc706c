"""VALIDATE mode (``dsjob -mode VALIDATE``): everything that can be checked without running, and the plan.

Checked: the graph (unknown names, cycles, triggers that name outside their level), every expression parses
and names known activities and variables, every dbt selection resolves to at least one node, every child
stream exists, every command's executable is found, every notification block exists. Nothing is written to
the warehouse (dbt parses into DCF_HOME/dbt, as a build would).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from prefect import task

from blocks.default_warehouse import load_warehouse
from dcf.build.request import BuildRequest
from dcf.build.runner import selected_nodes
from dcf.errors import ConfigError, DcfError
from dcf.stream.activities import Activity
from dcf.stream.definition import LoadedStream, StreamConfig, find_stream_file, parse_stream_file
from dcf.stream.sequence import check_sequence, plan_lines, walk_activities
from dcf.stream.what_if import checked_assumptions, what_if
from dcf.stream.yaml_source import line_suffix, read_yaml, shown_path
from tasks.kinds.dbt_build import stream_profiles_dir
from tasks.report import artifact_key


class ValidationProblems(DcfError):
    """VALIDATE found problems: one line each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(f"{len(lines)} problem(s):\n" + "\n".join(lines))
        self.lines = lines


@task(name="validate_plan", task_run_name="validate_plan", cache_policy=None, persist_result=False)
def validate_plan(stream: str, warehouse_block: str | None = None) -> list[str]:
    """The plan of ``stream``'s graph, one line per activity; raise :class:`ValidationProblems` if anything
    would fail."""
    path = find_stream_file(stream)
    config, problems = stream_problems(path, warehouse_block)
    if problems:
        raise ValidationProblems(problems)
    return [f"{config.stream.name}: the plan of {shown_path(path)}", "  validate, process_id",
            *("  " + line for line in plan_lines(config.activities, config.on_failure)),
            "  " + ", ".join(["profile"] * bool(config.profiling.tables) + ["metadata", "lifecycle", "report"])]


def stream_problems(path: Path, warehouse_block: str | None = None) -> tuple[StreamConfig, list[str]]:
    """What would fail if the stream YAML at ``path`` ran, one line each (file, field, activity, line);
    :class:`ConfigError` when it does not load at all. Child streams are looked up where streams are."""
    loaded = parse_stream_file(path, check_graph=False)
    config = loaded.config
    warehouse_block = warehouse_block or config.warehouse_block
    shown, node = shown_path(path), read_yaml(path).node
    problems = [f"{shown}: {'.'.join(loc)}: {message}{line_suffix(node, loc)}" for loc, message in
                check_sequence(config.sequence or [], config.on_failure, stream_name=config.stream.name,
                               parameters=tuple(config.all_parameters))]
    for where, activity in [*walk_activities(config.sequence or [], ["sequence"]),
                            *walk_activities(config.on_failure, ["on_failure"])]:
        prefix = f"{shown}: {'.'.join(where)}: activity {activity.name}"
        problems += [f"{prefix}: {message}{line_suffix(node, where)}"
                     for message in _activity_problems(loaded, activity, warehouse_block)]
    problems += [f"{shown}: report.notification_blocks: {message}"
                 for message in _block_problems(config.report.notification_blocks)]
    return config, problems


@task(name="what_if", task_run_name="what_if", cache_policy=None, persist_result=False)
def what_if_plan(stream: str, parameters: dict[str, Any], assume: dict[str, Any]) -> list[str]:
    """The activities the stream would start for ``parameters`` and the ``assume``d outcomes, in order, and
    its final status (nothing runs); :class:`DcfError` names a name or outcome it cannot read."""
    config = parse_stream_file(find_stream_file(stream), check_graph=False).config
    assumptions = checked_assumptions(config, parameters, assume)
    return [assumptions.describe() + ":", *("  " + line for line in what_if(config, assumptions).lines())]


def publish_plan(stream: str, lines: list[str], *, problems: bool) -> None:
    """VALIDATE's outcome as a markdown artifact of the run (the UI's Artifacts tab), one line per line."""
    from prefect.artifacts import create_markdown_artifact

    title = f"VALIDATE {stream}: {len(lines)} problem(s)" if problems else f"VALIDATE {stream}: no problems"
    body = "\n".join(f"- {line}" if problems else line for line in lines)
    create_markdown_artifact(markdown=f"# {title}\n\n" + (body if problems else f"```\n{body}\n```"),
                             key=artifact_key(stream, "validate"), description=title)


def _activity_problems(loaded: LoadedStream, activity: Activity, warehouse_block: str | None) -> list[str]:
    if activity.dbt is not None:
        return _selection_problems(loaded, activity, warehouse_block)
    if activity.stream is not None:
        try:
            child = parse_stream_file(find_stream_file(activity.stream.name), check_graph=False).config
        except ConfigError as error:
            return [f"stream: {error}"]
        unknown = sorted(set(activity.stream.parameters) - {"batch_id", *child.all_parameters})
        if unknown:
            return [f"stream.parameters: stream {child.stream.name} has no parameter(s) {unknown}"]
    if activity.command is not None:
        executable = activity.command.argv[0]
        if "#" not in executable and shutil.which(executable) is None:
            return [f"command: executable {executable!r} is not found on PATH"]
    if activity.notify is not None:
        return [f"notify.blocks: {message}" for message in _block_problems(activity.notify.blocks)]
    return []


def _selection_problems(loaded: LoadedStream, activity: Activity, warehouse_block: str | None) -> list[str]:
    config = loaded.config
    step = activity.dbt
    select, exclude = step.select or config.dbt.select, [*config.dbt.exclude, *step.exclude]
    warehouse = load_warehouse(warehouse_block)
    # The profile the build would use.
    request = BuildRequest(project_dir=config.dbt.project_path,
                           profiles_dir=stream_profiles_dir(config.stream.name, config.dbt, warehouse),
                           # the stream's vars only: one parse serves every activity (an activity's own vars
                           # rarely change what a selector matches)
                           target=config.dbt.target, vars=dict(config.dbt.vars), select=select,
                           exclude=exclude, env=warehouse.dbt_env(), operation=step.operation)
    try:
        nodes = selected_nodes(request)
    except DcfError as error:
        return [f"dbt.{'operation' if step.operation else 'select'}: {error}"]
    if not nodes:
        return [f"dbt.select: {select} (exclude {exclude}) matches no node of dbt project {config.dbt.project_dir}"]
    return []


def _block_problems(names: list[str]) -> list[str]:
    from prefect.blocks.core import Block

    problems = []
    for name in names:
        try:
            Block.load(name)
        except (ValueError, KeyError) as error:
            problems.append(f"notification block {name!r} does not exist ({type(error).__name__})")
    return problems
