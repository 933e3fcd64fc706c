"""A lookup whose failure action is reject: the corpus's PX_FCT_TRANSACTION with its currency lookup switched
from drop to reject and a reject link added to a sequential file. Built by dbt on DuckDB over the corpus's
rows: the target still holds the key's rows (reject, like drop, keeps unmatched rows out of the output), and
the reject model holds exactly the joined rows whose account currency is not an active currency — computed
here from the input CSVs, not by the converter."""

from __future__ import annotations

import copy
import csv
import dataclasses

import duckdb
import pytest

from dcf.convert.job import convert_job
from dcf.datastage.px_graph import PxLink, PxPin, PxStage
from tests.convert.corpus_rows import build_converted, expected_csv, key_rows, warehouse_text
from tests.datastage.corpus import PARALLEL, parallel_key, parallel_parameters

pytestmark = pytest.mark.dbt
JOB = "PX_FCT_TRANSACTION"


def _with_reject_link(job):
    job = copy.deepcopy(job)
    graph = job.graph
    lookup = graph.stage("LKP_CURRENCY")
    [reference] = [link for link in graph.inputs(lookup.name) if link.link_type == "Reference"]
    lookup.pins[reference.target_pin].attributes["lookupFail"] = "reject"
    lookup.output_pins.append("V0S20P9")
    lookup.pins["V0S20P9"] = PxPin("V0S20P9")
    record_format = {"SchemaFormat": "final_delim=end, delim=',', quote=double, null_field=''"}
    graph.stages["SEQ_REJ_CCY"] = PxStage("SEQ_REJ_CCY", "PxSequentialFile", "V0S90", input_pins=["V0S90P1"],
                                          pins={"V0S90P1": PxPin("V0S90P1", metadata=record_format)})
    primary = graph.link("lnk_txn_acct")
    columns = [dataclasses.replace(c, derivation=None, source_column=f"lnk_txn_acct.{c.name}") for c in primary.columns]
    graph.links.append(PxLink("lnk_ccy_rej", "Reject", "LKP_CURRENCY", "SEQ_REJ_CCY", "V0S20P9", "V0S90P1",
                              columns=columns, properties_in={
                                  "file": "\x02\x020\x01\x03file\x02#PM_REJECT_DIR#/CCY_REJ.txt\x020",
                                  "append\\overwrite": "overwrite", "firstLineColumnNames": "firstLineColumnNames"}))
    return job


def _csv(name: str) -> list[dict[str, str]]:
    with (PARALLEL / "data" / JOB / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _unmatched_from_the_inputs() -> list[tuple[str, ...]]:
    """Transactions up to the run date joined to their account, whose currency no active currency row has."""
    accounts = {row["ACCOUNT_ID"]: row for row in _csv("ACCOUNT.csv")}
    active = {row["CURRENCY_CODE"] for row in _csv("CURRENCY.csv") if row["ACTIVE_FLAG"] == "Y"}
    rows = []
    for txn in _csv("TRANSACTIONS.csv"):
        account = accounts.get(txn["ACCOUNT_ID"])
        if account and txn["TXN_DATE"] <= parallel_parameters()["PM_RUN_DATE"] \
                and account["CURRENCY_CODE"] not in active:
            rows.append((txn["TXN_ID"], txn["ACCOUNT_ID"], txn["TXN_DATE"], txn["AMOUNT"] or None,
                         account["CURRENCY_CODE"], account["BRANCH_CODE"]))
    return sorted(rows, key=str)


def test_a_reject_lookup_sends_unmatched_rows_to_the_reject_model(jobs, tmp_path) -> None:
    job = _with_reject_link(jobs[JOB])
    conversion = convert_job(job)
    assert {m.name for m in conversion.models} == {"fct_account_daily", "seq_rej_ccy"}
    unmatched = _unmatched_from_the_inputs()
    assert unmatched, "the corpus has transactions in a currency the reference lacks"
    _project, database, result = build_converted(tmp_path, job, conversion)
    assert result.success, result.exception
    with duckdb.connect(str(database)) as conn:
        rejected = conn.execute("SELECT TXN_ID, ACCOUNT_ID, TXN_DATE, AMOUNT, CURRENCY_CODE, BRANCH_CODE "
                                "FROM main.seq_rej_ccy").fetchall()
        daily = conn.execute("SELECT * FROM main.fct_account_daily").fetchall()
    assert sorted((tuple(warehouse_text(v) for v in row) for row in rejected), key=str) == unmatched
    assert sorted(key_rows(tmp_path / "files" / "CCY_REJ.txt"), key=str) == unmatched  # the reject file
    [target] = parallel_key()[JOB]["targets"]
    assert sorted((tuple(warehouse_text(v) for v in row) for row in daily), key=str) == \
        sorted(key_rows(expected_csv(JOB, target)), key=str)
