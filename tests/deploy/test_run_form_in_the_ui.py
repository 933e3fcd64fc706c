"""The stream run form as a user meets it: a real server started with ``make server``, a deployment of the
stream flow, the Prefect UI's Custom-run page in headless Chromium. Every field shown is meant for a user (no
'Property is type "None"', no internal parameter), and Submit with the fields left empty creates a run that
asks only for what the user chose."""

from __future__ import annotations

import json
import urllib.request

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.browser import CHROMIUM, chromium_page
from tests.prefect_server import prefect_server
from tests.streams import BCFINSG

pytestmark = pytest.mark.e2e


def _flow_runs(api_url: str) -> list[dict]:
    request = urllib.request.Request(f"{api_url}/flow_runs/filter", data=b"{}",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt install chromium)")
def test_the_run_form_shows_one_input_per_field_and_submits_what_the_user_left_empty_as_absent(tmp_path):
    from flows.stream_load import stream_load

    with prefect_server(tmp_path / "prefect-home", via_make=True) as api_url:
        # as prefect.yaml deploys it: the stream fixed, every other field left to the user (on this server,
        # whatever server an earlier test of this process pointed Prefect's settings at)
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            deployment_id = stream_load.to_deployment(name="run-form", parameters={"stream": BCFINSG}).apply()
        page_url = f"{api_url.removesuffix('/api')}/v2/deployments/deployment/{deployment_id}/run"
        with chromium_page(page_url) as page:
            page.wait_for("document.body && document.body.innerText.includes('warehouse_block')")
            form = page.text()
            for field in ("process_date", "batch_id", "full_refresh", "mode", "warehouse_block", "parameters",
                          "assume"):
                assert f"{field} (Optional)" in form, field
            assert "Property is type" not in form
            assert "parent_prcs_inst_id" not in form
            assert page.evaluate("[...document.querySelectorAll('button')]"
                                 ".filter(b => b.textContent.trim() === 'Submit').map(b => b.click()).length") == 1
            page.wait_for("!location.pathname.endsWith('/run')", timeout=30)  # the UI moves to the new run
        [run] = _flow_runs(api_url)
    assert run["parameters"] == {"stream": BCFINSG, "full_refresh": False, "mode": "NORMAL"}
    assert run["state"]["type"] == "SCHEDULED"
