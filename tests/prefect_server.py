"""A real ``prefect server start`` on a loopback port, for tests and scripts that need an API.

The ephemeral server takes 18-30 s to start here and is started per process; one real server per test
session is cheaper and is what users run. It is stopped by its process id, whatever the outcome.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def prefect_server(home: Path, *, timeout: float = 120.0, via_make: bool = False) -> Iterator[str]:
    """Start a server with its own PREFECT_HOME; yield its API URL; stop it on exit. ``via_make``: as a user
    does, ``make server PORT=…`` (with the UI), else ``prefect server start`` without the UI."""
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_UI_ENABLED": "false", "PREFECT_API_URL": api_url}
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    if via_make:
        for name in ("PREFECT_SERVER_UI_ENABLED", "PREFECT_API_URL", "PREFECT_UI_API_URL"):
            env.pop(name, None)
        command = ["make", "--no-print-directory", "server", f"PORT={port}"]
    log = (home / "server.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                               cwd=Path(__file__).resolve().parents[1])
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"prefect server exited ({process.returncode}); see {home / 'server.log'}")
            try:
                with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"prefect server did not answer within {timeout:.0f}s")
            time.sleep(0.5)
        yield api_url
    finally:
        stop_process_group(process)
        log.close()


def stop_process_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)
