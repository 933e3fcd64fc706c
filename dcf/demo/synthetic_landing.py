"""Deterministic synthetic landing files for the BCFINSG plan-balance-segment stream.

The DataStage job ``SQ60BCFINSGLdPlnBalSegMstr`` loads one CSV landing file per
business day.  This module writes a realistic stand-in for that file so the
flows and the ``dbt/gdw1`` project can run locally without production data.

* The population of accounts / plans / segments is fixed (it does not depend on
  the date or the seed), so the same natural keys arrive every day with
  drifting balances and an incremental fact keyed on
  (ACCT_NUM, PLAN_ID, PLAN_SEGM_ID, process date) grows day by day.
* A normal day carries ~5-8 % bad records (null mandatory fields, negative
  balances, unknown codes, invalid dates, duplicated natural keys, ...).
  ``bad_day=True`` corrupts most records several times over, which pushes the
  average data-quality score computed by ``int_bcfinsg_validated`` to ~50-60.
* The reference code lists below are exactly the dbt seeds in
  ``dbt/gdw1/seeds``; anything outside them is an "unknown code".

Same date + same arguments -> byte-identical file.

Usage::

    from datetime import date
    from pathlib import Path
    from dcf.demo.synthetic_landing import generate_landing_file

    path = generate_landing_file(date(2024, 3, 1), Path("landing"), rows=5000)

    # or from the shell:
    #   uv run python -m dcf.synthetic --date 2024-03-01 --out landing --rows 5000
    #   uv run python -m dcf.synthetic --date 2024-03-02 --out landing --bad-day
"""

from __future__ import annotations

import calendar
import csv
import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

FILE_PREFIX = "BCFINSG_PLAN_BALN_SEGM_"

# Header of the landing file, in file order (the raw table keeps these names).
COLUMNS: tuple[str, ...] = (
    "RECORD_ID",
    "ACCT_NUM",
    "PLAN_ID",
    "PLAN_SEGM_ID",
    "PLAN_TYPE_CD",
    "SEGM_TYPE_CD",
    "CURR_CD",
    "PLAN_BALN_AMT",
    "PRIN_BALN_AMT",
    "INTR_BALN_AMT",
    "FEE_BALN_AMT",
    "INTR_RATE_PCT",
    "PLAN_OPEN_DT",
    "PLAN_EXPR_DT",
    "LAST_STMT_DT",
    "SEGM_STATUS_CD",
)

# Reference code lists: code -> description.  Must match the dbt seeds exactly.
PLAN_TYPES: dict[str, str] = {
    "RTL": "Retail purchase plan",
    "CSH": "Cash advance plan",
    "BTR": "Balance transfer plan",
    "INS": "Instalment payment plan",
    "PRM": "Promotional purchase plan",
    "LON": "Personal loan plan",
}
SEGM_TYPES: dict[str, str] = {
    "CTD": "Cycle-to-date segment",
    "BLD": "Billed, not yet due segment",
    "DUE": "Due segment",
    "PDU": "Past due segment",
}
CURRENCIES: dict[str, str] = {
    "SGD": "Singapore dollar",
    "USD": "United States dollar",
    "MYR": "Malaysian ringgit",
    "HKD": "Hong Kong dollar",
    "EUR": "Euro",
    "GBP": "Pound sterling",
    "AUD": "Australian dollar",
    "CNY": "Chinese yuan renminbi",
}
SEGM_STATUSES: dict[str, str] = {
    "A": "Active",
    "D": "Dormant",
    "F": "Frozen",
    "C": "Closed",
    "W": "Written off",
}

# Codes that are deliberately NOT in the seeds (bad records only).
UNKNOWN_CODES: dict[str, tuple[str, ...]] = {
    "PLAN_TYPE_CD": ("XXX", "RT1", "ZZZ"),
    "SEGM_TYPE_CD": ("UNK", "X99"),
    "CURR_CD": ("SGX", "702", "US$"),
    "SEGM_STATUS_CD": ("X", "Z", "9"),
}

# The population does not depend on the date or seed: same accounts every day.
POPULATION_SEED = 1490
# Every plan opens before this date (and is still running on it); use process dates from here on,
# otherwise the "open date after process date" rule flags clean records.
POPULATION_ANCHOR = date(2024, 1, 1)
BAD_SHARE_NORMAL = 0.065
BAD_SHARE_BAD_DAY = 0.95

Record = dict[str, str]


def default_seed(process_date: date) -> int:
    """Seed used when none is given: derived from the date, so each day differs."""
    return process_date.toordinal()


def landing_file_name(process_date: date) -> str:
    return f"{FILE_PREFIX}{process_date:%Y%m%d}.csv"


def _money(cents: int) -> str:
    """Cents -> '1234.56' without going through floats."""
    return str(Decimal(cents).scaleb(-2))


def _rate(basis_points: int) -> str:
    """Basis points -> percent with 2 decimals, e.g. 2688 -> '26.88'."""
    return str(Decimal(basis_points).scaleb(-2))


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _last_statement_date(process_date: date, cycle_day: int) -> date:
    """Most recent statement cycle day strictly before the process date."""
    candidate = process_date.replace(day=cycle_day)
    return candidate if candidate < process_date else _add_months(candidate, -1)


# Typical annual rate (basis points range) and term in months per plan type.
_PLAN_TERMS: dict[str, tuple[tuple[int, int], int]] = {
    "RTL": ((2488, 2688), 120),
    "CSH": ((2688, 2898), 120),
    "BTR": ((0, 800), 12),
    "INS": ((0, 1200), 36),
    "PRM": ((0, 0), 6),
    "LON": ((500, 1500), 60),
}


def _population(rows: int) -> list[Record]:
    """Stable segment-level attributes; balances are filled in per day."""
    rng = random.Random(POPULATION_SEED)
    segments: list[Record] = []
    account_no = 0
    while len(segments) < rows:
        account_no += 1
        acct_num = f"4{account_no:015d}"
        currency = rng.choices(list(CURRENCIES), weights=[70, 12, 5, 4, 3, 2, 2, 2])[0]
        cycle_day = rng.randint(1, 28)
        for plan_seq in range(1, rng.randint(1, 3) + 1):
            plan_type = rng.choices(list(PLAN_TYPES), weights=[40, 10, 10, 20, 10, 10])[0]
            (rate_lo, rate_hi), term = _PLAN_TERMS[plan_type]
            # Opened so that the plan is still running at POPULATION_ANCHOR.
            opened = POPULATION_ANCHOR - timedelta(days=rng.randint(30, term * 30 - 30))
            rate_bp = rng.randint(rate_lo, rate_hi)
            for segm_seq in range(1, rng.randint(1, 3) + 1):
                segments.append(
                    {
                        "ACCT_NUM": acct_num,
                        "PLAN_ID": str(account_no * 10 + plan_seq),
                        "PLAN_SEGM_ID": str(segm_seq),
                        "PLAN_TYPE_CD": plan_type,
                        "SEGM_TYPE_CD": list(SEGM_TYPES)[segm_seq - 1],
                        "CURR_CD": currency,
                        "PLAN_OPEN_DT": opened.isoformat(),
                        "PLAN_EXPR_DT": _add_months(opened, term).isoformat(),
                        "SEGM_STATUS_CD": rng.choices(list(SEGM_STATUSES), weights=[85, 6, 3, 4, 2])[0],
                        "_rate_bp": str(rate_bp),
                        "_base_cents": str(rng.randint(5_000, 2_500_000)),
                        "_cycle_day": str(cycle_day),
                    }
                )
    return segments[:rows]


def _daily_record(segment: Record, seq: int, process_date: date, rng: random.Random) -> Record:
    """A clean record for one segment on one day: balances drift around the base."""
    principal = int(segment["_base_cents"]) * rng.randint(960, 1060) // 1000
    rate_bp = int(segment["_rate_bp"])
    interest = principal * rate_bp // 120_000  # one month of interest
    fee = rng.choice((0, 0, 0, 0, 2_500, 5_000, 10_000))
    record = {key: value for key, value in segment.items() if not key.startswith("_")}
    record.update(
        RECORD_ID=f"{process_date:%Y%m%d}{seq:07d}",
        PLAN_BALN_AMT=_money(principal + interest + fee),
        PRIN_BALN_AMT=_money(principal),
        INTR_BALN_AMT=_money(interest),
        FEE_BALN_AMT=_money(fee),
        INTR_RATE_PCT=_rate(rate_bp),
        LAST_STMT_DT=_last_statement_date(process_date, int(segment["_cycle_day"])).isoformat(),
    )
    return record


# --- defects: each mutates one record in place ------------------------------------------------


def _is_amount(text: str) -> bool:
    """True when an earlier defect has not already blanked / garbled the amount."""
    return text.strip() not in ("", "N/A")


def _null_mandatory(rec: Record, rng: random.Random, _earlier: list[Record]) -> None:
    column = rng.choice(("ACCT_NUM", "PLAN_ID", "PLAN_SEGM_ID", "PLAN_TYPE_CD", "CURR_CD", "PLAN_BALN_AMT"))
    # Blank, whitespace-only, or a placeholder that does not cast: all count as missing.
    rec[column] = rng.choice(("", "  ", "N/A"))


def _negative_balance(rec: Record, rng: random.Random, _earlier: list[Record]) -> None:
    # A credit principal; the total moves with it so only the sign rule fails, not reconciliation.
    principal = Decimal(rec["PRIN_BALN_AMT"])
    rec["PRIN_BALN_AMT"] = str(-principal)
    if _is_amount(rec["PLAN_BALN_AMT"]):
        rec["PLAN_BALN_AMT"] = str(Decimal(rec["PLAN_BALN_AMT"]) - 2 * principal)


def _unknown_code(rec: Record, rng: random.Random, _earlier: list[Record]) -> None:
    column = rng.choice(list(UNKNOWN_CODES))
    rec[column] = rng.choice(UNKNOWN_CODES[column])


def _invalid_date(rec: Record, rng: random.Random, _earlier: list[Record]) -> None:
    column = rng.choice(("PLAN_OPEN_DT", "PLAN_EXPR_DT"))
    rec[column] = rng.choice(("2023-02-30", "31/12/2023", "99999999", "N/A", ""))


def _expiry_before_open(rec: Record, rng: random.Random, _earlier: list[Record]) -> None:
    rec["PLAN_OPEN_DT"], rec["PLAN_EXPR_DT"] = rec["PLAN_EXPR_DT"], rec["PLAN_OPEN_DT"]
    if rec["PLAN_OPEN_DT"] == rec["PLAN_EXPR_DT"]:
        rec["PLAN_EXPR_DT"] = "2000-01-01"


def _rate_out_of_range(rec: Record, rng: random.Random, _earlier: list[Record]) -> None:
    rec["INTR_RATE_PCT"] = rng.choice(("250.00", "-1.50", "999.99"))


def _balance_mismatch(rec: Record, rng: random.Random, _earlier: list[Record]) -> None:
    if _is_amount(rec["PLAN_BALN_AMT"]):
        rec["PLAN_BALN_AMT"] = str(Decimal(rec["PLAN_BALN_AMT"]) + Decimal(rng.randint(1, 99_999)).scaleb(-2))


def _duplicate_key(rec: Record, rng: random.Random, earlier: list[Record]) -> None:
    """Reuse the natural key of an earlier record (the first occurrence wins downstream)."""
    if earlier:
        source = rng.choice(earlier)
        for column in ("ACCT_NUM", "PLAN_ID", "PLAN_SEGM_ID"):
            rec[column] = source[column]


Defect = Callable[[Record, random.Random, list[Record]], None]
DEFECTS: tuple[Defect, ...] = (
    _null_mandatory,
    _negative_balance,
    _unknown_code,
    _invalid_date,
    _expiry_before_open,
    _rate_out_of_range,
    _balance_mismatch,
    _duplicate_key,
)


def _apply_defects(rec: Record, rng: random.Random, earlier: list[Record], bad_day: bool) -> None:
    # Bad day = a corrupted extract: several independent defects on most records.
    count = rng.randint(4, 5) if bad_day else (2 if rng.random() < 0.2 else 1)
    for defect in rng.sample(DEFECTS, count):
        defect(rec, rng, earlier)


def generate_records(
    process_date: date, *, rows: int = 5000, seed: int | None = None, bad_day: bool = False
) -> list[Record]:
    """All records of one day's landing file, in file order."""
    day_seed = default_seed(process_date) if seed is None else seed
    # Separate streams: the clean balances of a day do not depend on which records get defects.
    balance_rng = random.Random(day_seed)
    defect_rng = random.Random(day_seed + 7_919)
    bad_share = BAD_SHARE_BAD_DAY if bad_day else BAD_SHARE_NORMAL
    records: list[Record] = []
    for seq, segment in enumerate(_population(rows), start=1):
        record = _daily_record(segment, seq, process_date, balance_rng)
        if defect_rng.random() < bad_share:
            _apply_defects(record, defect_rng, records, bad_day)
        records.append(record)
    return records


def generate_landing_file(
    process_date: date,
    directory: Path,
    *,
    rows: int = 5000,
    seed: int | None = None,
    bad_day: bool = False,
) -> Path:
    """Write ``BCFINSG_PLAN_BALN_SEGM_<YYYYMMDD>.csv`` into ``directory`` and return its path."""
    if rows < 1:
        raise ValueError("rows must be >= 1")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / landing_file_name(process_date)
    records = generate_records(process_date, rows=rows, seed=seed, bad_day=bad_day)
    # newline="" + explicit lineterminator: identical bytes on every platform.
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return path
