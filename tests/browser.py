"""A headless Chromium page driven over the DevTools protocol, for tests of what the Prefect UI shows and does.

Only what the UI tests need: open a page, evaluate JavaScript in it, wait until an expression holds. The tests
using it skip where no Chromium is installed (Debian: ``apt install chromium``).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import websockets

from tests.prefect_server import free_port, stop_process_group

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class Page:
    """One browser tab: :meth:`evaluate` runs an expression and returns its value."""

    def __init__(self, websocket_url: str) -> None:
        self.websocket_url = websocket_url

    def evaluate(self, expression: str) -> Any:
        async def call() -> Any:
            async with websockets.connect(self.websocket_url, max_size=None) as socket:
                await socket.send(json.dumps({"id": 1, "method": "Runtime.evaluate",
                                              "params": {"expression": expression, "returnByValue": True}}))
                while True:
                    answer = json.loads(await socket.recv())
                    if answer.get("id") == 1:
                        break
            if "exceptionDetails" in answer.get("result", {}):
                raise RuntimeError(f"{expression}: {answer['result']['exceptionDetails']}")
            return answer["result"]["result"].get("value")

        return asyncio.run(call())

    def wait_for(self, expression: str, timeout: float = 60.0) -> Any:
        """Poll until ``expression`` is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                shown = self.evaluate("location.href + ': ' + (document.body ? document.body.innerText : '')")
                raise TimeoutError(f"not true within {timeout:.0f}s: {expression}; the page: {shown[-1500:]}")
            time.sleep(0.5)

    def text(self) -> str:
        return self.evaluate("document.body ? document.body.innerText : ''") or ""


@contextmanager
def chromium_page(url: str) -> Iterator[Page]:
    """Open ``url`` in a fresh headless Chromium (its own profile); closed on exit, whatever the outcome."""
    assert CHROMIUM is not None, "no Chromium on this machine"
    port = free_port()
    profile = tempfile.TemporaryDirectory(prefix="chromium-")
    process = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                f"--remote-debugging-port={port}", f"--user-data-dir={profile.name}",
                                "--window-size=1400,2000", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?{url}", method="PUT")
                with urllib.request.urlopen(request, timeout=2) as response:
                    target = json.load(response)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield Page(target["webSocketDebuggerUrl"])
    finally:
        stop_process_group(process)
        profile.cleanup()
