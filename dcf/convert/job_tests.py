"""Tests generated from the job: what DataStage enforced or declared, as dbt data tests tagged with the job.

* A target's key columns (the link's ``isKey``): ``not_null`` and ``unique`` (one key column) or ``unique`` of
  the columns together (several). Severity ``error`` where the table relies on them (an update-then-insert
  merges on them), ``warn`` where the job only declares them.
* A lookup whose failure action is fail: a singular test over the lookup's inputs, the primary rows no
  reference row matches. It reads only what the lookup reads (sources), so ``dbt build`` runs it first and, when
  it fails, skips the models of those sources: the target is not written, as the job would abort.

Reject links need no test of their own: a reject model's rows are counted in the execution log like any
model's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dcf.convert.parts import LookupCheck, Model


@dataclass
class SingularTest:
    name: str
    sql: str


def key_tests(model: Model) -> dict[str, Any] | None:
    """The ``schema.yml`` entry of ``model`` with its key tests; None when its target declares no key."""
    if not model.keys:
        return None
    config = {"config": {"severity": "error" if model.keys_enforced else "warn"}}
    columns = [{"name": key, "data_tests": [{"not_null": config}]} for key in model.keys]
    entry: dict[str, Any] = {"name": model.name, "columns": columns}
    if len(model.keys) == 1:
        columns[0]["data_tests"].append({"unique": config})
    else:
        together = ", '|', ".join(f"CAST({key} AS VARCHAR)" for key in model.keys)
        entry["data_tests"] = [{"unique": {"column_name": f"CONCAT({together})", **config}}]
    return entry


def unmatched_lookup_test(check: LookupCheck, ctes_sql: str, tag: str) -> SingularTest:
    """The primary rows of a fail-lookup that no reference row matches (``ctes_sql``: the CTEs of both
    inputs)."""
    sql = (f"{{{{ config(tags={[tag]!r}, severity='error') }}}}\n"
           f"-- lookup {check.stage}: failure action fail (DataStage aborts the job on a row without a match)\n"
           f"{ctes_sql}\nSELECT {check.primary}.* FROM {check.primary}\n"
           f"WHERE NOT EXISTS (SELECT 1 FROM {check.reference} WHERE {' AND '.join(check.conditions)})")
    return SingularTest(f"{check.stage.lower()}_unmatched", sql)
