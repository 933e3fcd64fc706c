"""Snowflake's bulk path for a landing file: PUT to a stage, COPY INTO, then one INSERT into the raw table.

    staged = stage_file(conn, columns, file.path, ",")          # before the raw table's transaction (DDL commits)
    with conn.transaction():
        conn.execute("DELETE ...")                              # the file's earlier rows
        insert_staged(conn, staged, relation, meta)
    drop_staged(conn, staged)

The records are checked on the way out as DuckDB's reader checks them (:mod:`dcf.stream.csv_records`) while a
numbered, gzip'd copy of those that parse is written; that copy goes PUT to the stage of a temporary table
(the connector uploads it, compressed, in parallel chunks) and COPY INTO loads it there, with
``ON_ERROR = ABORT_STATEMENT``: whatever Snowflake still refuses refuses the whole file, so the raw table
never holds part of one. The INSERT ... SELECT then adds the run's columns as bound values: the warehouse does
the bulk work, and the number of statements does not grow with the file (batched INSERTs sent one 5,000-row
statement after another). A temporary table is its session's: a crashed load leaves nothing behind.
"""

from __future__ import annotations

import csv
import gzip
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dcf.store.connection import Connection
from dcf.stream.csv_records import Reject, checked_records

#: How Snowflake reads the staged copy: the records as DuckDB's reader gives them. Quoted fields may hold the
#: delimiter, quotes (doubled) and line breaks; a backslash is a character, not an escape; an empty field is NULL
#: and no other value is (Snowflake's default would also read ``\N`` as NULL).
_CSV_FORMAT = ("TYPE = CSV FIELD_DELIMITER = ',' FIELD_OPTIONALLY_ENCLOSED_BY = '\"' ESCAPE_UNENCLOSED_FIELD = NONE "
               "NULL_IF = () COMPRESSION = GZIP")


class CopyRefused(Exception):
    """COPY INTO refused the checked records (``ON_ERROR = ABORT_STATEMENT``); the message is Snowflake's."""


@dataclass(frozen=True)
class StagedFile:
    #: the temporary table the file was copied into (session's current schema)
    table: str
    columns: list[str]
    rows: int
    rejected: list[Reject]


def stage_file(conn: Connection, columns: list[str], path: Path, delimiter: str) -> StagedFile:
    """Check ``path``'s records and COPY those that parse into a new temporary table (see the module doc)."""
    table = f"DCF_LOAD_{uuid.uuid4().hex[:12].upper()}"
    rejected: list[Reject] = []
    rows = 0
    with tempfile.TemporaryDirectory(prefix="dcf-put-") as folder:
        staged = Path(folder) / "records.csv.gz"
        with gzip.open(staged, "wt", compresslevel=1, encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            for number, record in checked_records(path, columns, delimiter, rejected):
                writer.writerow([number, *record])
                rows = number
        definitions = ", ".join(["SRC_ROW_NUM BIGINT", *(f"{column} VARCHAR" for column in columns)])
        conn.execute(f"CREATE TEMPORARY TABLE {table} ({definitions})")
        conn.execute(f"PUT 'file://{staged.as_posix()}' @%{table} AUTO_COMPRESS = FALSE SOURCE_COMPRESSION = GZIP "
                     "OVERWRITE = TRUE")
        if rows:
            try:
                conn.execute(f"COPY INTO {table} FROM @%{table} FILE_FORMAT = ({_CSV_FORMAT}) "
                             "ON_ERROR = ABORT_STATEMENT")
            except Exception as error:  # the driver's own error type: Snowflake's message says what it refused
                text = " ".join(str(error).split()) or type(error).__name__
                raise CopyRefused(text[:500]) from error
    return StagedFile(table, columns, rows, sorted(rejected, key=lambda reject: reject.line))


def insert_staged(conn: Connection, staged: StagedFile, relation: str, meta: dict[str, Any]) -> None:
    """Add the staged records to the raw ``relation`` with the run's columns (``meta``: f, inst, d, batch, now)."""
    column_list = ", ".join(staged.columns)
    conn.execute(
        f"INSERT INTO {relation} ({column_list}, SRC_FILE_NAME, SRC_ROW_NUM, PRCS_INST_ID, PRCS_DATE, ODS_BATCH_ID, "
        f"INGEST_TS) SELECT {column_list}, :f, SRC_ROW_NUM, :inst, :d, :batch, :now FROM {staged.table}", meta)


def drop_staged(conn: Connection, staged: StagedFile) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {staged.table}")
