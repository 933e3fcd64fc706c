"""The migration report as the Prefect UI shows it: a real server (started as users start it), the import flow's
markdown artifact, and a headless Chromium that loads the UI's artifact page. Every sequence's mermaid graph
must render as a diagram (mermaid draws a syntax error as a diagram of its own, which is counted apart), and
every table must fit the pane."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from tests.browser import CHROMIUM, chromium_page
from tests.datastage.corpus import SEQUENCES_ISX, sequence_key
from tests.prefect_server import prefect_server

pytestmark = pytest.mark.e2e


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
        page_url = f"{api_url.removesuffix('/api')}/v2/artifacts/artifact/{artifact['id']}"
        expected = len(sequence_key())
        with chromium_page(page_url) as page:
            page.wait_for(f"document.querySelectorAll('[aria-roledescription]').length >= {expected}", timeout=90)
            drawn = page.evaluate("[...document.querySelectorAll('[aria-roledescription]')]"
                                  ".map(e => e.getAttribute('aria-roledescription'))")
            # nothing is wider than the pane the markdown is drawn in (it does not scroll sideways)
            too_wide = page.evaluate("[...document.querySelectorAll('.prose *')].filter(e => "
                                     "e.getBoundingClientRect().right > e.closest('.prose').getBoundingClientRect()"
                                     ".right + 1 && !e.parentElement.closest('svg')).map(e => e.tagName + ': ' + "
                                     "e.innerText.slice(0, 80))")
            text = page.text()
    assert "DataStage migration report" in text
    assert drawn.count("error") == 0 and drawn.count("flowchart-v2") == expected, drawn
    assert too_wide == [], too_wide
