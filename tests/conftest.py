"""Shared fixtures. Every test gets its own DCF_HOME; the user's ./.dcf and ~/.prefect are never touched."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything imports Prefect: a private PREFECT_HOME, no API configured unless a test starts one.
_SESSION_TMP = Path(tempfile.mkdtemp(prefix="dcf-tests-"))
os.environ["PREFECT_HOME"] = str(_SESSION_TMP / "prefect-home")
os.environ.pop("PREFECT_API_URL", None)
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from dcf.store.dialect import Dialect, Namespace  # noqa: E402

SNOWFLAKE_NAMESPACE = Namespace("PROVIDERPDM_CORE_TARGET", "DEV_PROVIDERPDM")


@pytest.fixture(autouse=True)
def dcf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dcf-home"
    monkeypatch.setenv("DCF_HOME", str(home))
    return home


@pytest.fixture
def duckdb_conn(tmp_path: Path):
    from dcf.store.connection import open_duckdb

    conn = open_duckdb(tmp_path / "control.duckdb", Namespace("DCF"))
    yield conn
    conn.close()


@pytest.fixture
def fakesnow_conn() -> Iterator:
    """The real snowflake-connector API over fakesnow's in-process patch."""
    import fakesnow
    import snowflake.connector

    from dcf.store.connection import Connection

    with fakesnow.patch():
        raw = snowflake.connector.connect()
        raw.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {SNOWFLAKE_NAMESPACE.database}")
        conn = Connection(raw, Dialect.SNOWFLAKE, SNOWFLAKE_NAMESPACE)
        yield conn
        conn.close()


@pytest.fixture(scope="session")
def fakesnow_server() -> Iterator[dict]:
    """fakesnow's server mode: statements go over the wire as they would to Snowflake."""
    import fakesnow

    with fakesnow.server(session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False}) as kwargs:
        yield kwargs


@pytest.fixture
def fakesnow_server_conn(fakesnow_server: dict) -> Iterator:
    import uuid

    import snowflake.connector

    from dcf.store.connection import Connection

    # A database per test: the server is shared by the whole session.
    database = f"DB_{uuid.uuid4().hex[:8].upper()}"
    raw = snowflake.connector.connect(**fakesnow_server)
    raw.cursor().execute(f"CREATE DATABASE {database}")
    conn = Connection(raw, Dialect.SNOWFLAKE, Namespace(SNOWFLAKE_NAMESPACE.schema, database))
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """One real Prefect server for the session; PREFECT_API_URL points at it while the session runs."""
    from prefect.context import refresh_global_settings_context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.prefect_server import prefect_server

    with prefect_server(_SESSION_TMP / "prefect-server-home") as api_url:
        os.environ["PREFECT_API_URL"] = api_url
        # Threads started without a copy of the caller's context read Prefect's global settings, which were
        # built at import time; without a refresh they would start an ephemeral server of their own.
        refresh_global_settings_context()
        try:
            with temporary_settings({PREFECT_API_URL: api_url}):
                yield api_url
                _drain_prefect_workers()
        finally:
            os.environ.pop("PREFECT_API_URL", None)
            refresh_global_settings_context()


def _drain_prefect_workers() -> None:
    """Send buffered logs and events before the server goes away (else they fail noisily at exit)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):  # best effort: the session is over either way
            worker.drain_all(timeout=10)


#: Test modules whose tests build dbt projects for real.
_DBT_MODULES = frozenset({"test_dbt_gdw1", "test_execution_log_dbt", "test_model_costs", "test_reuse"})
#: Test modules that start a Prefect server of their own (a flow run in a subprocess).
_SERVER_MODULES = frozenset({"test_control_tables_flow"})
_COST_MARKERS = ("dbt", "fakesnow_server", "e2e", "deploy")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test by its cost, so ``-m unit`` (make test-fast) runs no dbt build and starts no server."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.module.__name__.rsplit(".", 1)[-1] in _DBT_MODULES:
            item.add_marker(pytest.mark.dbt)
        if fixtures & {"fakesnow_server", "fakesnow_server_conn"}:
            item.add_marker(pytest.mark.fakesnow_server)
        if "prefect_api" in fixtures or item.module.__name__.rsplit(".", 1)[-1] in _SERVER_MODULES:
            item.add_marker(pytest.mark.e2e)
        if not any(item.get_closest_marker(name) for name in _COST_MARKERS):
            item.add_marker(pytest.mark.unit)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the process once pytest has reported, with pytest's own exit status.

    At interpreter exit Prefect's atexit handlers retry the (already stopped) test server and DuckDB's
    bindings print a leak report; both would bury pytest's summary line under noise. Nothing of value
    runs after this point: every test, fixture and report is finished.
    """
    status = config.stash.get(_EXIT_STATUS, None)
    if status is not None and not hasattr(config, "workerinput"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


_EXIT_STATUS = pytest.StashKey[int]()
