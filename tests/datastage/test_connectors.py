"""Connector stages read from their XMLProperties: every Oracle target of the corpus as the answer key describes
it (table, write mode, table action, Before/After SQL as exported, the PL/SQL of a housekeeping job)."""

from __future__ import annotations

import pytest

from dcf.datastage.connectors import read_connector
from dcf.datastage.containers import read_export
from dcf.datastage.model import DsJob
from tests.datastage.corpus import PARALLEL, parallel_key, parallel_parameter_sets

pytestmark = pytest.mark.unit
#: The key's words for the write modes and table actions (its text before " (WriteMode n)").
WRITE_MODES = {"Insert": "insert", "Update then insert": "update_then_insert", "Bulk load": "bulk_load",
               "PL/SQL": "plsql"}


@pytest.fixture(scope="module")
def jobs() -> dict[str, DsJob]:
    return {job.name: job for job in read_export(PARALLEL / "DEMO_DWH_parallel.isx") if isinstance(job, DsJob)}


def _key_targets():
    return [(job, target) for job, key in parallel_key().items() for target in key["targets"]
            if target["write_mode"].split(" (")[0] in WRITE_MODES]


@pytest.mark.parametrize(("job", "target"), _key_targets(), ids=[f"{j}-{t['stage']}" for j, t in _key_targets()])
def test_each_database_target_is_read_as_the_key_describes_it(jobs, job, target):
    connector = read_connector(jobs[job].graph.stage(target["stage"]))
    assert connector is not None and connector.context == "target"
    substituted = connector.table
    for name, value in parallel_parameter_sets().items():
        substituted = substituted and substituted.replace(f"#{name}#", value)
    assert substituted == target["table"]
    assert connector.write_mode == WRITE_MODES[target["write_mode"].split(" (")[0]]
    assert connector.table_action == target["table_action"].split(" (")[0].lower()
    if connector.write_mode == "plsql":  # a housekeeping job: the work is its Before/After SQL
        assert connector.plsql == target["plsql_per_row"]
    assert (connector.before_sql, connector.after_sql) == (target["before_sql_as_exported"],
                                                           target["after_sql_as_exported"])


def test_sources_say_whether_the_sql_is_generated_or_the_users(jobs):
    graph = jobs["PX_DIM_CUSTOMER_SCD"].graph
    generated, user = read_connector(graph.stage("ORA_SRC_STG_CUSTOMER")), read_connector(
        graph.stage("ORA_REF_DIM_CURRENT"))
    assert (generated.generate_sql, generated.table) == (True, "#PS_DWH.SCHEMA#.STG_CUSTOMER")
    assert not user.generate_sql and user.select.startswith("SELECT CUSTOMER_ID, CUSTOMER_SK")
    assert read_connector(graph.stage("LKP_DIM_CURRENT")) is None  # not a connector
    netezza = read_connector(jobs["PX_NZ_EXPORT"].graph.stage("NZ_SRC_BALANCES"))
    assert (netezza.kind, netezza.context) == ("netezza", "source") and "#PS_NZ." in netezza.select
