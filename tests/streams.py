"""Helpers for stream-flow tests: private copies of stream YAMLs and dbt projects, landing files, queries."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from dcf.demo.synthetic_landing import generate_landing_file
from dcf.paths import PROJECT_ROOT, dcf_home, warehouse_path
from dcf.store.connection import open_duckdb
from dcf.store.dialect import Namespace

BCFINSG_YAML = PROJECT_ROOT / "configs" / "streams" / "bcfinsg_plan_baln_segm_load.yaml"
BCFINSG = "BCFINSG_PLAN_BALN_SEGM_LOAD"
#: How a good BCFINSG day ends: the synthetic landing files hold bad records on purpose (the quality model
#: scores and routes them), so its warn-severity dbt tests warn every day and the run finishes with warnings.
BCFINSG_GOOD_DAY = "COMPLETED_WITH_WARNINGS"
#: The BCFINSG stream's stages (its YAML lists a table to profile, so the optional profile stage runs).
STAGES = ["validate", "process_id", "ingest", "dbt_build", "profile", "metadata", "lifecycle", "report"]
#: Each stage's status on a good BCFINSG day: the build finishes with warnings (see BCFINSG_GOOD_DAY).
BCFINSG_GOOD_STAGES = {**dict.fromkeys(STAGES, "COMPLETED"), "dbt_build": "COMPLETED_WITH_WARNINGS"}


def private_bcfinsg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *,
                    edit: Callable[[dict], None] | None = None) -> Path:
    """A copy of dbt/gdw1 and of the BCFINSG stream YAML pointing at it; DCF_STREAMS_DIR points at the copy."""
    project = tmp_path / "gdw1"
    shutil.copytree(PROJECT_ROOT / "dbt" / "gdw1", project, ignore=shutil.ignore_patterns("target", "logs"))
    data = yaml.safe_load(BCFINSG_YAML.read_text())
    data["dbt"]["project_dir"] = data["dbt"]["profiles_dir"] = str(project)
    if edit:
        edit(data)
    streams = tmp_path / "streams"
    streams.mkdir(exist_ok=True)
    (streams / "bcfinsg.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv("DCF_STREAMS_DIR", str(streams))
    return project


def land(process_date: date, *, rows: int = 1500, bad_day: bool = False) -> Path:
    return generate_landing_file(process_date, dcf_home() / "landing" / "bcfinsg", rows=rows, bad_day=bad_day)


def query(sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with open_duckdb(warehouse_path(), Namespace("DCF")) as conn:
        return conn.fetch_dicts(sql, params)


def scalar(sql: str, params: dict[str, Any] | None = None) -> Any:
    rows = query(sql, params)
    return next(iter(rows[0].values())) if rows else None


def fact_table() -> str:
    return "main.fct_plan_baln_segm_mstr"


def break_fact_model(project: Path, broken: bool) -> None:
    """Break the fact model of a private BCFINSG copy (a relation that does not exist), or mend it."""
    model = project / "models" / "marts" / "core" / "fct_plan_baln_segm_mstr.sql"
    original = project / "fct.sql.orig"
    if broken:
        sql = model.read_text()
        original.write_text(sql)
        assert "from {{ ref(" in sql, "the break needs the model's FROM clause"
        model.write_text(sql.replace("from {{ ref(", "from no_such_relation_x, {{ ref(", 1))
    else:
        model.write_text(original.read_text())
