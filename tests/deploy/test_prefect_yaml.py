"""prefect.yaml against the stream YAMLs, the flow's UI form, the automation and the Snowflake env mapping.

Fast: no server. The deployments themselves are exercised for real in tests/deploy/test_deploy.py.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from uuid import uuid4

import pytest
import yaml
from prefect.exceptions import ParameterTypeError
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools import ValidationError, validate
from prefect_snowflake import SnowflakeConnector, SnowflakeCredentials

from blocks.snowflake_env import snowflake_env
from blocks.warehouse import DcfWarehouse
from dcf.paths import PROJECT_ROOT
from dcf.stream.definition import load_all_streams, parse_stream_file
from flows.parameters import RunMode
from flows.stream_load import stream_load
from scripts.automations import reconcile_automation
from scripts.deployments import PREFECT_YAML, PROCESS_PULL, check, deployment_name, render, render_text
from scripts.snowflake_blocks import fields_from_env
from tests.streams import BCFINSG, BCFINSG_YAML

LEDGER_YAML = PROJECT_ROOT / "tests" / "fixtures" / "ledger_stream.yaml"


def test_prefect_yaml_is_what_the_generator_writes_from_the_stream_yamls():
    assert PREFECT_YAML.read_text() == render_text(), "prefect.yaml is stale: run `make deployments`"
    assert check(yaml.safe_load(PREFECT_YAML.read_text()), load_all_streams()) == []


def test_a_stream_without_deployment_and_a_deployment_without_stream_are_reported():
    bcfinsg, ledger = parse_stream_file(BCFINSG_YAML), parse_stream_file(LEDGER_YAML)

    missing = check(render([bcfinsg]), [bcfinsg, ledger])
    assert missing == ["stream GENERAL_LEDGER_LOAD (ledger_stream.yaml): 0 deployments, expected 1"]

    orphan = check(render([bcfinsg, ledger]), [bcfinsg])
    assert orphan == ["deployment general-ledger-load: stream 'GENERAL_LEDGER_LOAD' has no YAML under configs/streams"]

    doubled = render([bcfinsg])
    doubled["deployments"].append(dict(doubled["deployments"][0]))
    assert check(doubled, [bcfinsg]) == [
        "deployment name 'bcfinsg-plan-baln-segm-load' is used 2 times (streams whose names differ only in case or "
        "punctuation?)", f"stream {BCFINSG} (bcfinsg_plan_baln_segm_load.yaml): 2 deployments, expected 1"]

    edited = render([bcfinsg])
    edited["deployments"][0]["schedules"][0]["cron"] = "0 7 * * *"
    edited["deployments"][0]["concurrency_limit"]["collision_strategy"] = "ENQUEUE"
    problems = check(edited, [bcfinsg])
    assert [p.split(":")[1].split()[0] for p in problems] == ["schedules", "concurrency_limit"]


def test_the_stream_deployment_takes_name_parameters_and_schedule_from_the_yaml():
    bcfinsg = parse_stream_file(BCFINSG_YAML)
    document = render([bcfinsg])
    [stream] = [d for d in document["deployments"] if d["entrypoint"] == "flows/stream_load.py:stream_load"]
    assert stream["name"] == deployment_name(BCFINSG) == "bcfinsg-plan-baln-segm-load"
    assert stream["parameters"] == {"stream": BCFINSG}
    schedule = bcfinsg.config.schedule
    assert stream["schedules"] == [{"cron": schedule.cron, "timezone": "Australia/Sydney", "active": False}]
    assert stream["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    assert stream["work_pool"] == {"name": "dcf-process"}
    others = {d["name"]: d for d in document["deployments"] if d is not stream}
    assert {"reconcile", "profile-tables"} <= set(others)
    assert others["reconcile"]["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}
    # The worker finds the checkout at run time, so one prefect.yaml serves every host (see the test below).
    assert document["pull"] == PROCESS_PULL


@pytest.mark.parametrize(("deployed_from", "worker_env", "expected"), [
    ("checkout", {"DCF_PROJECT_DIR": "other"}, "other"),    # the worker's own checkout wins
    ("checkout", {}, "checkout"),                           # a worker started as Prefect's hint says
    ("", {}, "DCF_PROJECT_DIR is not set: start the worker with DCF_PROJECT_DIR=<checkout of dcf-flows>"),
    ("", {"DCF_PROJECT_DIR": "elsewhere"}, "DCF_PROJECT_DIR=ELSEWHERE is not a checkout of dcf-flows"),
])
def test_the_pull_steps_find_the_checkout_or_fail_saying_what_to_set(deployed_from, worker_env, expected, tmp_path,
                                                                       monkeypatch, prefect_api):
    """The pull steps as Prefect runs them: resolved once by ``prefect deploy`` (with or without
    DCF_DEPLOYED_FROM, as ``make deploy-local`` sets it), then run in the flow-run process's environment
    (which emits an event per step: to the session's server, not an ephemeral one of its own)."""
    import asyncio

    from prefect.deployments.steps.core import StepExecutionError, run_steps
    from prefect.utilities.templating import apply_values

    dirs = {"checkout": tmp_path / "checkout", "other": tmp_path / "other", "elsewhere": tmp_path / "elsewhere"}
    for name in ("checkout", "other"):
        (dirs[name] / "flows").mkdir(parents=True)
        (dirs[name] / "flows" / "stream_load.py").touch()
    monkeypatch.delenv("DCF_DEPLOYED_FROM", raising=False)
    if deployed_from:
        monkeypatch.setenv("DCF_DEPLOYED_FROM", str(dirs[deployed_from]))
    deployed = apply_values(render()["pull"], {}, remove_notset=False)  # $VARs: from os.environ, as deploy does
    monkeypatch.chdir(tmp_path)  # the steps change directory; restored after the test
    monkeypatch.delenv("DCF_DEPLOYED_FROM", raising=False)
    monkeypatch.delenv("DCF_PROJECT_DIR", raising=False)
    for name, value in worker_env.items():
        monkeypatch.setenv(name, str(dirs[value]))
    if expected in dirs:
        asyncio.run(run_steps(deployed, print_function=lambda *_: None))
        assert Path.cwd() == dirs[expected]
    else:
        with pytest.raises(StepExecutionError) as failed:
            asyncio.run(run_steps(deployed, print_function=lambda *_: None))
        message = str(failed.value.__cause__).replace(str(dirs["elsewhere"]), "ELSEWHERE")
        assert expected in message and len(message.strip().splitlines()) == 1, message


def test_the_ui_form_offers_known_streams_dates_and_modes_and_the_server_check_refuses_bad_values():
    schema = parameter_schema(stream_load).model_dump_for_openapi()
    properties = schema["properties"]
    assert all(p.get("description") for p in properties.values()), "every parameter shows a description"
    assert properties["stream"]["enum"] == [BCFINSG]
    assert schema["required"] == ["stream"]
    date_schema = properties["process_date"]
    assert (date_schema["type"], date_schema["format"]) == ("string", "date")
    # one input per optional field (a null branch shows as 'Property is type "None"'), nothing internal
    assert not [name for name, p in properties.items() if "anyOf" in p]
    assert "parent_prcs_inst_id" not in properties
    assert schema["definitions"]["RunMode"]["enum"] == ["NORMAL", "RESET", "VALIDATE"]

    # prefect.utilities.schema_tools.validate is what the server runs on a UI/API run request.
    validate({"stream": BCFINSG, "process_date": "2024-03-01", "mode": "RESET"}, schema, raise_on_error=True)
    for bad in ({"stream": "NO_SUCH_STREAM"}, {"stream": BCFINSG, "mode": "REPLAY"},
                {"stream": BCFINSG, "batch_id": "two words"}):
        with pytest.raises(ValidationError):
            validate(bad, schema, raise_on_error=True)
    # The form's own check (the UI's validate endpoint runs it with a format checker) says what is wrong in
    # words; a request through the API is refused by the flow's parameter check, before any stage.
    [message] = [error.message for error in validate({"stream": BCFINSG, "process_date": "03/01/2024"}, schema)]
    assert message == "'03/01/2024' is not a 'date'"
    with pytest.raises(ParameterTypeError, match=r"'03/01/2024' is not a date of the form YYYY-MM-DD \(e.g. 2024-"):
        stream_load.validate_parameters({"stream": BCFINSG, "process_date": "03/01/2024"})


def test_python_callers_still_pass_any_stream_and_the_enum_follows_dcf_streams_dir(tmp_path, monkeypatch):
    """Tests run other streams through the same flow: the dropdown is a schema hint, not a Python constraint."""
    checked = stream_load.validate_parameters({"stream": "GENERAL_LEDGER_LOAD", "process_date": "2024-03-01",
                                               "mode": "RESET"})
    assert checked["process_date"] == date(2024, 3, 1) and checked["mode"] is RunMode.RESET

    streams = tmp_path / "streams"
    streams.mkdir()
    shutil.copy(BCFINSG_YAML, streams / "bcfinsg.yaml")
    shutil.copy(LEDGER_YAML, streams / "ledger.yaml")
    monkeypatch.setenv("DCF_STREAMS_DIR", str(streams))
    enum = parameter_schema(stream_load).model_dump_for_openapi()["properties"]["stream"]["enum"]
    assert sorted(enum) == [BCFINSG, "GENERAL_LEDGER_LOAD"]


def test_the_automation_runs_reconcile_for_the_crashed_or_cancelled_stream_run():
    reconcile_id = uuid4()
    automation = reconcile_automation(reconcile_id)
    trigger = automation.trigger
    assert trigger.expect == {"prefect.flow-run.Crashed", "prefect.flow-run.Cancelled"}
    assert trigger.match_related.root == {"prefect.resource.role": "flow", "prefect.resource.name": "stream-load"}
    assert trigger.match.root["prefect.run-count"] == "!0"  # a run refused by CANCEL_NEW never started
    [action] = automation.actions
    assert action.deployment_id == reconcile_id
    assert set(action.parameters) == {"stream", "warehouse_block"}
    assert all("flow_run.parameters" in value for value in action.parameters.values())


def test_dbt_snowflake_env_comes_from_the_blocks_and_the_blocks_from_the_same_names():
    environ = {"SNOWFLAKE_ACCOUNT": "xy12345.eu-west-1", "SNOWFLAKE_USER": "DCF_SVC", "SNOWFLAKE_PASSWORD": "s3cret",
               "SNOWFLAKE_ROLE": "DCF_LOADER", "SNOWFLAKE_WAREHOUSE": "DCF_WH", "SNOWFLAKE_DATABASE": "GDW1",
               "SNOWFLAKE_SCHEMA": "CORE", "UNRELATED": "x"}
    credentials = SnowflakeCredentials(**fields_from_env(environ, "credentials"))
    connector = SnowflakeConnector(credentials=credentials, **fields_from_env(environ, "connector"))
    warehouse = DcfWarehouse(kind="snowflake", snowflake_connector=connector, control_database="DEV_PROVIDERPDM")

    expected = {k: v for k, v in environ.items() if k != "UNRELATED"}
    assert snowflake_env(warehouse) == expected
    assert snowflake_env(connector) == expected
    assert "s3cret" not in repr(credentials)  # a SecretStr in the block, clear text only in dbt's environment

    profiles = (PROJECT_ROOT / "dbt" / "gdw1" / "profiles.yml").read_text()
    snowflake_target = profiles[profiles.index("    snowflake:"):]
    assert [name for name in expected if f"env_var('{name}'" not in snowflake_target] == [], \
        "dbt's snowflake target reads every variable the dbt stage sets"


def test_ui_help_texts_render_as_written():
    """The Prefect UI renders parameter descriptions as HTML: ``<stream id>`` would disappear as a tag."""
    import re

    from prefect.utilities.callables import parameter_schema

    from flows.control_tables import control_tables
    from flows.model_costs import model_costs
    from flows.profile_tables import profile_tables
    from flows.reconcile import reconcile
    from flows.stream_load import stream_load

    for flow in (stream_load, control_tables, model_costs, profile_tables, reconcile):
        for name, prop in parameter_schema(flow.fn).properties.items():
            description = prop.get("description") or ""
            assert not re.search(r"<[A-Za-z/!]", description), f"{flow.name}.{name}: {description}"
    properties = parameter_schema(stream_load.fn).properties
    assert "1490_20240301" in properties["batch_id"]["description"] and "empty" in properties["batch_id"]["description"]
    # an optional parameter's description says what leaving it empty means
    assert all("empty" in properties[name]["description"].lower()
               for name in ("process_date", "batch_id", "warehouse_block", "parameters"))


@pytest.mark.parametrize("args", [{"password": "x"}, {"session_parameters": {"auth_token": "x"}}, {"pwd": "x"},
                                  {"private_key": "x"}])
def test_the_warehouse_block_refuses_secrets_in_its_free_form_connect_args(args):
    from pydantic import ValidationError

    from blocks.warehouse import DcfWarehouse

    with pytest.raises(ValidationError, match="secrets do not belong in clear text"):
        DcfWarehouse(kind="snowflake", snowflake_connect_args=args)
    assert DcfWarehouse(kind="snowflake", snowflake_connect_args={"host": "h", "port": 443}).snowflake_connect_args
