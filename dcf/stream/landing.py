"""Landing files (GetFileList + bulk load): find the day's files and load them raw, idempotently.

Raw tables keep every CSV column as text (typing is the staging model's job) plus where each row came
from: SRC_FILE_NAME, SRC_ROW_NUM, PRCS_INST_ID, PRCS_DATE, ODS_BATCH_ID, INGEST_TS. Loading a file again
replaces that file's rows, so a re-run never duplicates raw data.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dcf.errors import RefusedError
from dcf.paths import resolve_under_home
from dcf.store.clock import utcnow
from dcf.store.connection import Connection
from dcf.store.dialect import identifier, relation_name
from dcf.store.stage_rows import InstanceRef
from dcf.stream.settings import LandingFiles

_META_COLUMNS = (
    ("SRC_FILE_NAME", "VARCHAR"), ("SRC_ROW_NUM", "BIGINT"), ("PRCS_INST_ID", "BIGINT"),
    ("PRCS_DATE", "DATE"), ("ODS_BATCH_ID", "VARCHAR"), ("INGEST_TS", "TIMESTAMP"),
)
_INSERT_CHUNK = 5000


@dataclass(frozen=True)
class LandingFile:
    name: str
    path: Path
    size: int
    sha256: str


def landing_directory(landing: LandingFiles) -> Path:
    return resolve_under_home(landing.directory)


def landing_paths(landing: LandingFiles, process_date: date) -> list[Path]:
    """The paths of a process date's landing files, sorted by name (no file is read)."""
    directory = landing_directory(landing)
    return [path for path in sorted(directory.glob(landing.pattern_for(process_date))) if path.is_file()]


def discover(landing: LandingFiles, process_date: date) -> list[LandingFile]:
    """The landing files of a process date, sorted by name, with size and SHA-256 (reads each file)."""
    return [_describe(path) for path in landing_paths(landing, process_date)]


def require_files(landing: LandingFiles, process_date: date) -> list[LandingFile]:
    files = discover(landing, process_date)
    if not files:
        raise RefusedError(missing_files_message(landing, process_date))
    return files


def missing_files_message(landing: LandingFiles, process_date: date) -> str:
    return (f"no landing file for {process_date}: nothing matches {landing.pattern_for(process_date)!r} "
            f"in {landing_directory(landing)}")


def _describe(path: Path) -> LandingFile:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return LandingFile(path.name, path, path.stat().st_size, digest.hexdigest())


def csv_header(path: Path, delimiter: str) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle, delimiter=delimiter), None)
    if not header:
        raise RefusedError(f"landing file {path.name} is empty (no header row)")
    return [identifier(name.strip(), what=f"column in {path.name}") for name in header]


def load_file(conn: Connection, relation: str, file: LandingFile, ref: InstanceRef, delimiter: str = ",") -> int:
    """Replace ``file``'s rows in the raw ``relation``; returns the number of data rows loaded."""
    relation = relation_name(relation, what="source.relation")
    columns = csv_header(file.path, delimiter)
    _ensure_raw_table(conn, relation, columns)
    meta = {"f": file.name, "inst": ref.prcs_inst_id, "d": ref.process_date, "batch": ref.batch_id, "now": utcnow()}
    with conn.transaction():
        conn.execute(f"DELETE FROM {relation} WHERE SRC_FILE_NAME = :f AND PRCS_DATE = :d", meta)
        if conn.dialect.reads_local_files:
            _insert_duckdb(conn, relation, columns, file, delimiter, meta)
        else:
            _insert_rows(conn, relation, columns, file, delimiter, meta)
        return int(conn.scalar(
            f"SELECT COUNT(*) FROM {relation} WHERE SRC_FILE_NAME = :f AND PRCS_DATE = :d", meta
        ))


def _ensure_raw_table(conn: Connection, relation: str, columns: list[str]) -> None:
    schema = relation.rsplit(".", 1)[0]
    if schema != relation:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    definitions = [f"{c} VARCHAR" for c in columns] + [f"{c} {t}" for c, t in _META_COLUMNS]
    conn.execute(f"CREATE TABLE IF NOT EXISTS {relation} ({', '.join(definitions)})")


def _insert_duckdb(conn: Connection, relation: str, columns: list[str], file: LandingFile, delimiter: str,
                   meta: dict) -> None:
    # DuckDB reads the file itself: orders of magnitude faster than row inserts.
    column_list = ", ".join(columns)
    conn.execute(
        f"INSERT INTO {relation} ({column_list}, SRC_FILE_NAME, SRC_ROW_NUM, PRCS_INST_ID, PRCS_DATE, ODS_BATCH_ID, "
        f"INGEST_TS) SELECT {column_list}, :f, ROW_NUMBER() OVER (), :inst, :d, :batch, :now "
        "FROM read_csv(:path, header = true, all_varchar = true, delim = :delim)",
        {**meta, "path": str(file.path), "delim": delimiter},
    )


def _insert_rows(conn: Connection, relation: str, columns: list[str], file: LandingFile, delimiter: str,
                 meta: dict) -> None:
    # Portable path (Snowflake): batched multi-row inserts. Large production files belong in a stage +
    # COPY INTO; this keeps the stream runnable end to end without one.
    names = [*columns, "SRC_FILE_NAME", "SRC_ROW_NUM", "PRCS_INST_ID", "PRCS_DATE", "ODS_BATCH_ID", "INGEST_TS"]
    params = [f"p{i}" for i in range(len(names))]
    sql = f"INSERT INTO {relation} ({', '.join(names)}) VALUES ({', '.join(':' + p for p in params)})"
    with file.path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader)
        batch: list[dict] = []
        for number, record in enumerate(reader, start=1):
            values = [*record, meta["f"], number, meta["inst"], meta["d"], meta["batch"], meta["now"]]
            batch.append(dict(zip(params, values, strict=True)))
            if len(batch) >= _INSERT_CHUNK:
                conn.executemany(sql, batch)
                batch = []
        conn.executemany(sql, batch)
