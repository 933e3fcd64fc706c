"""``make server PORT=…``: the UI it serves talks to the API on that port, not to Prefect's default 4200."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.prefect_server import prefect_server

pytestmark = pytest.mark.e2e


def test_make_server_on_another_port_serves_a_ui_that_calls_that_port(tmp_path):
    with prefect_server(tmp_path / "prefect-home", via_make=True) as api_url:
        origin = api_url.removesuffix("/api")
        with urllib.request.urlopen(f"{origin}/ui-settings", timeout=10) as response:
            settings = json.load(response)
        with urllib.request.urlopen(f"{origin}/", timeout=10) as response:
            page = response.read().decode("utf-8", errors="replace")
    assert settings["api_url"] == api_url, settings
    assert "<html" in page.lower()  # the UI itself is served
    assert not (tmp_path / "prefect-home" / "server.log").read_text().count("Failed to send telemetry")
