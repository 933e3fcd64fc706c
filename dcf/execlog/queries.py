"""The hierarchical spec's example queries over PROCESS_EXECUTION_LOG: written once for Snowflake, rendered for DuckDB.

``sql/queries/snowflake/<name>.sql`` is the source (``col:path::type``, ``LATERAL FLATTEN``, session variables
``$job_id`` / ``$model_name`` — run it in a worksheet after ``SET job_id = 'JOB_...';``).
``sql/queries/duckdb/<name>.sql`` is generated from it (``->>``/``->``, ``json_each``, ``getvariable('job_id')``
— run it in the DuckDB CLI after ``SET VARIABLE job_id = 'JOB_...';``)::

    uv run python -m dcf.execlog.queries --write     # regenerate the DuckDB files (a test checks they are current)

From Python, against either control store::

    rows = run_query(conn, "job_models", job_id="JOB_<invocation_id>")
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from dcf.paths import PROJECT_ROOT
from dcf.store.connection import Connection
from dcf.store.dialect import Dialect, snowflake_json_sql_for_duckdb
from dcf.store.schema import PROCESS_EXECUTION_LOG

QUERY_DIR = PROJECT_ROOT / "sql" / "queries"
QUERIES = ("job_models", "job_summary", "model_lineage", "model_timeline", "failed_models", "job_with_models")

_TABLE = re.compile(rf"\b{PROCESS_EXECUTION_LOG.name}\b")


def snowflake_sql(name: str) -> str:
    return (QUERY_DIR / "snowflake" / f"{name}.sql").read_text()


def render_duckdb(sql: str, name: str = "") -> str:
    """The DuckDB file of one of our Snowflake queries, with the header that says where it came from."""
    body = snowflake_json_sql_for_duckdb(sql)
    return f"-- Generated from ../snowflake/{name}.sql by `python -m dcf.execlog.queries --write`; do not edit.\n{body}"


def query_sql(name: str, dialect: Dialect) -> str:
    if name not in QUERIES:
        raise KeyError(f"unknown query {name!r}; known: {', '.join(QUERIES)}")
    return (QUERY_DIR / dialect.value / f"{name}.sql").read_text()


def run_query(conn: Connection, name: str, **params: Any) -> list[dict[str, Any]]:
    """Run a shipped query (the file as shipped, variables bound as parameters) on the connection's table."""
    sql = _TABLE.sub(conn.qualify(PROCESS_EXECUTION_LOG.name), query_sql(name, conn.dialect))
    variable = conn.dialect.session_variables()
    needed = set(variable.findall(sql))
    if missing := needed - params.keys():
        raise KeyError(f"query {name} needs {', '.join(sorted(missing))}")
    sql = variable.sub(r":\1", sql)
    return conn.fetch_dicts(sql.strip().rstrip(";"), {k: v for k, v in params.items() if k in needed})


def stale_renderings() -> list[str]:
    """DuckDB files that differ from what the Snowflake sources render to."""
    return [name for name in QUERIES
            if not (QUERY_DIR / "duckdb" / f"{name}.sql").exists()
            or query_sql(name, Dialect.DUCKDB) != render_duckdb(snowflake_sql(name), name)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dcf.execlog.queries", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="regenerate sql/queries/duckdb from the Snowflake files")
    args = parser.parse_args(argv)
    if args.write:
        (QUERY_DIR / "duckdb").mkdir(parents=True, exist_ok=True)
        for name in QUERIES:
            (QUERY_DIR / "duckdb" / f"{name}.sql").write_text(render_duckdb(snowflake_sql(name), name))
        print(f"wrote {len(QUERIES)} DuckDB renderings to {QUERY_DIR / 'duckdb'}")
        return 0
    stale = stale_renderings()
    print("stale: " + ", ".join(stale) if stale else "DuckDB renderings are current")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
