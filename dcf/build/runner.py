"""Run ``dbt build`` in-process and log it live: JOB + MODEL rows, model executions, job-run context.

The dbt stage of a stream calls :func:`run_dbt_build`::

    from dcf.build.runner import RunContext, run_dbt_build
    outcome = run_dbt_build(
        project_dir=Path("dbt/gdw1"), profiles_dir=Path("dbt/gdw1"), target="local",
        select=["tag:stream_bcfinsg"], vars={"ods_batch_id": "B1"},
        env={"DCF_WAREHOUSE_PATH": str(warehouse_path())},
        log_to=conn,                                   # control store; None = no execution log
        context=RunContext(stream_name="BCFINSG_PLAN_BALN_SEGM_LOAD", prcs_inst_id=42),
    )
    if not outcome.success: ...                        # failing models never raise; outcome.error says what

How: parse once (``dbtRunner().invoke(["parse"])`` -> Manifest, partial parsing kept under
``$DCF_HOME/dbt/<project>/target``), then ``dbtRunner(manifest=..., callbacks=[...]).invoke(["build", ...])``
with a target path of its own per invocation (``$DCF_HOME/dbt/<project>/runs/<stamp>``: run_results.json and
compiled SQL of one invocation are never clobbered by the next, nothing lands in the repo). The callback
reduces NodeStart / SQLQueryStatus / NodeFinished to small records and hands them to the buffered
:class:`~dcf.execlog.writer.ExecutionLogWriter`. Every statement dbt sends carries a JSON query comment with
invocation_id, node_id, stream and PRCS_INST_ID (appended on Snowflake, where it lands in QUERY_HISTORY), unless
the project sets its own ``query-comment``.

With ``reuse=True`` (a stream's ``dbt.reuse``) the selection is planned first (:mod:`dcf.build.reuse_run`,
:mod:`dcf.build.reuse`): unchanged nodes are not run but logged as reused by the same writer.

dbt keeps global state (flags, adapters, event manager), so invocations in one process are serialised.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import shutil
import subprocess
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

from dcf.build.request import BuildObserver, BuildRequest
from dcf.build.reuse import Decision, ReusePlan
from dcf.build.reuse_run import ReuseRun, node_selectors, prepare_reuse
from dcf.errors import DcfError
from dcf.execlog.fold import JobConfig, JobState, NodeEvent, NodeFacts, ProjectFacts, RunContext
from dcf.execlog.sweep import process_identity
from dcf.execlog.writer import ExecutionLogWriter
from dcf.paths import dcf_home
from dcf.store.clock import utcnow
from dcf.store.connection import Connection

# RunContext lives in execution_log
__all__ = ["DbtBuildOutcome", "NodeOutcome", "RunContext", "compile_sql", "run_dbt_build"]

log = logging.getLogger("dcf.dbt")

#: Invocation directories kept under $DCF_HOME/dbt/<project>/runs (older ones are removed).
KEEP_RUN_DIRS = 20
#: dbt events forwarded to the Prefect run logger when running inside a flow (info level and up).
_FORWARDED_LEVELS = {"info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_NODE_EVENTS = frozenset({"NodeStart", "NodeFinished", "SQLQueryStatus"})
_DBT_LOCK = threading.RLock()
_MANIFESTS: OrderedDict[tuple, Any] = OrderedDict()


@dataclass
class NodeOutcome:
    unique_id: str
    name: str
    resource_type: str
    status: str  # dbt's: success / error / skipped / pass / fail / warn / reused
    relation_name: str | None
    rows: int | None  # rows in the destination after the node (None: view, not counted, not run)
    execution_time: float | None
    message: str | None


@dataclass
class DbtBuildOutcome:
    success: bool
    invocation_id: str
    nodes: list[NodeOutcome]
    error: str | None  # one readable line: what failed
    relations: dict[str, str]  # model name -> relation name, every model of the manifest
    #: models_total/succeeded/failed/skipped/reused, tests_total/passed/failed/warned/skipped (+ tests_reused)
    counts: dict[str, int]
    #: control-store statements the execution log sent, and its last write error (None: all written)
    log_statements: int = 0
    log_error: str | None = None
    target_path: Path | None = None
    #: state-aware reuse: {"reused": n, "built": m, "build_reasons": {...}}; None when reuse was off
    reuse: dict[str, Any] | None = None


def run_dbt_build(request: BuildRequest, *, log_to: Connection | None = None, observer: BuildObserver | None = None,
                  flush_interval: float | None = None) -> DbtBuildOutcome:
    """``dbt build`` of ``request`` in this process, logged to ``log_to``; see the module docstring.

    ``request.reuse``: selected nodes whose code, vars and inputs are unchanged since their last successful
    build in this stream (``request.context.stream_name``) are not run but recorded as reused. Needs ``log_to``;
    ``full_refresh`` builds everything (and records the new state).

    Never raises for failing models (``success=False``, ``nodes``, ``error``). Raises :class:`DcfError` when
    the project or profile is broken or dbt cannot run at all, and re-raises an interruption (Ctrl-C, a
    Prefect cancellation) — in every case after the execution log's final flush.
    """
    observer = observer or BuildObserver()
    project_dir = Path(request.project_dir).expanduser().resolve()
    request = replace(request, project_dir=project_dir,
                      profiles_dir=Path(request.profiles_dir).expanduser().resolve(),
                      vars=dict(request.vars), context=observer.run_context(request.context))
    work = dcf_home() / "dbt" / _project_name(project_dir)
    with _DBT_LOCK, _environment(_run_env(request.env)):
        manifest = _parse(request, work)
        facts = _project_facts(manifest)
        reuse_run = prepare_reuse(manifest, facts, request, _base_args(request, work), conn=log_to) \
            if request.reuse else None
        return _invoke(request, manifest, facts, work, reuse_run, log_to, observer, flush_interval)


def _invoke(request: BuildRequest, manifest: Any, facts: ProjectFacts, work: Path, reuse_run: ReuseRun | None,
            log_to: Connection | None, observer: BuildObserver, flush_interval: float | None) -> DbtBuildOutcome:
    """The build invocation itself, with the execution log written around it."""
    plan = reuse_run.plan if reuse_run else None
    target_path = _new_run_dir(work)
    config = _job_config(request, target_path, plan)
    logger = observer.logger()
    if plan and logger:
        summary = plan.summary()
        logger.info("reuse: %d node(s) reused, %d to build %s", summary["reused"], summary["built"],
                    summary["build_reasons"])
    writer = ExecutionLogWriter(log_to, facts, config, **({"interval": flush_interval} if flush_interval else {})) \
        if log_to is not None else None
    tasks = observer.node_tasks()
    reused = [plan.decisions[u] for u in plan.reused] if plan else []
    callbacks = [_callback(facts, writer, tasks, logger, reused)] if (writer or tasks or logger) else []
    if plan and plan.reused:  # exactly the nodes to build, tests included (verified by prepare_reuse)
        request = request.narrowed(select=node_selectors(manifest, plan.to_build))
    args = _build_args(request, target_path, work / "logs", quiet=logger is not None,
                       indirect_selection="empty" if plan and plan.reused else None)
    if writer:
        writer.start()
    result = None
    try:
        if plan and not plan.to_build:  # everything reused: no dbt invocation, the log is written all the same
            result = _reused_only(writer, reused)
        else:
            with _query_comment(config):
                from dbt.cli.main import dbtRunner

                result = dbtRunner(manifest=manifest, callbacks=callbacks).invoke(args)
    finally:
        failure = _failure(result)
        job = writer.close(failure=failure, invocation_id=_dbt_invocation_id()) if writer else None
        if tasks:
            tasks.close()
        if reuse_run and job is not None:
            reuse_run.record(job, facts)
    if result.exception is not None and not isinstance(result.exception, Exception):
        raise result.exception  # KeyboardInterrupt, Prefect's TerminationSignal: not ours to swallow
    if result.exception is not None:
        raise DcfError(f"dbt build of {facts.project_name} could not run: {_one_line(result.exception)}") \
            from result.exception
    return _outcome(result, facts, job, writer, target_path, plan)


def _run_env(env: Mapping[str, str]) -> dict[str, str]:
    return {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1", **env}


def compile_sql(request: BuildRequest) -> dict[str, str]:
    """Model name -> compiled SQL of the selected nodes, for ``request.target``, without a warehouse connection.

    No relation cache and no introspective queries, so a Snowflake target compiles with dummy credentials;
    the tests run the Snowflake SQL of ``dbt/dcf_costs`` against fakesnow this way::

        sql = compile_sql(BuildRequest(project_dir=COSTS_PROJECT, profiles_dir=COSTS_PROJECT, target="snowflake",
                                       select=["fct_model_queries"]))["fct_model_queries"]
    """
    request = replace(request, project_dir=Path(request.project_dir).resolve(),
                      profiles_dir=Path(request.profiles_dir).resolve(), vars=dict(request.vars))
    work = dcf_home() / "dbt" / _project_name(request.project_dir) / "compile"
    with _DBT_LOCK, _environment(_run_env(request.env)):
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(["compile", *_base_args(request, work), "--select", *request.select,
                                     "--no-populate-cache", "--no-introspect"])
    if not result.success:
        raise DcfError(f"dbt compile of {list(request.select)} failed (target {request.target}): "
                       f"{_one_line(result.exception)}")
    return {r.node.name: r.node.compiled_code for r in result.result.results}


# -- parse ------------------------------------------------------------------------------------------------------
def _project_name(project_dir: Path) -> str:
    path = project_dir / "dbt_project.yml"
    try:
        name = (yaml.safe_load(path.read_text()) or {}).get("name")
    except (OSError, yaml.YAMLError) as error:
        raise DcfError(f"no readable dbt project at {project_dir}: {error}") from None
    if not name:
        raise DcfError(f"{path} has no project name")
    return str(name)


def _parse(request: BuildRequest, work: Path) -> Any:
    """The project's manifest; reused while the project files, target, vars and env are unchanged."""
    key = (str(request.project_dir), str(request.profiles_dir), request.target,
           json.dumps(request.vars, sort_keys=True, default=str), json.dumps(dict(request.env), sort_keys=True),
           _fingerprint(request.project_dir, request.profiles_dir))
    if key in _MANIFESTS:
        _MANIFESTS.move_to_end(key)
        return _MANIFESTS[key]
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(["parse", *_base_args(request, work)])
    if not result.success or result.result is None:
        raise DcfError(f"dbt project {request.project_dir} does not parse (target {request.target}): "
                       f"{_one_line(result.exception)}")
    _MANIFESTS[key] = result.result
    while len(_MANIFESTS) > 4:
        _MANIFESTS.popitem(last=False)
    return result.result


def _base_args(request: BuildRequest, work: Path) -> list[str]:
    """Arguments of the quiet helper invocations (parse, ls): the project, target and vars of the build."""
    return ["--project-dir", str(request.project_dir), "--profiles-dir", str(request.profiles_dir),
            "--target", request.target, "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
            "--vars", json.dumps(dict(request.vars)), "--log-level", "none", "--log-level-file", _file_log_level()]


def _fingerprint(project_dir: Path, profiles_dir: Path) -> tuple:
    """Cheap change detector: (files, newest mtime) over the project (minus its outputs) and profiles.yml."""
    newest, count = 0.0, 0
    skip = {"target", "logs", "dbt_packages", ".git"}
    for root, dirs, files in os.walk(project_dir):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            count += 1
            newest = max(newest, os.stat(os.path.join(root, name)).st_mtime)
    profiles = profiles_dir / "profiles.yml"
    return count, newest, profiles.stat().st_mtime if profiles.exists() else None


def _project_facts(manifest: Any) -> ProjectFacts:
    nodes: dict[str, NodeFacts] = {}
    for node in manifest.nodes.values():
        depends = []
        for parent in getattr(node.depends_on, "nodes", []) or []:
            if parent in manifest.sources:
                source = manifest.sources[parent]
                depends.append(("source", f"{source.source_name}.{source.name}", parent))
            elif parent in manifest.nodes:
                depends.append(("ref", manifest.nodes[parent].name, parent))
        attached = getattr(node, "attached_node", None)
        tested = (attached,) if attached else tuple(p for _, _, p in depends if p.startswith("model."))
        config = node.config.to_dict() if hasattr(node.config, "to_dict") else {}
        # dbt's strings are often str subclasses (ValidatedStringMixin); Snowflake's connector binds plain str only.
        nodes[node.unique_id] = NodeFacts(
            unique_id=_str(node.unique_id), name=_str(node.name), resource_type=_str(node.resource_type),
            package=_str(node.package_name), materialized=_str(config.get("materialized")),
            relation_name=_str(getattr(node, "relation_name", None)), database=_str(node.database),
            schema=_str(node.schema), alias=_str(getattr(node, "alias", None) or node.name),
            original_file_path=_str(node.original_file_path),
            depends_on=tuple((kind, _str(name), _str(node_id)) for kind, name, node_id in depends),
            tested_models=tuple(_str(t) for t in tested) if node.resource_type == "test" else (),
            config=_jsonable(config),
        )
    meta = manifest.metadata
    return ProjectFacts(project_name=_str(meta.project_name), adapter_type=_str(meta.adapter_type) or "",
                        dbt_version=_str(meta.dbt_version), nodes=nodes)


def _str(value: Any) -> Any:
    """A plain ``str`` (or None), whatever str subclass dbt used."""
    return None if value is None else str.__str__(value) if isinstance(value, str) else str(value)


# -- job context -------------------------------------------------------------------------------------------------
def _job_config(request: BuildRequest, target_path: Path, plan: ReusePlan | None = None) -> JobConfig:
    host, pid, pid_start = process_identity()
    profile = _profile(request.project_dir, request.target, dict(request.vars), request.threads)
    credentials = getattr(profile, "credentials", None)
    return JobConfig(
        target_name=request.target, target_database=_str(getattr(credentials, "database", None)),
        target_schema=_str(getattr(credentials, "schema", None)),
        threads=getattr(profile, "threads", request.threads), warehouse=_str(getattr(credentials, "warehouse", None)),
        select=tuple(request.select), exclude=tuple(request.exclude), full_refresh=request.full_refresh,
        compiled_root=str(target_path / "compiled"), run=request.context,
        host=host, pid=pid, pid_start=pid_start, reuse=plan.summary() if plan else None, **_git(request.project_dir),
    )


def _profile(project_dir: Path, target: str, vars: dict[str, Any], threads: int | None) -> Any:
    """The rendered profile target (database, schema, warehouse, threads); None when it cannot be rendered."""
    try:
        from dbt.config.runtime import load_profile

        return load_profile(str(project_dir), vars, None, target, threads)
    except Exception as error:  # only descriptive: the build itself will say what is wrong
        log.debug("could not render the dbt profile for the log: %s", error)
        return None


def _git(project_dir: Path) -> dict[str, str | None]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() or None if out.returncode == 0 else None

    return {"git_branch": os.environ.get("GIT_BRANCH") or git("rev-parse", "--abbrev-ref", "HEAD"),
            "git_commit": os.environ.get("GIT_COMMIT") or git("rev-parse", "HEAD")}


def _jsonable(value: Any) -> dict[str, Any]:
    return json.loads(json.dumps(value or {}, default=str))


# -- the build invocation -----------------------------------------------------------------------------------------
def _build_args(request: BuildRequest, target_path: Path, log_path: Path, *, quiet: bool,
                indirect_selection: str | None = None) -> list[str]:
    args = ["build", "--project-dir", str(request.project_dir), "--profiles-dir", str(request.profiles_dir),
            "--target", request.target, "--target-path", str(target_path), "--log-path", str(log_path),
            "--vars", json.dumps(dict(request.vars)),
            # Inside a flow dbt's lines go to the Prefect run logger instead of stdout.
            "--log-level", "none" if quiet else os.environ.get("DBT_LOG_LEVEL", "info"),
            "--log-level-file", _file_log_level()]
    if request.select:
        args += ["--select", *request.select]
    if request.exclude:
        args += ["--exclude", *request.exclude]
    if request.full_refresh:
        args.append("--full-refresh")
    if request.threads:
        args += ["--threads", str(request.threads)]
    if indirect_selection:
        args += ["--indirect-selection", indirect_selection]
    return args


def _file_log_level() -> str:
    # dbt's default (debug) writes every statement to logs/dbt.log; info keeps the file useful and cheap.
    return os.environ.get("DBT_LOG_LEVEL_FILE", "info")


def _callback(facts: ProjectFacts, writer: ExecutionLogWriter | None, tasks: Any, prefect_logger: Any,
              reused: Sequence[Decision] = ()) -> Any:
    """The one dbt callback: runs on dbt's threads, so it only copies a few fields and queues them.

    ``reused`` nodes (not run) join the log with dbt's first event, in the writer's next batch.
    """
    nodes = facts.nodes
    started = False
    # dbt calls back on its own threads, which start with an empty context: Prefect's logging would then see
    # default settings (no API URL) and start a server of its own. The lines go out in the caller's context.
    context = contextvars.copy_context()

    def callback(event: Any) -> None:
        nonlocal started
        info = event.info
        if prefect_logger is not None and info.level in _FORWARDED_LEVELS and info.msg:
            context.copy().run(prefect_logger.log, _FORWARDED_LEVELS[info.level], info.msg)
        if writer is not None and not started:
            started = True
            _submit_start(writer, info.invocation_id, info.ts.ToDatetime(), reused)
        name = info.name
        if name not in _NODE_EVENTS:
            return
        data = event.data
        unique_id = data.node_info.unique_id
        if unique_id not in nodes:
            return
        node_event = _node_event(name, unique_id, info, data)
        if writer is not None:
            writer.submit(info.invocation_id, node_event, node_event.ts)
        if tasks is not None:
            if name == "NodeStart":
                tasks.started(nodes[unique_id])
            elif name == "NodeFinished":
                tasks.finished(unique_id, node_event.status or "error", node_event.message or "")

    return callback


def _submit_start(writer: ExecutionLogWriter, invocation_id: str, at: datetime, reused: Sequence[Decision]) -> None:
    writer.submit(invocation_id, None, at)
    for decision in reused:
        writer.submit(invocation_id, NodeEvent("reused", decision.unique_id, at, status="reused",
                                               message=decision.reason,
                                               detail={"built_by": decision.built_by, "rows": decision.rows}), at)


def _reused_only(writer: ExecutionLogWriter | None, reused: Sequence[Decision]) -> Any:
    """Every selected node is reused: no dbt invocation; the log gets a job of its own (a fresh invocation id)."""
    if writer is not None:
        _submit_start(writer, str(uuid.uuid4()), utcnow(), reused)
    return SimpleNamespace(success=True, exception=None, result=None)


def _node_event(name: str, unique_id: str, info: Any, data: Any) -> NodeEvent:
    ts = info.ts.ToDatetime()
    if name == "NodeStart":
        return NodeEvent("start", unique_id, ts, thread=info.thread)
    if name == "SQLQueryStatus":
        return NodeEvent("query", unique_id, ts, status=data.status, elapsed=data.elapsed,
                         query_id=getattr(data, "query_id", "") or None)
    result = data.run_result
    from google.protobuf.json_format import MessageToDict

    response = MessageToDict(result.adapter_response) if result.HasField("adapter_response") else {}
    timing = {t.name: round((t.completed_at.ToDatetime() - t.started_at.ToDatetime()).total_seconds(), 6)
              for t in result.timing_info}
    return NodeEvent("finish", unique_id, ts, status=result.status or None, message=result.message or None,
                     execution_time=result.execution_time, adapter_response=response, timing=timing,
                     thread=result.thread or info.thread, failures=result.num_failures or None)


_DCF_QUERY_COMMENT = """
{%- set comment_dict = fromjson('__CONTEXT__') -%}
{%- do comment_dict.update(app='dbt', dbt_version=dbt_version, profile_name=target.get('profile_name'),
    target_name=target.get('target_name'), invocation_id=invocation_id) -%}
{%- if node is not none -%}
  {%- do comment_dict.update(node_id=node.unique_id) -%}
{%- else -%}
  {%- do comment_dict.update(connection_name=connection_name) -%}
{%- endif -%}
{{ return(tojson(comment_dict)) }}
"""


@contextmanager
def _query_comment(config: JobConfig) -> Iterator[None]:
    """dbt's default query comment, plus invocation_id, stream, PRCS_INST_ID and flow run, for this invocation.

    dbt takes the comment from the project (``query-comment``); a project that sets its own keeps it. There is
    no CLI switch for it, so the default is swapped while our invocation runs (under the dbt lock).
    """
    from dbt.adapters.base.query_headers import MacroQueryStringSetter
    from dbt.adapters.contracts.connection import DEFAULT_QUERY_COMMENT

    extra = json.dumps({"stream": config.run.stream_name, "prcs_inst_id": config.run.prcs_inst_id,
                        "flow_run_id": config.run.flow_run_id})
    comment = _DCF_QUERY_COMMENT.replace("__CONTEXT__", extra.replace("\\", "\\\\").replace("'", "\\'"))
    original = MacroQueryStringSetter._get_comment_macro

    def _get_comment_macro(self: Any) -> str | None:
        configured = original(self)
        return comment if configured == DEFAULT_QUERY_COMMENT else configured

    MacroQueryStringSetter._get_comment_macro = _get_comment_macro
    try:
        yield
    finally:
        MacroQueryStringSetter._get_comment_macro = original


def _dbt_invocation_id() -> str | None:
    try:
        from dbt_common.invocation import get_invocation_id

        return get_invocation_id()
    except ImportError:
        return None


def _failure(result: Any) -> str | None:
    if result is None:
        return "interrupted: the dbt invocation did not return"
    error = result.exception
    if error is None:
        return None
    if not isinstance(error, Exception):  # KeyboardInterrupt, Prefect's cancellation signal
        return f"interrupted ({type(error).__name__}{': ' + str(error) if str(error) else ''})"
    return f"{type(error).__name__}: {_one_line(error)}"


# -- outcome -----------------------------------------------------------------------------------------------------
def _outcome(result: Any, facts: ProjectFacts, job: JobState | None, writer: ExecutionLogWriter | None,
             target_path: Path, plan: ReusePlan | None = None) -> DbtBuildOutcome:
    rows = {m.facts.unique_id: m.rows for m in job.models.values()} if job else {}
    nodes: list[NodeOutcome] = []
    for node_result in getattr(result.result, "results", None) or []:
        node = node_result.node
        if node.resource_type not in ("model", "seed", "snapshot", "test"):
            continue
        response = getattr(node_result, "adapter_response", None) or {}
        nodes.append(NodeOutcome(
            unique_id=node.unique_id, name=node.name, resource_type=str(node.resource_type),
            status=str(node_result.status), relation_name=getattr(node, "relation_name", None),
            rows=rows.get(node.unique_id, _rows_from_response(node, response)),
            execution_time=node_result.execution_time, message=node_result.message,
        ))
    for unique_id in plan.reused if plan else ():
        node, decision = facts.nodes[unique_id], plan.decisions[unique_id]
        nodes.append(NodeOutcome(unique_id=unique_id, name=node.name, resource_type=node.resource_type, status="reused",
                                 relation_name=node.relation_name, rows=decision.rows, execution_time=None,
                                 message=decision.reason))
    state = job or _state_from_nodes(nodes, facts)
    error = state.error_line() if not result.success else None
    if not result.success and not error:
        error = "dbt build failed"
    return DbtBuildOutcome(
        success=bool(result.success), invocation_id=state.invocation_id, nodes=nodes, error=error,
        relations=facts.relations(), counts={k: v for k, v in state.counts().items() if k != "errors_other"},
        log_statements=writer.conn.statements if writer else 0, log_error=writer.last_error if writer else None,
        target_path=target_path, reuse=plan.summary() if plan else None,
    )


def _rows_from_response(node: Any, response: Mapping[str, Any]) -> int | None:
    materialized = getattr(getattr(node, "config", None), "materialized", None)
    value = response.get("rows_affected") if materialized == "table" else None
    return int(value) if value is not None else None


def _state_from_nodes(nodes: list[NodeOutcome], facts: ProjectFacts) -> JobState:
    """Counts and the error line without an execution log: folded from the results the same way."""
    state = JobState(invocation_id=_dbt_invocation_id() or "", started_at=utcnow(), project=facts,
                     config=JobConfig(target_name=""))
    for node in nodes:
        if node.unique_id in facts.nodes:
            at = datetime.min
            state.apply(NodeEvent("start", node.unique_id, at))
            state.apply(NodeEvent("finish", node.unique_id, at, status=node.status, message=node.message,
                                  execution_time=node.execution_time))
    return state


# -- plumbing ----------------------------------------------------------------------------------------------------
@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the invocation and restore the previous values afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update({key: str(value) for key, value in values.items()})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _new_run_dir(work: Path) -> Path:
    """A fresh target path for one invocation; only the newest KEEP_RUN_DIRS are kept."""
    runs = work / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    path = runs / f"{stamp}-{os.getpid()}"
    path.mkdir()
    for old in sorted(runs.iterdir())[:-KEEP_RUN_DIRS]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def _one_line(error: BaseException | None) -> str:
    text = str(error or "unknown error").strip()
    return " ".join(line.strip() for line in text.splitlines()[:3] if line.strip()) or type(error).__name__
