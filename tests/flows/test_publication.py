"""A day becomes visible only when its checks pass: duplicate lines are rejects, a failed check takes the day out."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.streams import BCFINSG, BCFINSG_GOOD_DAY, fact_table, land, private_bcfinsg, query, scalar

pytestmark = pytest.mark.e2e
DAY = date(2024, 3, 1)


def _run(**params):
    from flows.stream_load import stream_load

    return stream_load(stream=BCFINSG, process_date=DAY, return_state=True, **params)


def _without_profile(data: dict) -> None:
    data.pop("profiling", None)


def _fact_rows_of_the_day() -> int:
    return scalar(f"SELECT COUNT(*) FROM {fact_table()} WHERE process_date = :d", {"d": DAY})


def _ready_records() -> int:
    return scalar("SELECT COUNT(*) FROM main.int_bcfinsg_validated WHERE final_processing_status = 'READY_FOR_LOADING'")


def test_a_delivery_with_every_line_twice_loads_each_key_once_and_reports_the_duplicates(
        prefect_api, tmp_path, monkeypatch):
    private_bcfinsg(tmp_path, monkeypatch, edit=_without_profile)
    path = land(DAY)
    header, *lines = path.read_text().splitlines()
    path.write_text("\n".join([header, *lines, *lines]) + "\n")

    state = _run()

    assert state.is_completed(), state.message
    fact = query(f"SELECT COUNT(*) AS N, COUNT(DISTINCT plan_baln_segm_sk) AS K FROM {fact_table()}")[0]
    ready = _ready_records()
    assert fact["N"] == fact["K"] == ready > 0
    duplicates = scalar("SELECT COUNT(*) FROM main.int_bcfinsg_validated "
                        "WHERE rejection_reason = 'DUPLICATE_NATURAL_KEY'")
    assert duplicates >= len(lines) * 0.9, "every repeated line with a whole key is a duplicate-key reject"
    [completion] = query("SELECT NOTIFICATION_CONTENT FROM DCF.DCF_T_NOTIFICATIONS")
    report = json.loads(completion["NOTIFICATION_CONTENT"])
    assert report["quality_metrics"]["rejected_records_by_reason"]["DUPLICATE_NATURAL_KEY"] == duplicates
    assert report["load_summary"]["records_loaded_successfully"] == ready


def test_a_day_whose_target_check_fails_after_the_load_is_taken_out_and_the_resume_publishes_it(
        prefect_api, tmp_path, monkeypatch):
    project = private_bcfinsg(tmp_path, monkeypatch, edit=_without_profile)
    land(DAY)
    # A check of the fact that fails whenever the day has rows: it runs after the fact was written.
    check = project / "tests" / "assert_fact_day_is_empty.sql"
    check.write_text("select * from {{ ref('fct_plan_baln_segm_mstr') }}\n"
                     "where process_date = cast('{{ var(\"run_stream_process_date\") }}' as date)\n")

    failed = _run()

    assert failed.is_failed()
    [instance] = query("SELECT PRCS_STATUS, ERROR_MESSAGE FROM DCF.DCF_T_PRCS_INST")
    assert instance["PRCS_STATUS"] == "FAILED"
    assert "assert_fact_day_is_empty" in instance["ERROR_MESSAGE"]
    assert "rows were taken back out of fct_plan_baln_segm_mstr (not published)" in instance["ERROR_MESSAGE"]
    assert _fact_rows_of_the_day() == 0, "no reader sees a day whose checks failed"

    check.unlink()
    resumed = _run()

    assert resumed.is_completed(), resumed.message
    [again] = query("SELECT PRCS_INST_ID, PRCS_STATUS FROM DCF.DCF_T_PRCS_INST")
    assert again["PRCS_STATUS"] == BCFINSG_GOOD_DAY
    assert _fact_rows_of_the_day() == _ready_records() > 0
