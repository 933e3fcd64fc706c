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

import json
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from dcf.build.events import node_callback, reused_only
from dcf.build.manifest import (
    base_args,
    file_log_level,
    one_line,
    parse_manifest,
    plain_str,
    project_facts,
    project_name,
)
from dcf.build.operation import OperationEvents, with_operation
from dcf.build.outcome import DbtBuildOutcome, NodeOutcome, build_outcome, dbt_invocation_id
from dcf.build.profiles import dbt_environment
from dcf.build.request import BuildObserver, BuildRequest
from dcf.build.reuse import ReusePlan
from dcf.build.reuse_run import ReuseRun, list_nodes, node_selectors, prepare_reuse
from dcf.errors import DcfError
from dcf.execlog.facts import JobConfig, ProjectFacts, RunContext
from dcf.execlog.writer import ExecutionLogWriter
from dcf.paths import dcf_home
from dcf.store.clock import utcnow
from dcf.store.connection import Connection
from dcf.store.owner import process_identity

# RunContext lives in execution_log
__all__ = ["DbtBuildOutcome", "NodeOutcome", "RunContext", "compile_sql", "run_dbt_build", "selected_nodes"]

log = logging.getLogger("dcf.dbt")

#: Invocation directories kept under $DCF_HOME/dbt/<project>/runs (older ones are removed).
KEEP_RUN_DIRS = 20
_DBT_LOCK = threading.RLock()


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
    work = dcf_home() / "dbt" / project_name(project_dir)
    with _DBT_LOCK, dbt_environment(_run_env(request.env)):
        manifest = parse_manifest(request, work)
        facts = project_facts(manifest)
        if request.operation:
            facts = with_operation(facts, manifest, request.operation)
        reuse_run = prepare_reuse(manifest, facts, request, base_args(request, work), conn=log_to) \
            if request.reuse and not request.operation else None
        return _invoke(request, manifest, facts, work, reuse_run, log_to, observer, flush_interval)


def _invoke(request: BuildRequest, manifest: Any, facts: ProjectFacts, work: Path, reuse_run: ReuseRun | None,
            log_to: Connection | None, observer: BuildObserver, flush_interval: float | None) -> DbtBuildOutcome:
    """The build invocation itself, with the execution log written around it."""
    plan = reuse_run.plan if reuse_run else None
    target_path = _new_run_dir(work)
    # a view's row count runs its query: by default only where that is cheap (an embedded DuckDB)
    count_views = request.count_views if request.count_views is not None else \
        bool(log_to is not None and log_to.dialect.embedded)
    config = _job_config(request, target_path, plan, count_views=count_views)
    logger = observer.logger()
    if plan and logger:
        summary = plan.summary()
        logger.info("reuse: %d node(s) reused, %d to build %s", summary["reused"], summary["built"],
                    summary["build_reasons"])
    writer = ExecutionLogWriter(log_to, facts, config, **({"interval": flush_interval} if flush_interval else {})) \
        if log_to is not None else None
    tasks = observer.node_tasks()
    reused = [plan.decisions[u] for u in plan.reused] if plan else []
    operation = OperationEvents(facts, request.operation, writer) if request.operation else None
    callbacks = [node_callback(facts, writer, tasks, logger, reused, operation)] \
        if (writer or tasks or logger or operation) else []
    if plan and plan.reused:  # exactly the nodes to build, tests included (verified by prepare_reuse)
        request = request.narrowed(select=node_selectors(manifest, plan.to_build))
    args = _build_args(request, target_path, work / "logs", quiet=logger is not None,
                       indirect_selection="empty" if plan and plan.reused else None)
    if writer:
        writer.start()
    result = None
    try:
        if plan and not plan.to_build:  # everything reused: no dbt invocation, the log is written all the same
            result = reused_only(writer, reused)
        else:
            with _query_comment(config):
                from dbt.cli.main import dbtRunner

                result = dbtRunner(manifest=manifest, callbacks=callbacks).invoke(args)
                if operation is not None:
                    operation.finished(result)
    finally:
        failure = _failure(result)
        cancelled = failure is not None and observer.cancel_requested()
        job = writer.close(failure=failure, invocation_id=dbt_invocation_id(), cancelled=cancelled) if writer \
            else None
        if tasks:
            tasks.close()
        if reuse_run and job is not None:
            reuse_run.record(job, facts)
    if result.exception is not None and not isinstance(result.exception, Exception):
        raise result.exception  # KeyboardInterrupt, Prefect's TerminationSignal: not ours to swallow
    if result.exception is not None:
        raise DcfError(f"dbt build of {facts.project_name} could not run: {one_line(result.exception)}") \
            from result.exception
    return build_outcome(result, facts, job, writer, target_path, plan, log_file=work / "logs" / "dbt.log")


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
    work = dcf_home() / "dbt" / project_name(request.project_dir) / "compile"
    with _DBT_LOCK, dbt_environment(_run_env(request.env)):
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(["compile", *base_args(request, work), "--select", *request.select,
                                     "--no-populate-cache", "--no-introspect"])
    if not result.success:
        raise DcfError(f"dbt compile of {list(request.select)} failed (target {request.target}): "
                       f"{one_line(result.exception)}")
    return {r.node.name: r.node.compiled_code for r in result.result.results}


def selected_nodes(request: BuildRequest) -> list[str]:
    """Unique ids ``dbt build`` of ``request``'s selection would run, without building or connecting
    (VALIDATE mode: a selector that matches nothing is a mistake to report before any run); for an operation,
    its macro's (a DcfError when the project has no such macro)."""
    request = replace(request, project_dir=Path(request.project_dir).resolve(),
                      profiles_dir=Path(request.profiles_dir).resolve(), vars=dict(request.vars))
    work = dcf_home() / "dbt" / project_name(request.project_dir) / "validate"
    with _DBT_LOCK, dbt_environment(_run_env(request.env)):
        manifest = parse_manifest(request, work)
        if request.operation:
            facts = with_operation(project_facts(manifest), manifest, request.operation)
            return [u for u, node in facts.nodes.items() if node.resource_type == "operation"]
        return list_nodes(manifest, base_args(request, work), request.select, request.exclude)


# -- job context -------------------------------------------------------------------------------------------------
def _job_config(request: BuildRequest, target_path: Path, plan: ReusePlan | None = None, *,
                count_views: bool = False) -> JobConfig:
    host, pid, pid_start = process_identity()
    profile = _profile(request.project_dir, request.target, dict(request.vars), request.threads)
    credentials = getattr(profile, "credentials", None)
    return JobConfig(
        target_name=request.target, target_database=plain_str(getattr(credentials, "database", None)),
        target_schema=plain_str(getattr(credentials, "schema", None)),
        threads=getattr(profile, "threads", request.threads),
        warehouse=plain_str(getattr(credentials, "warehouse", None)),
        select=tuple(request.select), exclude=tuple(request.exclude), full_refresh=request.full_refresh,
        compiled_root=str(target_path / "compiled"), run=request.context,
        host=host, pid=pid, pid_start=pid_start, reuse=plan.summary() if plan else None, count_views=count_views,
        **_git(request.project_dir),
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


# -- the build invocation -----------------------------------------------------------------------------------------
def _build_args(request: BuildRequest, target_path: Path, log_path: Path, *, quiet: bool,
                indirect_selection: str | None = None) -> list[str]:
    command = ["run-operation", request.operation, "--args", json.dumps(dict(request.operation_args))] \
        if request.operation else ["build"]
    args = [*command, "--project-dir", str(request.project_dir), "--profiles-dir", str(request.profiles_dir),
            "--target", request.target, "--target-path", str(target_path), "--log-path", str(log_path),
            "--vars", json.dumps(dict(request.vars)),
            # Inside a flow dbt's lines go to the Prefect run logger instead of stdout.
            "--log-level", "none" if quiet else os.environ.get("DBT_LOG_LEVEL", "info"),
            "--log-level-file", file_log_level()]
    if request.operation:
        return args
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


def _failure(result: Any) -> str | None:
    if result is None:
        return "interrupted: the dbt invocation did not return"
    error = result.exception
    if error is None:
        return None
    if not isinstance(error, Exception):  # KeyboardInterrupt, Prefect's cancellation signal
        return f"interrupted ({type(error).__name__}{': ' + str(error) if str(error) else ''})"
    return f"{type(error).__name__}: {one_line(error)}"


# -- plumbing ----------------------------------------------------------------------------------------------------
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
