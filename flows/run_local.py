"""``make run``: the BCFINSG stream end to end on the embedded default, then a short summary.

1. finds the Prefect API (PREFECT_API_URL, else a server answering on 127.0.0.1:4200, else a temporary one
   started first thing, so it boots while the rest of this list runs),
2. picks the process date (``--process-date``, else the day after the last loaded one, else 2024-03-01),
3. generates that day's synthetic landing file under DCF_HOME,
4. creates/upgrades the control tables and imports dbt (and Great Expectations when the stream profiles),
5. runs the stream flow once the API answers,
6. prints stages, rows loaded, the quality split, where to look next and where the time went.
"""

from __future__ import annotations

import gc
import time

STARTED = time.monotonic()
# Setup imports Prefect, dbt and Great Expectations: some 420,000 objects the collector tracks, all living as
# long as the process. It would walk them again and again while they are made (measured: 1.1 s of collections
# during setup), so it is off until they are all made, and then they are frozen out of its sight (_setup_done).
gc.disable()

import importlib  # noqa: E402 (the clock starts before any import)
import os  # noqa: E402
import sys  # noqa: E402

from dcf.paths import dcf_home  # noqa: E402

# Prefect keeps its state under DCF_HOME too, unless the user points it elsewhere.
os.environ.setdefault("PREFECT_HOME", str(dcf_home() / "prefect"))
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
# Nor Prefect's SDK telemetry: without a network its exit flush waits seconds for nothing (as dbt's is off above).
os.environ.setdefault("DO_NOT_TRACK", "1")

import argparse  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from runtime.local_api import LocalApi  # noqa: E402 (stdlib only: it starts the server before the heavy imports)
from runtime.process_exit import run_exit_handlers  # noqa: E402

FIRST_DATE = date(2024, 3, 1)
DEFAULT_STREAM = "BCFINSG_PLAN_BALN_SEGM_LOAD"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.splitlines()[0])
    parser.add_argument("--stream", default=DEFAULT_STREAM)
    parser.add_argument("--process-date", type=date.fromisoformat)
    parser.add_argument("--rows", type=int, default=5000, help="records in the generated landing file")
    parser.add_argument("--bad-day", action="store_true", help="generate a day whose average quality is < 70")
    parser.add_argument("--mode", choices=["NORMAL", "RESET", "VALIDATE"], default="NORMAL",
                        help="NORMAL resumes a failed run of the date; RESET starts over; VALIDATE checks and plans")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="with VALIDATE: a parameter value for the what-if plan (repeatable)")
    parser.add_argument("--assume", metavar="YAML", help="with VALIDATE: assumed outcomes, a YAML mapping (or a "
                        "file of one) of activity -> status 1/2/3, a list of them per run, or {reply, output, sets}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.mode == "VALIDATE" and (args.assume or args.param):
        return _what_if(args.stream, args.param, args.assume)
    api = LocalApi.acquire()
    print(api.describe(), flush=True)
    # Everything below imports while a temporary server boots in its own process.
    from blocks.default_warehouse import load_warehouse
    from dcf.demo.summary import last_loaded_date, summary_lines
    from dcf.demo.synthetic_landing import generate_landing_file
    from dcf.errors import DcfError
    from dcf.paths import resolve_under_home
    from dcf.stream.definition import load_named_stream
    from flows.control_tables import control_tables
    from flows.stream_load import stream_load

    if args.mode == "VALIDATE":
        return _validate(args.stream, api)

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
        _preload(profiles=bool(stream.config.profiling.tables))
    except DcfError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    _setup_done()
    set_up = time.monotonic()
    api.wait_ready()
    print(f"running stream {stream.name} for {process_date} ...", flush=True)
    state = stream_load(stream=stream.name, process_date=process_date, mode=args.mode, return_state=True)
    flow_done = time.monotonic()
    with warehouse.connect() as conn:
        for line in summary_lines(conn, stream.config.stream.id, process_date, warehouse, state,
                                  prefect_ui=None if api.origin == "temporary" else api.url):
            print(line)
    ready = api.started_at + (api.ready_after or 0.0)
    print(f"\ntime: setup {set_up - STARTED:.1f} s | Prefect API ready at {ready - STARTED:.1f} s "
          f"(waited {max(0.0, ready - set_up):.1f} s) | flow {flow_done - max(ready, set_up):.1f} s", flush=True)
    return 0 if state.is_completed() else 1


def _what_if(stream: str, parameters: list[str], assume: str | None) -> int:
    """VALIDATE with assumptions: the activities that would start, in order, and the final status; nothing
    runs, no server is needed."""
    import yaml

    from dcf.errors import DcfError
    from dcf.stream.definition import load_named_stream
    from dcf.stream.what_if import checked_assumptions, what_if

    try:
        config = load_named_stream(stream).config
        text = Path(assume).read_text(encoding="utf-8") if assume and Path(assume).is_file() else (assume or "{}")
        outcomes = yaml.safe_load(text) or {}
        if any("=" not in p for p in parameters):
            raise DcfError("--param is NAME=VALUE")
        assumptions = checked_assumptions(config, dict(p.split("=", 1) for p in parameters), outcomes)
    except (DcfError, yaml.YAMLError, OSError) as error:
        print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    print(f"{config.stream.name}: {assumptions.describe()}")
    print("\n".join(what_if(config, assumptions).lines()))
    return 0


def _preload(*, profiles: bool) -> None:
    """Import dbt (and Great Expectations when the stream profiles, with its first data context) now, while the
    server boots: otherwise the dbt stage and the profile stage each start by paying for them (GE: seconds).
    On this machine's DuckDB the run's main thread hardly waits, so a background import would only slow the
    stages it overlaps (:mod:`dcf.profiling.warm_up` is for worker runs on a remote warehouse)."""
    importlib.import_module("dbt.cli.main")
    if profiles:
        importlib.import_module("dcf.profiling.gx").first_context()


def _setup_done() -> None:
    """The collector back on, for what the run makes; what setup made stays out of its generations."""
    gc.freeze()
    gc.enable()


def _validate(stream: str, api: LocalApi) -> int:
    """MODE=VALIDATE: the plan, or each problem on its own line; nothing is generated or written."""
    from dcf.errors import DcfError
    from dcf.stream.definition import find_stream_file
    from flows.stream_load import stream_load

    _setup_done()
    try:
        find_stream_file(stream)
    except DcfError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    api.wait_ready()
    state = stream_load(stream=stream, mode="VALIDATE", return_state=True)
    print(state.message, file=sys.stdout if state.is_completed() else sys.stderr)
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    code = main()
    teardown = time.monotonic()
    run_exit_handlers()
    print(f"time: teardown {time.monotonic() - teardown:.1f} s | total {time.monotonic() - STARTED:.1f} s", flush=True)
    os._exit(code)
