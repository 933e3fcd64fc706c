"""The Prefect API of ``make run``: a server that already answers, else a temporary one started at once.

    api = LocalApi.acquire()   # first thing: a temporary server boots in its own process meanwhile
    ...                        # the heavy imports, the landing file, the control tables
    api.wait_ready()           # then the flow
    api.stop()                 # a temporary server is stopped (also at exit)

Prefect's ephemeral server would start only when the flow first calls the API, after every import, and its
starter imports Prefect's whole server into this process. Starting the same server (uvicorn on
``prefect.server.api.server:create_app``, UI off, as Prefect's ephemeral mode does) before importing anything
lets its boot and database migrations run on one core while this process imports on the other. Stdlib only:
importing Prefect here would cost the time this module saves.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

#: Where ``make server`` serves by default.
LOCAL_SERVER_URL = "http://127.0.0.1:4200/api"

#: A temporary server serves one flow run of this process: no UI, and none of the services that act for
#: deployments, workers or automations (the scheduler, late runs, the foreman, triggers, ...) competing with the
#: run for the two cores. Nor does it import every installed collection to register block types at boot
#: (seconds: prefect-snowflake alone pulls in the Snowflake connector and pandas); the run loads no block on the
#: local default, and ``make server`` registers them when it starts.
TEMPORARY_SERVER_SETTINGS = {
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
    **{f"PREFECT_SERVER_SERVICES_{service}_ENABLED": "false" for service in (
        "SCHEDULER", "LATE_RUNS", "FOREMAN", "PAUSE_EXPIRATIONS", "REPOSSESSOR", "CANCELLATION_CLEANUP",
        "DB_VACUUM", "CLEANUP_RECONCILER", "TRIGGERS")},
}


@dataclass
class LocalApi:
    url: str
    #: "configured" (PREFECT_API_URL), "local" (a server answering on LOCAL_SERVER_URL) or "temporary"
    origin: str
    process: subprocess.Popen[bytes] | None = None
    started_at: float = field(default_factory=time.monotonic)
    ready_after: float | None = None
    _errors: Path | None = None

    @classmethod
    def acquire(cls) -> LocalApi:
        """PREFECT_API_URL when set; else a server answering on LOCAL_SERVER_URL; else a temporary one, started."""
        configured = os.environ.get("PREFECT_API_URL")
        if configured:
            return cls(configured, "configured")
        if _healthy(LOCAL_SERVER_URL, timeout=0.5):
            os.environ["PREFECT_API_URL"] = LOCAL_SERVER_URL
            return cls(LOCAL_SERVER_URL, "local")
        return cls._start_temporary()

    @classmethod
    def _start_temporary(cls) -> LocalApi:
        port = _free_port()
        url = f"http://127.0.0.1:{port}/api"
        errors = Path(tempfile.mkstemp(prefix="prefect-server-", suffix=".log")[1])
        spec = importlib.util.find_spec("prefect")  # finds the package without importing it
        assert spec is not None and spec.submodule_search_locations, "prefect is not installed"
        app_dir = Path(next(iter(spec.submodule_search_locations))).parent
        env = {**os.environ, **TEMPORARY_SERVER_SETTINGS}
        with errors.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir), "--factory",
                 "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
                 "--log-level", "error", "--lifespan", "on"],
                env=env, stdout=subprocess.DEVNULL, stderr=sink)
        os.environ["PREFECT_API_URL"] = url
        api = cls(url, "temporary", process, _errors=errors)
        atexit.register(api.stop)
        # Watched from a thread, so that the time it took to answer is known even when nobody waits for it.
        threading.Thread(target=api._watch, name="prefect-api-ready", daemon=True).start()
        return api

    def _watch(self) -> None:
        while not _healthy(self.url, timeout=1.0):
            if self.process is None or self.process.poll() is not None:
                return
            time.sleep(0.1)
        self.ready_after = time.monotonic() - self.started_at

    def wait_ready(self, timeout: float = 180.0) -> float:
        """Block until the API answers; returns the seconds from :meth:`acquire` to its first answer."""
        deadline = time.monotonic() + timeout
        while self.ready_after is None:
            if self.process is None:  # configured or local: answering is all there is to know
                if _healthy(self.url, timeout=1.0):
                    self.ready_after = time.monotonic() - self.started_at
                    break
            elif self.process.poll() is not None:
                raise RuntimeError(f"the temporary Prefect server exited with code {self.process.returncode}: "
                                   f"{self._error_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect API at {self.url} did not answer within {timeout:.0f}s")
            time.sleep(0.1)
        return self.ready_after

    def describe(self) -> str:
        """One console line: which server the run talks to."""
        if self.origin == "temporary":
            return f"Prefect API: a temporary server on {self.url} (stopped at the end; `make server` keeps one)"
        if self.origin == "local":
            return f"Prefect API: the local server already answering on {self.url} (its UI shows this run)"
        return f"Prefect API: {self.url} (PREFECT_API_URL)"

    def stop(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._errors is not None:
            self._errors.unlink(missing_ok=True)

    def _error_tail(self) -> str:
        if self._errors is None or not self._errors.exists():
            return "no output"
        return self._errors.read_text(errors="replace")[-2000:].strip() or "no output"


def _healthy(url: str, *, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
