"""Compare a legacy table with its migrated one, ad hoc (the ``compare:`` activity without a stream).

    python -m flows.compare_tables --legacy LEGACY.BAL --new MART.FCT_BAL --key ID [--process-date 2024-03-01]
        [--spec spec.yaml] [--warehouse-block NAME]

Also the ``compare-tables`` deployment: the UI's run form takes the same settings as a stream's ``compare:``.
The verdict is recorded in COMPARE_RUNS / COMPARE_COLUMNS (COMPARE_ID: the flow run's id) and published as a
markdown artifact; the run fails when the comparison is beyond its thresholds.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import Completed, Failed, State
from pydantic import ValidationError

from dcf.compare.markdown import comparison_markdown
from dcf.compare.spec import CompareSpec
from dcf.compare.verdict import CompareContext, compare_and_record
from dcf.errors import DcfError
from dcf.store.migrate import ensure_schema
from dcf.store.statuses import StageStatus
from dcf.stream.yaml_source import read_yaml
from flows.parameters import run_form
from runtime.connections import connect
from runtime.process_exit import exit_process
from tasks.kinds.compare import publish


def _run_name() -> str:
    """``compare-<legacy>-<new>`` (the parameter is a model when called, a mapping when a deployment runs)."""
    from prefect.runtime import flow_run

    comparison = flow_run.parameters.get("comparison")
    sides = comparison if isinstance(comparison, dict) else getattr(comparison, "__dict__", {})
    return f"compare-{sides.get('legacy', '?')}-{sides.get('new', '?')}"


@run_form
@flow(name="compare-tables", flow_run_name=_run_name)
def compare_tables(comparison: CompareSpec, process_date: date | None = None,
                   warehouse_block: str | None = None) -> State:
    """Compare two relations of the warehouse and record the verdict.

    Args:
        comparison: legacy and new relations, key, columns, filters (may use #process_date#), tolerance,
            thresholds — the settings of a stream's compare: activity.
        process_date: The business day the filters select; empty: no process date.
        warehouse_block: DcfWarehouse block name; empty: the local DuckDB file under DCF_HOME.
    """
    from prefect.runtime import flow_run

    compare_id = str(flow_run.id or uuid.uuid4())
    try:
        with connect(warehouse_block) as conn:
            ensure_schema(conn)
            result, judgement = compare_and_record(conn, comparison, compare_id,
                                                   CompareContext(process_date=process_date),
                                                   legacy=comparison.legacy, new=comparison.new)
    except DcfError as error:
        return Failed(message=str(error))
    publish(f"adhoc-{comparison.legacy}-{comparison.new}", comparison_markdown(result, judgement, comparison))
    if judgement.status == StageStatus.FAILED:
        return Failed(message=judgement.why)
    return Completed(name="CompletedWithWarnings" if judgement.status == StageStatus.COMPLETED_WITH_WARNINGS
                     else "Completed", message=judgement.why)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.compare_tables", description=__doc__.splitlines()[0])
    parser.add_argument("--legacy")
    parser.add_argument("--new")
    parser.add_argument("--key", action="append", help="a key column (repeatable)")
    parser.add_argument("--spec", help="a YAML file with the compare: settings (the options above override it)")
    parser.add_argument("--process-date", type=date.fromisoformat)
    parser.add_argument("--warehouse-block")
    args = parser.parse_args(argv)
    try:
        settings = dict(read_yaml(Path(args.spec)).data or {}) if args.spec else {}
        settings.update({k: v for k, v in (("legacy", args.legacy), ("new", args.new), ("key", args.key)) if v})
        spec = CompareSpec.model_validate(settings)
    except ValidationError as error:
        print("error: " + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()),
              file=sys.stderr)
        return 2
    except DcfError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    state = compare_tables(comparison=spec, process_date=args.process_date, warehouse_block=args.warehouse_block,
                           return_state=True)
    print(f"{state.name}: {state.message}")
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    exit_process(main())
