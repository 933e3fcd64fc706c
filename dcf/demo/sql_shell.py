"""``make sql`` / ``python -m dcf.demo.sql_shell``: an SQL shell on the local warehouse, from the locked duckdb.

    make sql                                   # interactive: statements end with ';', \\q or Ctrl-D leaves
    make sql SQL="SELECT * FROM DCF_T_PRCS_INST"
    make sql < statements.sql
    make sql SQL="SET VARIABLE job_id = 'JOB_<invocation_id>'; \\i sql/queries/duckdb/job_summary.sql"

The control tables' schema ``DCF`` is the default schema, so the shipped queries run as they are; the
warehouse's own tables are ``main.<table>``. ``SET VARIABLE job_id = 'JOB_...';`` sets what the shipped
queries read with ``getvariable('job_id')``. It waits (bounded) while a run holds the file, like every
other entry point, and never writes unless you do.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from dcf.errors import DcfError
from dcf.paths import warehouse_path
from dcf.store.connection import open_duckdb
from dcf.store.dialect import Namespace

MAX_ROWS = 200


def statements(lines: Iterable[str]) -> list[str]:
    """The statements of an input, split by DuckDB's own parser; a line ``\\i FILE`` reads FILE in its place."""
    text = "".join(_expand(lines))
    import duckdb

    parsed = [statement.query.strip().rstrip(";").strip() for statement in duckdb.extract_statements(text)]
    return [statement for statement in parsed if statement]


def _expand(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        if line.strip().startswith("\\i "):
            path = Path(line.strip()[3:].strip())
            yield path.read_text(encoding="utf-8") + "\n"
        else:
            yield line if line.endswith("\n") else line + "\n"


def render(columns: list[str], rows: list[tuple], *, limit: int = MAX_ROWS) -> str:
    """Rows as an aligned text table, at most ``limit`` of them."""
    shown = [["NULL" if v is None else str(v) for v in row] for row in rows[:limit]]
    widths = [max([len(c), *(len(r[i]) for r in shown)]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in shown]
    more = f" (first {limit} shown)" if len(rows) > limit else ""
    return "\n".join([*lines, f"({len(rows)} row{'s' if len(rows) != 1 else ''}{more})"])


def run(sql: Iterable[str], out: TextIO, *, database: Path | None = None) -> int:
    """Run each statement, print its result; returns how many failed (an error never ends the session)."""
    failures = 0
    with open_duckdb(database or warehouse_path(), Namespace("DCF")) as conn:
        conn.execute("SET schema = 'DCF'")
        for statement in sql:
            try:
                cursor = conn.raw.execute(statement)
                if cursor.description:
                    out.write(render([d[0] for d in cursor.description], cursor.fetchall()) + "\n")
            except Exception as error:  # one bad statement: say it, carry on
                failures += 1
                out.write(f"error: {str(error).splitlines()[0]}\n")
    return failures


def _interactive() -> Iterator[str]:
    buffer: list[str] = []
    while True:
        try:
            line = input("dcf> " if not buffer else "...> ")
        except EOFError:
            return
        if line.strip() in ("\\q", "quit", "exit") and not buffer:
            return
        buffer.append(line)
        if line.rstrip().endswith(";") or line.strip().startswith("\\i "):
            yield from statements(buffer)
            buffer = []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make sql", description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--command", help="run these statements and leave")
    parser.add_argument("--database", type=Path, help="DuckDB file (default: $DCF_HOME/warehouse.duckdb)")
    args = parser.parse_args(argv)
    database = args.database or warehouse_path()
    if not database.exists():
        print(f"error: no warehouse at {database} yet: `make run` creates it", file=sys.stderr)
        return 2
    if args.command:
        source: Iterable[str] = statements(args.command.replace("\\i ", "\n\\i ").splitlines(keepends=True))
    elif sys.stdin.isatty():
        print(f"{database} (schema DCF; the warehouse's tables are main.<table>). End statements with ';', \\q leaves.")
        source = _interactive()
    else:
        source = statements(sys.stdin)
    try:
        return 1 if run(source, sys.stdout, database=database) else 0
    except DcfError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
