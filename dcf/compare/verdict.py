"""COMPARE_RUNS and COMPARE_COLUMNS: the only code that writes them, and what a comparison's outcome is.

    outcome = judge(result, spec)                      # COMPLETED / COMPLETED_WITH_WARNINGS / FAILED, and why
    record(conn, "42:compare_bal", result, spec, outcome, CompareContext(stream="X", prcs_inst_id=42, ...))

Every write is a MERGE on the key: repeating a comparison (a restart, a re-run) replaces its rows, never
duplicates them.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date

from dcf.compare.comparison import MATCH, CompareResult, compare_relations
from dcf.compare.spec import CompareSpec
from dcf.store.clock import utcnow
from dcf.store.connection import Connection
from dcf.store.schema import COMPARE_COLUMNS, COMPARE_RUNS
from dcf.store.statuses import StageStatus


@dataclass(frozen=True)
class CompareContext:
    """Where a comparison ran: a stream's activity, or ad hoc (all None)."""

    stream: str | None = None
    prcs_inst_id: int | None = None
    activity: str | None = None
    process_date: date | None = None


@dataclass(frozen=True)
class Judgement:
    status: StageStatus
    why: str


def judge(result: CompareResult, spec: CompareSpec) -> Judgement:
    """MATCH ends OK; a MISMATCH within ``max_mismatch_rate`` and ``max_missing`` ends with warnings; beyond
    them it fails (or warns, with ``on_mismatch: warn``)."""
    summary = (f"{result.verdict}: {result.rows_legacy} legacy / {result.rows_new} new rows, "
               f"{result.only_legacy} only in legacy, {result.only_new} only in new, "
               f"{result.dup_rows_legacy + result.dup_rows_new} with a duplicate key, "
               f"{result.differing} of {result.matched} differing ({result.mismatch_rate:.4%})")
    if result.verdict == MATCH:
        return Judgement(StageStatus.COMPLETED, summary)
    beyond = [f"{result.mismatch_rate:.4%} differing > max_mismatch_rate {spec.max_mismatch_rate:.4%}"
              ] * (result.mismatch_rate > spec.max_mismatch_rate)
    beyond += [f"{result.missing} missing > max_missing {spec.max_missing}"] * (result.missing > spec.max_missing)
    if result.dup_rows_legacy or result.dup_rows_new:
        beyond.append("duplicate keys")
    if not beyond or spec.on_mismatch == "warn":
        why = "; ".join(beyond) or "within thresholds"
        return Judgement(StageStatus.COMPLETED_WITH_WARNINGS, f"{summary}; {why}")
    return Judgement(StageStatus.FAILED, summary + "; " + "; ".join(beyond))


def record(conn: Connection, compare_id: str, result: CompareResult, spec: CompareSpec, outcome: Judgement,
           context: CompareContext) -> None:
    """Write the comparison's COMPARE_RUNS row and one COMPARE_COLUMNS row per compared column, atomically."""
    run = {
        "COMPARE_ID": compare_id, "STRM_NAME": context.stream, "PRCS_INST_ID": context.prcs_inst_id,
        "ACTIVITY_NAME": context.activity, "PROCESS_DATE": context.process_date,
        "LEGACY_RELATION": result.legacy, "NEW_RELATION": result.new, "LEGACY_FILTER": spec.legacy_filter,
        "NEW_FILTER": spec.new_filter, "KEY_COLUMNS": ",".join(result.key), "ROWS_LEGACY": result.rows_legacy,
        "ROWS_NEW": result.rows_new, "FINGERPRINT_LEGACY": result.fingerprint_legacy,
        "FINGERPRINT_NEW": result.fingerprint_new, "DECIDED_BY": result.decided_by,
        "ONLY_LEGACY": result.only_legacy, "ONLY_NEW": result.only_new, "DUP_ROWS_LEGACY": result.dup_rows_legacy,
        "DUP_ROWS_NEW": result.dup_rows_new, "MATCHED_ROWS": result.matched, "DIFFERING_ROWS": result.differing,
        "VERDICT": result.verdict, "OUTCOME": outcome.status.value, "SAMPLES": _json(result.samples),
        "STATEMENTS": ",".join(result.statements), "DURATION_S": round(result.duration_s, 3), "CREATED_AT": utcnow(),
    }
    columns = [{"COMPARE_ID": compare_id, "COLUMN_NAME": c.legacy, "NEW_COLUMN_NAME": c.new,
                "VALUE_MISMATCHES": c.value, "NULL_MISMATCHES": c.null, "WITHIN_TOLERANCE": c.tolerated,
                "SAMPLES": _json(c.samples)} for c in result.columns]
    # fakesnow's Snowflake cannot MERGE inside a transaction: there each statement is atomic on its own, and
    # the run row written last says the columns are complete
    with conn.transaction() if conn.dialect.merge_in_transaction else nullcontext():
        conn.execute(f"DELETE FROM {conn.qualify(COMPARE_COLUMNS.name)} WHERE COMPARE_ID = :id", {"id": compare_id})
        conn.insert(COMPARE_COLUMNS, columns)
        conn.merge(COMPARE_RUNS, [run])


def _json(value: list) -> list | None:
    """A sample as JSON (values as text: the warehouse's decimals and dates read the same on both sides)."""
    return json.loads(json.dumps(value, default=str)) if value else None


def compare_and_record(conn: Connection, spec: CompareSpec, compare_id: str, context: CompareContext, *,
                       legacy: str, new: str) -> tuple[CompareResult, Judgement]:
    """Compare, judge and record in one go (the compare activity and the compare-tables flow both do this)."""
    result = compare_relations(conn, spec, legacy=legacy, new=new, process_date=context.process_date)
    judgement = judge(result, spec)
    record(conn, compare_id, result, spec, judgement, context)
    return result, judgement
