"""Landing files are checked before they touch the raw table: header, encoding, field count, quoting.

Each hostile file is written by hand and loaded through the same function ingest uses, on DuckDB (its own CSV
reader, rejects table) and on the Snowflake path (fakesnow: records checked in Python, then PUT + COPY INTO).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from dcf.store.stage_rows import InstanceRef
from dcf.stream.landing import LandingRejected, discover, load_file
from dcf.stream.settings import LandingFiles

pytestmark = pytest.mark.unit
DAY = date(2024, 3, 1)
COLUMNS = ["ACCT", "AMT", "NOTE"]
GOOD = b'ACCT,AMT,NOTE\n1,10,plain\n2,20,"with, comma"\n3,30,x\n'
#: what a raw table must keep as it is: quotes and the delimiter in quotes, backslashes, \N; empty is NULL
AWKWARD = b'ACCT,AMT,NOTE\n1,10,"say ""hi"", then go"\n2,20,C:\\temp\\new\n3,30,\\N\n4,,\n'
REF = InstanceRef(strm_id=1, strm_name="S", prcs_inst_id=7, process_date=DAY, batch_id="1_20240301")


@pytest.fixture(params=["duckdb_conn", "fakesnow_conn"])
def conn(request):
    conn = request.getfixturevalue(request.param)
    if conn.namespace.database:  # the raw table's RAW schema goes into the session's database, as in a stream
        conn.execute(f"USE DATABASE {conn.namespace.database}")
    return conn


def _land(tmp_path: Path, content: bytes):
    folder = tmp_path / "dcf-home" / "landing"  # DCF_HOME is tmp_path/dcf-home (tests/conftest.py)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "F_20240301.csv").write_bytes(content)
    [file] = discover(LandingFiles(directory="landing", glob="F_{process_date:%Y%m%d}.csv"), DAY)
    return file


def _raw_rows(conn) -> int | None:
    try:
        return int(conn.scalar("SELECT COUNT(*) FROM RAW.T"))
    except Exception:
        return None  # the raw table was never created


def test_a_good_file_loads_and_a_wrong_first_delivery_never_shapes_the_raw_table(conn, tmp_path):
    wrong = _land(tmp_path, b"COL0,COL1\n1,2\n")
    with pytest.raises(LandingRejected) as refused:
        load_file(conn, "RAW.T", wrong, REF, columns=COLUMNS)
    assert str(refused.value) == ("landing file F_20240301.csv: line 1: the header differs from source.columns: "
                                  "missing ['ACCT', 'AMT', 'NOTE'], extra ['COL0', 'COL1']")
    assert _raw_rows(conn) is None, "nothing written: not even the raw table"

    loaded = load_file(conn, "RAW.T", _land(tmp_path, GOOD), REF, columns=COLUMNS)
    assert (loaded.rows, loaded.rejected) == (3, [])
    assert conn.scalar("SELECT NOTE FROM RAW.T WHERE ACCT = '2'") == "with, comma"
    rows = conn.fetch_dicts("SELECT ACCT, SRC_ROW_NUM, SRC_FILE_NAME, PRCS_INST_ID, PRCS_DATE, ODS_BATCH_ID "
                            "FROM RAW.T ORDER BY SRC_ROW_NUM")
    assert [(r["ACCT"], r["SRC_ROW_NUM"]) for r in rows] == [("1", 1), ("2", 2), ("3", 3)]
    assert {(r["SRC_FILE_NAME"], r["PRCS_INST_ID"], r["PRCS_DATE"], r["ODS_BATCH_ID"]) for r in rows} == {
        ("F_20240301.csv", 7, DAY, "1_20240301")}
    again = load_file(conn, "RAW.T", _land(tmp_path, GOOD), REF, columns=COLUMNS)
    assert again.rows == 3 and _raw_rows(conn) == 3, "a re-delivery replaces the file's rows"


def test_awkward_values_arrive_as_they_were_written(conn, tmp_path):
    loaded = load_file(conn, "RAW.T", _land(tmp_path, AWKWARD), REF, columns=COLUMNS)
    assert loaded.rows == 4
    values = {r["ACCT"]: (r["AMT"], r["NOTE"]) for r in conn.fetch_dicts("SELECT ACCT, AMT, NOTE FROM RAW.T")}
    assert values == {"1": ("10", 'say "hi", then go'), "2": ("20", "C:\\temp\\new"), "3": ("30", "\\N"),
                      "4": (None, None)}


def test_the_statements_of_a_load_do_not_grow_with_the_file(conn, tmp_path):
    """The engine bulk-loads the file (DuckDB's reader; Snowflake's PUT + COPY INTO), not row batches."""
    small = load_file(conn, "RAW.T", _land(tmp_path, GOOD), REF, columns=COLUMNS)
    before = conn.statements
    load_file(conn, "RAW.T", _land(tmp_path, GOOD), REF, columns=COLUMNS)
    per_small_load = conn.statements - before
    big = b"ACCT,AMT,NOTE\n" + b"".join(b"%d,%d,row %d\n" % (i, i * 10, i) for i in range(20_000))
    before = conn.statements
    loaded = load_file(conn, "RAW.T", _land(tmp_path, big), REF, columns=COLUMNS)
    assert conn.statements - before == per_small_load
    assert (small.rows, loaded.rows) == (3, 20_000) and _raw_rows(conn) == 20_000


@pytest.mark.parametrize(("content", "message"), [
    (b'ACCT,AMT,NOTE\n1,10,ok\n2,"20,open quote\n3,30,x\n', "line 3: UNQUOTED VALUE"),
    (b"ACCT,AMT,NOTE\n1,10,ok\n2,20\n3,30,x,extra\n", "2 row(s) do not parse (landing.max_rejects 0); line 3: "
                                                     "MISSING COLUMNS"),
    (b"ACCT,AMT,NOTE\n1,10,ok\n2,20,caf\xe9\n", "line 3: INVALID ENCODING"),
    (b"ACCT,AMT,N\xd6TE\n1,10,ok\n", "line 1: not UTF-8 (byte 10)"),
    (b"ACCT,NOTE,AMT\n1,ok,10\n", "line 1: the header has source.columns in another order (ACCT, NOTE, AMT)"),
])
def test_a_hostile_file_is_refused_naming_file_and_line_and_writes_no_row(conn, tmp_path, content, message):
    load_file(conn, "RAW.T", _land(tmp_path, GOOD), REF, columns=COLUMNS)  # an earlier good delivery
    other_day = InstanceRef(strm_id=1, strm_name="S", prcs_inst_id=8, process_date=date(2024, 3, 2),
                            batch_id="1_20240302")
    with pytest.raises(LandingRejected) as refused:
        load_file(conn, "RAW.T", _land(tmp_path, content), other_day, columns=COLUMNS,
                  rejects_dir=tmp_path / "archive")
    text = str(refused.value)
    assert text.startswith("landing file F_20240301.csv") and message in text and "\n" not in text, text
    assert _raw_rows(conn) == 3, "the refused file added nothing and took nothing away"


def test_rejects_within_the_limit_load_the_rest_and_are_kept_with_their_line(conn, tmp_path):
    content = b"ACCT,AMT,NOTE\n1,10,ok\n2,20\n3,30,caf\xe9\n4,40,ok\n"
    loaded = load_file(conn, "RAW.T", _land(tmp_path, content), REF, columns=COLUMNS, max_rejects=2,
                       rejects_dir=tmp_path / "archive")
    assert loaded.rows == 2 and [r.line for r in loaded.rejected] == [3, 4]
    with loaded.rejects_file.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["file"], r["line"]) for r in rows] == [("F_20240301.csv", "3"), ("F_20240301.csv", "4")]
    assert rows[0]["reason"].startswith("MISSING COLUMNS") and rows[1]["reason"].startswith("INVALID ENCODING")
    assert loaded.rejects_file.parent == tmp_path / "archive"
