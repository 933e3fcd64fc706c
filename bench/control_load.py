"""The control store under load: statements per run, measured, and K concurrent writers against fakesnow's server.

    uv run python -m bench.control_load                      # writers 1, 4, 8, 16; 200-model builds
    uv run python -m bench.control_load --writers 1 8 --models 1000

1. **One real run, counted.** The BCFINSG stream runs once in this process (DuckDB, a temporary Prefect server)
   with every control-store statement counted by stage and table — what a run costs the control tables.
2. **K writers at once.** K threads, each with its own connection to fakesnow's server (the real
   snowflake-connector over the wire), each doing what one stream run writes: its instance, a RUNNING and an end
   row per stage, and the execution log of an N-model dbt build through the real :class:`ExecutionLogWriter`.
   Printed: statements per second (all, and per table) and the most statements ever in flight on one table at
   once — the lock waiters Snowflake would queue (it refuses a DML statement once 20 already wait for a table's
   lock: error 000625).
3. **The load model**: from (1), what N concurrent streams mean per table, and up to which N one control schema
   holds. fakesnow is DuckDB behind an HTTP server, so (2) shows the shape (waiters grow with K), not
   Snowflake's absolute speed.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from dcf.store.connection import Connection

TABLE = re.compile(r"\b(DCF_T_\w+|PROCESS_EXECUTION_LOG|DBT_\w+|PROFILE_\w+)\b", re.IGNORECASE)
STAGES = ("validate", "process_id", "ingest", "dbt_build", "profile", "metadata", "lifecycle", "report")


@contextmanager
def counted(on_statement: Callable[[str, str], Callable[[], None]]) -> Iterator[None]:
    """Wrap every control-store statement: ``on_statement(table, verb)`` is called before it, its result after."""
    original_run, original_many = Connection._run, Connection.executemany

    def classify(sql: str) -> tuple[str, str]:
        verb = sql.lstrip().split(None, 1)[0].upper()
        if verb in ("BEGIN", "START", "COMMIT", "ROLLBACK"):
            return "(transaction)", verb
        match = TABLE.search(sql)
        # not a control table: the raw table (ingest), the target (counts), a sequence, a session setting
        return (match.group(1).upper() if match else "(warehouse tables)"), verb

    def wrapped(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Connection, sql: str, *args: Any) -> Any:
            done = on_statement(*classify(sql))
            try:
                return original(self, sql, *args)
            finally:
                done()
        return call

    Connection._run, Connection.executemany = wrapped(original_run), wrapped(original_many)  # type: ignore[method-assign]
    try:
        yield
    finally:
        Connection._run, Connection.executemany = original_run, original_many  # type: ignore[method-assign]


# -- 1. one real run, counted ------------------------------------------------------------------------------------
def statements_of_one_run(workdir: Path) -> tuple[collections.Counter, float]:
    """(stage, table, verb) -> statements of one BCFINSG run in this process, and the flow's seconds."""
    os.environ.update(DCF_HOME=str(workdir), PREFECT_HOME=str(workdir / "prefect"), DO_NOT_TRACK="1",
                      DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    os.environ.pop("PREFECT_API_URL", None)
    from runtime.local_api import LocalApi

    api = LocalApi.acquire()
    api.wait_ready()
    from prefect.context import TaskRunContext

    from dcf.demo.synthetic_landing import generate_landing_file
    from dcf.paths import dcf_home
    from flows.control_tables import control_tables
    from flows.stream_load import stream_load

    control_tables.fn()
    day = date(2024, 3, 1)
    generate_landing_file(day, dcf_home() / "landing" / "bcfinsg", rows=5000)
    counts: collections.Counter = collections.Counter()
    lock = threading.Lock()

    def on_statement(table: str, verb: str) -> Callable[[], None]:
        context = TaskRunContext.get()
        name = context.task_run.name if context else ""
        stage = next((s for s in STAGES if name.startswith(f"{s}-")), "flow")
        with lock:
            counts[(stage, table, verb)] += 1
        return lambda: None

    with counted(on_statement):
        started = time.perf_counter()
        state = stream_load(stream="BCFINSG_PLAN_BALN_SEGM_LOAD", process_date=day, return_state=True)
        seconds = time.perf_counter() - started
    api.stop()
    if not state.is_completed():
        raise SystemExit(f"the counted run did not complete: {state.message}")
    return counts, seconds


# -- 2. K writers against fakesnow's server ----------------------------------------------------------------------
def one_run_of_writes(conn: Connection, prcs_inst_id: int, models: int) -> None:
    """What one stream run writes: its instance, a RUNNING and an end row per stage, an N-model execution log."""
    from dcf.execlog.facts import JobConfig, NodeEvent, NodeFacts, ProjectFacts, RunContext
    from dcf.execlog.writer import ExecutionLogWriter
    from dcf.store.schema import DCF_T_PRCS_INST
    from dcf.store.stage_rows import InstanceRef, write_stage

    now = datetime.now()
    stream = f"LOAD_{prcs_inst_id}"
    conn.merge(DCF_T_PRCS_INST, [{
        "PRCS_INST_ID": prcs_inst_id, "STRM_ID": prcs_inst_id, "STRM_NAME": stream, "PRCS_DATE": now.date(),
        "ODS_BATCH_ID": "B", "PRCS_STATUS": "RUNNING", "ORCHESTRATION_STATUS": None, "LAST_GOOD_STAGE": None,
        "PRCS_START_TS": now, "PRCS_END_TS": None, "FLOW_RUN_ID": None, "DEPLOYMENT_ID": None,
        "ERROR_MESSAGE": None, "EXEC_USER_ID": "bench", "UPDATED_TS": now}])
    ref = InstanceRef(prcs_inst_id, prcs_inst_id, stream, now.date(), "B")
    nodes = {f"model.p.m{i}": NodeFacts(f"model.p.m{i}", f"m{i}", "model", "p", "table", None, "db", "s",
                                         f"m{i}", f"models/m{i}.sql") for i in range(models)}
    for stage in STAGES:
        write_stage(conn, ref, stage, "RUNNING")
        if stage == "dbt_build":
            writer = ExecutionLogWriter(conn, ProjectFacts("p", "snowflake", "1.11.0", nodes), JobConfig(
                target_name="snowflake", run=RunContext(stream_name=stream, prcs_inst_id=prcs_inst_id)),
                interval=0.5)
            writer.start()
            invocation = f"inv{prcs_inst_id}"
            for unique_id in nodes:
                writer.submit(invocation, NodeEvent("start", unique_id, datetime.now()), datetime.now())
                time.sleep(0.002)  # a model's build: the writer flushes on its interval meanwhile
                writer.submit(invocation, NodeEvent("finish", unique_id, datetime.now(), status="success"),
                              datetime.now())
            writer.close()
        write_stage(conn, ref, stage, "COMPLETED")


def concurrent_writers(writers: int, models: int, server: dict[str, Any]) -> dict[str, Any]:
    import uuid

    import snowflake.connector

    from dcf.store.dialect import Dialect, Namespace
    from dcf.store.migrate import ensure_schema

    database = f"LOAD_{uuid.uuid4().hex[:8].upper()}"
    admin = snowflake.connector.connect(**server)
    admin.cursor().execute(f"CREATE DATABASE {database}")
    namespace = Namespace("DCF", database)
    ensure_schema(Connection(admin, Dialect.SNOWFLAKE, namespace))
    in_flight: collections.Counter = collections.Counter()
    peak: collections.Counter = collections.Counter()
    per_table: collections.Counter = collections.Counter()
    lock = threading.Lock()

    def on_statement(table: str, verb: str) -> Callable[[], None]:
        with lock:
            in_flight[table] += 1
            per_table[table] += 1
            peak[table] = max(peak[table], in_flight[table])

        def done() -> None:
            with lock:
                in_flight[table] -= 1
        return done

    connections = [Connection(snowflake.connector.connect(**server, database=database, schema="DCF"), Dialect.SNOWFLAKE,
                              namespace) for _ in range(writers)]
    errors: list[str] = []

    def work(index: int) -> None:
        try:
            one_run_of_writes(connections[index], 1000 + index, models)
        except Exception as error:  # reported, not raised: one writer's failure is a figure too
            errors.append(f"writer {index}: {str(error).splitlines()[0][:200]}")

    with counted(on_statement):
        threads = [threading.Thread(target=work, args=(i,)) for i in range(writers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    for conn in connections:
        conn.close()
    admin.close()
    total = sum(per_table.values())
    return {"writers": writers, "seconds": seconds, "statements": total, "per_second": total / seconds,
            "per_table": dict(per_table), "peak": dict(peak), "errors": errors}


# -- 3. the load model -------------------------------------------------------------------------------------------
def load_model(counts: collections.Counter, run_seconds: float, streams: list[int]) -> list[str]:
    per_table: collections.Counter = collections.Counter()
    for (_, table, verb), n in counts.items():
        if verb != "SELECT":
            per_table[table] += n
    lines = [f"  {'table':<26}{'writes/run':>11}" + "".join(f"{f'N={n} w/s':>11}" for n in streams)]
    for table, writes in per_table.most_common():
        rates = "".join(f"{writes * n / run_seconds:>11.1f}" for n in streams)
        lines.append(f"  {table:<26}{writes:>11}{rates}")
    lines.append(f"  (N streams started together, each run {run_seconds:.0f} s as measured here; a table's worst case "
                 "is N writers queued at once: Snowflake refuses the 21st waiter, so one control schema holds up "
                 "to N = 20 streams writing the same table in the same instant)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.control_load", description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--models", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dcf-bench-load-") as workdir:
        counts, run_seconds = statements_of_one_run(Path(workdir))
    by_stage: collections.Counter = collections.Counter()
    for (stage, _, verb), n in counts.items():
        by_stage[(stage, "read" if verb == "SELECT" else "write")] += n
    print(f"control-store statements of one BCFINSG run (DuckDB, flow {run_seconds:.1f} s), by stage: writes / reads")
    for stage in ("flow", *STAGES):
        if by_stage[(stage, "write")] or by_stage[(stage, "read")]:
            print(f"  {stage:<12}{by_stage[(stage, 'write')]:>6} / {by_stage[(stage, 'read')]:<6}")
    print(f"  {'total':<12}{sum(n for (s, k), n in by_stage.items() if k == 'write'):>6} / "
          f"{sum(n for (s, k), n in by_stage.items() if k == 'read'):<6}")
    print("load model: writes per second per table for N concurrent streams")
    for line in load_model(counts, run_seconds, [1, 10, 20, 50]):
        print(line)

    import logging

    import fakesnow

    logging.getLogger("uvicorn.access").disabled = True  # fakesnow's server logs every request
    print(f"K concurrent writers against fakesnow's server, each one stream run with a {args.models}-model build:")
    with fakesnow.server(session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False}) as server:
        for writers in args.writers:
            figures = concurrent_writers(writers, args.models, server)
            busiest = max(figures["peak"].items(), key=lambda item: item[1])
            print(f"  K={writers:<3} {figures['statements']:>5} statements in {figures['seconds']:6.1f} s = "
                  f"{figures['per_second']:6.1f}/s; most in flight on one table: {busiest[1]} ({busiest[0]})"
                  + (f"; {len(figures['errors'])} writer(s) failed: {figures['errors'][0]}" if figures["errors"]
                     else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
