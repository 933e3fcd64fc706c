"""What a parallel-run comparison compares: two relations, the key, the columns, options and thresholds.

    compare:
      legacy: LEGACY.ACCOUNT_BALANCE          # a relation ([database.]schema.table)
      new: fct_account_balance                # or a dbt model the stream built (resolved to its relation)
      key: [ACCOUNT_ID]
      columns: [BALANCE, STATUS]              # default: every column both sides have (renames applied)
      rename: {BAL_AMT: BALANCE}              # legacy column -> new column
      ignore: [LOAD_TS]
      legacy_filter: "BUSINESS_DATE = #process_date#"
      tolerance: {absolute: 0.005, relative: 0.0}
      trim: true                              # strings compared without surrounding blanks
      ignore_case: false
      max_mismatch_rate: 0.0                  # above: the activity fails (MISMATCH)
      max_missing: 0                          # rows only on one side; above: fails
      on_mismatch: fail                       # or warn: end with warnings instead of failing

Names are plain identifiers (checked here); the filters are SQL conditions parsed with sqlglot (no
subqueries, no statements), whose ``#process_date#`` is a bound parameter.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt, PositiveInt, field_validator

from dcf.store.dialect import identifier


class Tolerance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Numbers closer than this are "within tolerance" (counted apart, not a mismatch).
    absolute: NonNegativeFloat = 0.0
    #: Or closer than this share of the legacy value.
    relative: NonNegativeFloat = 0.0


class CompareSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    legacy: str = Field(description="the legacy relation, [database.]schema.table, or a dbt model name")
    new: str = Field(description="the migrated relation, [database.]schema.table, or a dbt model name")
    key: list[str] = Field(min_length=1, description="the columns that identify a row on both sides")
    columns: list[str] | None = Field(None, description="columns to compare; default: every common column")
    rename: dict[str, str] = Field({}, description="legacy column -> its name on the new side")
    ignore: list[str] = []
    legacy_filter: str | None = Field(None, description="SQL condition on the legacy side; may use #process_date#")
    new_filter: str | None = Field(None, description="SQL condition on the new side; may use #process_date#")
    tolerance: Tolerance = Tolerance()
    trim: bool = False
    ignore_case: bool = False
    max_mismatch_rate: NonNegativeFloat = 0.0
    max_missing: NonNegativeInt = 0
    on_mismatch: Literal["fail", "warn"] = "fail"
    #: Keys and values kept per kind of difference and column, for the report and COMPARE_COLUMNS.
    sample_size: PositiveInt = 5

    @field_validator("key", "ignore", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [identifier(name, what="column") for name in value]
        return value

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [identifier(name, what="column") for name in value]

    @field_validator("rename")
    @classmethod
    def _renames(cls, value: dict[str, str]) -> dict[str, str]:
        return {identifier(k, what="column"): identifier(v, what="column") for k, v in value.items()}

    @field_validator("legacy", "new")
    @classmethod
    def _relation(cls, value: str) -> str:
        parts = value.split(".")
        if not 1 <= len(parts) <= 3:
            raise ValueError(f"{value!r}: a relation is [database.]schema.table, or a dbt model name")
        return ".".join(identifier(part, what="relation name part") for part in parts)
