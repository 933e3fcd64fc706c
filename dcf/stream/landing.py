"""Landing files (GetFileList + bulk load): find the day's files and load them raw, idempotently.

Raw tables keep every CSV column as text (typing is the staging model's job) plus where each row came
from: SRC_FILE_NAME, SRC_ROW_NUM, PRCS_INST_ID, PRCS_DATE, ODS_BATCH_ID, INGEST_TS. Loading a file again
replaces that file's rows, so a re-run never duplicates raw data. A file is checked before it touches the
raw table: its header against the stream's ``source.columns`` (which the raw table is created from), its
rows for encoding, field count and quoting; rejected rows go to ``<file>.rejects.csv`` with their line.

Each engine bulk-loads the file its own way: DuckDB reads it itself (``read_csv``); Snowflake gets it by PUT to
a stage and COPY INTO (:mod:`dcf.stream.snowflake_copy`).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dcf.errors import RefusedError
from dcf.paths import resolve_under_home
from dcf.store.clock import utcnow
from dcf.store.connection import Connection
from dcf.store.dialect import identifier, relation_name
from dcf.store.stage_rows import InstanceRef
from dcf.stream.csv_records import Reject
from dcf.stream.settings import LandingFiles
from dcf.stream.snowflake_copy import CopyRefused, drop_staged, insert_staged, stage_file

_META_COLUMNS = (
    ("SRC_FILE_NAME", "VARCHAR"), ("SRC_ROW_NUM", "BIGINT"), ("PRCS_INST_ID", "BIGINT"),
    ("PRCS_DATE", "DATE"), ("ODS_BATCH_ID", "VARCHAR"), ("INGEST_TS", "TIMESTAMP"),
)


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


class LandingRejected(RefusedError):
    """A landing file refused before (or instead of) touching the raw table: one line naming file and line."""


@dataclass(frozen=True)
class LoadedFile:
    rows: int
    rejected: list[Reject]
    #: ``<file>.rejects.csv`` beside the archive, when rows were rejected.
    rejects_file: Path | None = None


#: The first line is read as bytes, bounded: a header is a few hundred bytes.
_MAX_HEADER_BYTES = 1_000_000


def csv_header(path: Path, delimiter: str) -> list[str]:
    """The file's header row as identifiers; refused (file, line 1) when empty, not UTF-8 or not names."""
    with path.open("rb") as handle:
        raw = handle.readline(_MAX_HEADER_BYTES)
    try:
        line = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LandingRejected(f"landing file {path.name}: line 1: not UTF-8 (byte {error.start})") from None
    header = next(csv.reader([line], delimiter=delimiter), None)
    if not header:
        raise LandingRejected(f"landing file {path.name} is empty (no header row)")
    return [identifier(name.strip(), what=f"landing file {path.name}: line 1: column") for name in header]


def check_header(file_name: str, header: list[str], declared: list[str]) -> None:
    """A header that differs from the declared columns is refused, naming what is missing and extra."""
    if header == declared:
        return
    missing = [c for c in declared if c not in header]
    extra = [c for c in header if c not in declared]
    if missing or extra:
        raise LandingRejected(f"landing file {file_name}: line 1: the header differs from source.columns: "
                              f"missing {missing or 'none'}, extra {extra or 'none'}")
    raise LandingRejected(f"landing file {file_name}: line 1: the header has source.columns in another order "
                          f"({', '.join(header)})")


def load_file(conn: Connection, relation: str, file: LandingFile, ref: InstanceRef, delimiter: str = ",", *,
              columns: list[str] | None = None, max_rejects: int = 0, rejects_dir: Path | None = None) -> LoadedFile:
    """Replace ``file``'s rows in the raw ``relation``; rows that do not parse are rejected.

    The header is checked first (against ``columns`` when the stream declares them), then the rows are loaded
    in one transaction with the file's old rows deleted; more than ``max_rejects`` rejected rows roll it back,
    so a refused file changes nothing in the raw table. Rejected rows go to ``rejects_dir`` either way.
    """
    relation = relation_name(relation, what="source.relation")
    header = csv_header(file.path, delimiter)
    if columns:
        check_header(file.name, header, columns)
    columns = columns or header
    _ensure_raw_table(conn, relation, columns)
    meta = {"f": file.name, "inst": ref.prcs_inst_id, "d": ref.process_date, "batch": ref.batch_id, "now": utcnow()}
    # Snowflake copies the file into a temporary table first: its DDL would commit the transaction below.
    try:
        staged = None if conn.dialect.reads_local_files else stage_file(conn, columns, file.path, delimiter)
    except CopyRefused as refused:
        raise LandingRejected(f"landing file {file.name}: Snowflake's COPY INTO refused its checked records, "
                              f"nothing was loaded: {refused}") from None
    try:
        with conn.transaction():
            conn.execute(f"DELETE FROM {relation} WHERE SRC_FILE_NAME = :f AND PRCS_DATE = :d", meta)
            if staged is None:
                rejected = _insert_duckdb(conn, relation, columns, file, delimiter, meta)
            else:
                insert_staged(conn, staged, relation, meta)
                rejected = staged.rejected
            rejects_file = _write_rejects(rejects_dir, file, rejected)
            if len(rejected) > max_rejects:
                first = rejected[0]
                raise LandingRejected(
                    f"landing file {file.name}: {len(rejected)} row(s) do not parse (landing.max_rejects "
                    f"{max_rejects}); line {first.line}: {first.reason}; all of them in {rejects_file}")
            rows = int(conn.scalar(f"SELECT COUNT(*) FROM {relation} WHERE SRC_FILE_NAME = :f AND PRCS_DATE = :d",
                                   meta))
    finally:
        if staged is not None:
            # a temporary table ends with its session anyway: failing to drop it must not hide the load's error
            with contextlib.suppress(Exception):
                drop_staged(conn, staged)
    return LoadedFile(rows, rejected, rejects_file)


def _write_rejects(folder: Path | None, file: LandingFile, rejected: list[Reject]) -> Path | None:
    if not rejected or folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{file.name}.rejects.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "line", "reason", "record"])
        writer.writerows([file.name, r.line, r.reason, r.text] for r in rejected)
    return path


def _ensure_raw_table(conn: Connection, relation: str, columns: list[str]) -> None:
    schema = relation.rsplit(".", 1)[0]
    if schema != relation:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    definitions = [f"{c} VARCHAR" for c in columns] + [f"{c} {t}" for c, t in _META_COLUMNS]
    conn.execute(f"CREATE TABLE IF NOT EXISTS {relation} ({', '.join(definitions)})")


def _insert_duckdb(conn: Connection, relation: str, columns: list[str], file: LandingFile, delimiter: str,
                   meta: dict) -> list[Reject]:
    # DuckDB reads the file itself: orders of magnitude faster than row inserts. Nothing is sniffed (a broken
    # file must not change how the good ones are read): the columns are given, rows that do not parse go to
    # DuckDB's rejects table with their line and reason.
    column_list = ", ".join(columns)
    types = ", ".join(f"'{c}': 'VARCHAR'" for c in columns)  # identifiers, checked
    rejects = f"DCF_REJECTS_{uuid.uuid4().hex[:12].upper()}"
    conn.execute(
        f"INSERT INTO {relation} ({column_list}, SRC_FILE_NAME, SRC_ROW_NUM, PRCS_INST_ID, PRCS_DATE, ODS_BATCH_ID, "
        f"INGEST_TS) SELECT {column_list}, :f, ROW_NUMBER() OVER (), :inst, :d, :batch, :now "
        f"FROM read_csv(:path, header = true, auto_detect = false, delim = :delim, quote = '\"', escape = '\"', "
        f"columns = {{{types}}}, store_rejects = true, rejects_table = '{rejects}', "
        f"rejects_scan = '{rejects}_SCAN')",
        {**meta, "path": str(file.path), "delim": delimiter},
    )
    found = conn.fetch_dicts(f"SELECT line, error_type, error_message, csv_line FROM {rejects} ORDER BY line")
    conn.execute(f"DROP TABLE IF EXISTS {rejects}")
    conn.execute(f"DROP TABLE IF EXISTS {rejects}_SCAN")
    return [Reject(int(r["LINE"]), f"{r['ERROR_TYPE']}: {r['ERROR_MESSAGE']}", (r["CSV_LINE"] or "")[:500])
            for r in found]
