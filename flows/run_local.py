"""``make run``: the BCFINSG stream end to end on the embedded default, then a short summary.

1. picks the process date (``--process-date``, else the day after the last loaded one, else 2024-03-01),
2. generates that day's synthetic landing file under DCF_HOME,
3. creates/upgrades the control tables,
4. runs the stream flow (on the Prefect server in PREFECT_API_URL, else an ephemeral one),
5. prints stages, rows loaded, the quality split and where to look next.
"""

from __future__ import annotations

import atexit
import os
import sys

from dcf.paths import dcf_home

# Prefect keeps its state under DCF_HOME too, unless the user points it elsewhere.
os.environ.setdefault("PREFECT_HOME", str(dcf_home() / "prefect"))
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

import argparse
from datetime import date, timedelta

from blocks.warehouse import load_warehouse
from dcf.demo.summary import last_loaded_date, summary_lines
from dcf.demo.synthetic_landing import generate_landing_file
from dcf.errors import DcfError
from dcf.paths import resolve_under_home
from dcf.stream.definition import find_stream_file, load_named_stream

FIRST_DATE = date(2024, 3, 1)
DEFAULT_STREAM = "BCFINSG_PLAN_BALN_SEGM_LOAD"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.splitlines()[0])
    parser.add_argument("--stream", default=DEFAULT_STREAM)
    parser.add_argument("--process-date", type=date.fromisoformat)
    parser.add_argument("--rows", type=int, default=5000, help="records in the generated landing file")
    parser.add_argument("--bad-day", action="store_true", help="generate a day whose average quality is < 70")
    parser.add_argument("--mode", choices=["NORMAL", "RESET", "VALIDATE"], default="NORMAL",
                        help="NORMAL resumes a failed run of the date; RESET starts over; VALIDATE checks and plans")
    args = parser.parse_args(argv)
    if args.mode == "VALIDATE":
        return _validate(args.stream)

    from flows.control_tables import control_tables
    from flows.stream_load import stream_load

    try:
        stream = load_named_stream(args.stream)
        warehouse = load_warehouse(stream.config.warehouse_block)
        control_tables.fn(warehouse_block=stream.config.warehouse_block)
        with warehouse.connect() as conn:
            last = last_loaded_date(conn, stream.config.stream.id)
        process_date = args.process_date or (last + timedelta(days=1) if last else FIRST_DATE)
        # Synthetic landing files exist for the demo stream only; any other stream runs on what is there.
        landing = stream.config.source.landing if stream.config.source else None
        if landing and stream.name == DEFAULT_STREAM:
            path = generate_landing_file(process_date, resolve_under_home(landing.directory), rows=args.rows,
                                         bad_day=args.bad_day)
            print(f"landing file: {path}")
    except DcfError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    print(f"running stream {stream.name} for {process_date} ...", flush=True)
    state = stream_load(stream=stream.name, process_date=process_date, mode=args.mode, return_state=True)
    with warehouse.connect() as conn:
        for line in summary_lines(conn, stream.config.stream.id, process_date, warehouse, state):
            print(line)
    return 0 if state.is_completed() else 1


def _validate(stream: str) -> int:
    """MODE=VALIDATE: the plan, or each problem on its own line; nothing is generated or written."""
    from flows.stream_load import stream_load

    try:
        find_stream_file(stream)
    except DcfError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    state = stream_load(stream=stream, mode="VALIDATE", return_state=True)
    print(state.message, file=sys.stdout if state.is_completed() else sys.stderr)
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The exit handlers still run: Prefect sends its buffered logs and events and stops the ephemeral
    # server it started (skipping them left one orphan server process per run), and multiprocessing
    # releases dbt's semaphores. Interpreter teardown is skipped: DuckDB's bindings print a reference-leak
    # report there that would bury the summary.
    atexit._run_exitfuncs()
    os._exit(code)
