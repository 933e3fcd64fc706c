"""What a dbt build is asked to do (:class:`BuildRequest`) and who watches it (:class:`BuildObserver`).

    request = BuildRequest(project_dir=Path("dbt/gdw1"), profiles_dir=Path("dbt/gdw1"), target="local",
                           select=["tag:stream_bcfinsg"], vars={"ods_batch_id": "B1"},
                           env={"DCF_WAREHOUSE_PATH": str(warehouse_path())},
                           context=RunContext(stream_name="BCFINSG_PLAN_BALN_SEGM_LOAD", prcs_inst_id=42))
    outcome = run_dbt_build(request, log_to=conn, observer=PrefectBuildObserver())   # inside a flow
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from dcf.execlog.facts import NodeFacts, RunContext


@dataclass(frozen=True)
class BuildRequest:
    """What to build and how: one ``dbt build`` invocation's settings."""

    project_dir: Path
    profiles_dir: Path
    target: str
    select: Sequence[str] = ()
    exclude: Sequence[str] = ()
    vars: Mapping[str, Any] = field(default_factory=dict)
    #: Names in ``vars`` that change every run (the process date, the batch and instance ids). The manifest is
    #: parsed without them, so dbt's partial parsing holds from one run to the next (any change of the parse's
    #: vars makes dbt re-parse the whole project); the build itself gets every var. A project reads them in
    #: SQL, macros and hooks (rendered when the node runs), not in ``config()`` or YAML (rendered at parse).
    run_vars: frozenset[str] = frozenset()
    full_refresh: bool = False
    threads: int | None = None
    #: environment variables set while dbt runs (the profile's secrets, the DuckDB path)
    env: Mapping[str, str] = field(default_factory=dict)
    context: RunContext = field(default_factory=RunContext)
    #: state-aware reuse (:mod:`dcf.build.reuse`); needs ``log_to``
    reuse: bool = False
    #: row counts of views in the log (a view's count runs its query); None: where that is cheap (DuckDB)
    count_views: bool | None = None
    #: ``dbt run-operation`` of this macro instead of a build (its ``args``: ``operation_args``); the log gets
    #: a JOB row and one MODEL row for the macro, as a build gets one per node
    operation: str | None = None
    operation_args: Mapping[str, Any] = field(default_factory=dict)

    @property
    def parse_vars(self) -> dict[str, Any]:
        """The vars the manifest is parsed with: :attr:`vars` without :attr:`run_vars`."""
        return {name: value for name, value in self.vars.items() if name not in self.run_vars}

    def narrowed(self, *, select: Sequence[str], exclude: Sequence[str] = ()) -> BuildRequest:
        """The same build over another selection (the quality gate's phases)."""
        return replace(self, select=tuple(select), exclude=tuple(exclude))


class NodeTaskSink(Protocol):
    """Per-node task runs (``runtime.node_tasks``): told when each node starts and ends."""

    def started(self, facts: NodeFacts) -> None: ...
    def finished(self, unique_id: str, status: str, message: str = "") -> None: ...
    def close(self) -> None: ...


class BuildObserver:
    """What the caller knows that the core does not; the default knows nothing (a plain script).

    ``runtime.build_observer.PrefectBuildObserver`` fills the flow run's ids, forwards dbt's lines to the
    run logger and, when asked, opens a Prefect task run per node.
    """

    def run_context(self, context: RunContext) -> RunContext:
        return context

    def logger(self) -> logging.Logger | logging.LoggerAdapter | None:
        """Where dbt's info-and-above lines go; None: dbt prints them itself."""
        return None

    def node_tasks(self) -> NodeTaskSink | None:
        return None

    def cancel_requested(self) -> bool:
        """Whether an operator cancelled the run (asked when the build ends abnormally)."""
        return False
