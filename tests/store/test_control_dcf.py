"""Process-instance allocation, resume and reset behave the same on DuckDB and Snowflake (fakesnow)."""

from __future__ import annotations

from datetime import date

import pytest

from dcf.errors import RefusedError
from dcf.store.clock import utcnow
from dcf.store.instances import InstanceClaim, allocate_instance, close_instance, instance_row
from dcf.store.migrate import ensure_schema
from dcf.store.schema import DCF_T_STRM
from dcf.store.statuses import InstanceStatus

DAY = date(2024, 3, 1)


def _register(conn, strm_id: int) -> None:
    now = utcnow()
    conn.merge(DCF_T_STRM, [{"STRM_ID": strm_id, "STRM_NAME": f"S{strm_id}", "STRM_DESC": None,
                             "STRM_STATUS": "ACTIVE", "DATASTAGE_SEQUENCE": None, "CONFIG_PATH": "-",
                             "CONFIG_HASH": "-", "CREATED_TS": now, "UPDATED_TS": now}])


def _allocate(conn, flow_run: str | None, *, reset: bool = False):
    return allocate_instance(conn, InstanceClaim(strm_id=7, strm_name="S7", process_date=DAY, batch_id="7_20240301",
                                                 flow_run_id=flow_run), reset=reset)


@pytest.mark.parametrize("conn_fixture", ["duckdb_conn", "fakesnow_conn"])
def test_allocate_refuse_resume_reset(conn_fixture, request):
    conn = request.getfixturevalue(conn_fixture)
    ensure_schema(conn)
    _register(conn, 7)

    first = _allocate(conn, "run-a")
    assert not first.resumed and instance_row(conn, first.prcs_inst_id)["PRCS_STATUS"] == "RUNNING"
    with pytest.raises(RefusedError, match="already has process instance"):
        _allocate(conn, "run-b")
    # `prefect flow-run retry` keeps the flow run id: the RUNNING instance is re-attached, not refused.
    assert _allocate(conn, "run-a") == first.__class__(first.prcs_inst_id, resumed=True)

    close_instance(conn, first.prcs_inst_id, InstanceStatus.FAILED, "boom")
    failed = instance_row(conn, first.prcs_inst_id)
    assert failed["PRCS_STATUS"] == "FAILED" and failed["ERROR_MESSAGE"] == "boom"
    assert failed["PRCS_END_TS"] is not None

    resumed = _allocate(conn, "run-c")
    assert (resumed.prcs_inst_id, resumed.resumed) == (first.prcs_inst_id, True)
    again = instance_row(conn, first.prcs_inst_id)
    assert (again["PRCS_STATUS"], again["FLOW_RUN_ID"], again["ERROR_MESSAGE"]) == ("RUNNING", "run-c", None)

    close_instance(conn, first.prcs_inst_id, InstanceStatus.CRASHED, "killed")
    fresh = _allocate(conn, "run-d", reset=True)
    assert fresh.prcs_inst_id != first.prcs_inst_id and not fresh.resumed
    assert instance_row(conn, first.prcs_inst_id)["PRCS_STATUS"] == "CANCELLED"


def test_an_ended_instance_is_not_reopened_by_a_late_update(duckdb_conn):
    ensure_schema(duckdb_conn)
    _register(duckdb_conn, 7)
    inst = _allocate(duckdb_conn, "run-a").prcs_inst_id
    close_instance(duckdb_conn, inst, InstanceStatus.SUCCEEDED)
    close_instance(duckdb_conn, inst, InstanceStatus.FAILED, "late hook")
    assert instance_row(duckdb_conn, inst)["PRCS_STATUS"] == "SUCCEEDED"


@pytest.mark.parametrize("conn_fixture", ["duckdb_conn", "fakesnow_conn"])
def test_stage_rows_of_an_ended_instance_do_not_stay_running(conn_fixture, request):
    """A killed process wrote no stage end: closing its instance later closes the stage row too."""
    from dcf.store.instances import close_stages_of_ended_instances
    from dcf.store.stage_rows import InstanceRef, stage_rows, write_stage

    conn = request.getfixturevalue(conn_fixture)
    ensure_schema(conn)
    _register(conn, 7)
    live = _allocate(conn, "run-a").prcs_inst_id
    ref = InstanceRef(live, 7, "S7", DAY, "7_20240301")
    write_stage(conn, ref, "dbt_build", "RUNNING", task_run_id="t1")
    assert close_stages_of_ended_instances(conn) == 0, "a running instance keeps its running stage"

    close_instance(conn, live, InstanceStatus.CRASHED, "SIGKILL")
    assert close_stages_of_ended_instances(conn, reason="flow run ended Crashed") == 1
    row = stage_rows(conn, live)["dbt_build"]
    assert (row["PRCS_STATUS"], row["ERROR_MESSAGE"]) == ("FAILED", "closed: flow run ended Crashed")
    assert row["PRCS_END_TS"] is not None
    assert close_stages_of_ended_instances(conn) == 0
