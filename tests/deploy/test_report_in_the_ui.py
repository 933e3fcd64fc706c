"""The migration report as the Prefect UI shows it: a real server (started as users start it), the import flow's
markdown artifact, and a headless Chromium that loads the UI's artifact page. Every sequence's mermaid graph
must render as a diagram (mermaid draws a syntax error as a diagram of its own, which is counted apart)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request

import pytest

from tests.datastage.corpus import SEQUENCES_ISX, sequence_key
from tests.prefect_server import prefect_server

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt install chromium)")
def test_every_mermaid_graph_of_the_migration_report_renders_in_the_prefect_ui(tmp_path, monkeypatch):
    with prefect_server(tmp_path / "prefect-home", via_make=True) as api_url:
        monkeypatch.setenv("PREFECT_API_URL", api_url)
        done = subprocess.run(
            [sys.executable, "-c", "import sys; from flows.import_datastage import import_datastage; "
             "import_datastage(exports=[sys.argv[1]], out=sys.argv[2], validate_streams=False)",
             str(SEQUENCES_ISX), str(tmp_path / "imported")],
            env={**os.environ, "PREFECT_API_URL": api_url}, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        request = urllib.request.Request(f"{api_url}/artifacts/filter", data=b'{"limit": 10}',
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            [artifact] = [a for a in json.load(response) if a["key"] == "datastage-migration-report"]
        page = f"{api_url.removesuffix('/api')}/v2/artifacts/artifact/{artifact['id']}"
        dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=30000",
                              "--dump-dom", page], capture_output=True, text=True, timeout=180).stdout
    assert "DataStage migration report" in dom
    assert dom.count('aria-roledescription="error"') == 0
    assert dom.count('aria-roledescription="flowchart-v2"') == len(sequence_key())
