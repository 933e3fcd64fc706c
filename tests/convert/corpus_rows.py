"""The parallel corpus's rows as the converter tests read them: the key's CSVs (NULL an empty unquoted field),
warehouse values written the way the key writes them, which CSV a target's rows are in, and which link of a
job reads a source table."""

from __future__ import annotations

import datetime
import decimal
import re
from pathlib import Path

import duckdb
import yaml

from dcf.convert.sql import sql_type
from dcf.datastage.model import DsJob
from tests.datastage.corpus import PARALLEL, parallel_key, parallel_parameter_sets, parallel_parameters


def warehouse_text(value: object) -> str | None:
    """A warehouse value as the key's CSV writes it."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date | decimal.Decimal):
        return str(value)
    return str(value)


_FIELD = re.compile(r'"((?:[^"]|"")*)"|([^,]*)')


def key_rows(path: Path) -> list[tuple[str | None, ...]]:
    """The key's CSV: every value quoted, NULL an empty unquoted field (which the csv module cannot tell from
    an empty string before Python 3.12)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        fields, position = [], 0
        while position <= len(line):
            match = _FIELD.match(line, position)
            quoted, plain = match.group(1), match.group(2)
            fields.append(quoted.replace('""', '"') if quoted is not None else (plain or None))
            position = match.end() + 1
        rows.append(tuple(fields))
    return rows


def expected_csv(job: str, target: dict) -> Path:
    """The first CSV the key names for a target (``expected_X.csv``, relative to the job's data folder when
    the key gives the file name alone)."""
    name = re.findall(r"[\w/]*expected_\w+\.csv", target["expected"])[0]
    return PARALLEL / name if "/" in name else PARALLEL / "data" / job / name


def source_link(job: DsJob, table: str):
    """The output link of the source connector that reads ``table``, and the columns of its CSV."""
    from dcf.datastage.connectors import read_connector

    graph = job.graph
    [link] = [link for stage in graph.stages.values() if not graph.inputs(stage.name)
              for connector in [read_connector(stage)] if connector is not None
              and re.search(rf"\.{table}\b", connector.select or connector.table or "")
              for link in graph.outputs(stage.name)]
    path = PARALLEL / "data" / job.name / f"{table}.csv"
    return link, path.read_text(encoding="utf-8").splitlines()[0].split(",")


def load_sources(conn: duckdb.DuckDBPyConnection, job: DsJob, conversion) -> None:
    """The job's source tables from ``data/<JOB>/<TABLE>.csv``, each column typed as the link of the connector
    that reads the table declares it (a column the link does not carry stays text)."""
    for _source, parameter, table in conversion.sources:
        schema = parallel_parameter_sets()[parameter]
        link, header = source_link(job, table)
        types = {c.name: sql_type(c) for c in link.columns}
        columns = ", ".join(f"CAST({name} AS {types.get(name, 'VARCHAR')}) AS {name}" for name in header)
        path = PARALLEL / "data" / job.name / f"{table}.csv"
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"CREATE TABLE {schema}.{table} AS SELECT {columns} FROM read_csv('{path}', header = true, "
                     "all_varchar = true)")


def load_existing_targets(conn: duckdb.DuckDBPyConnection, job: DsJob, conversion) -> None:
    """An incremental model whose table the key gives as it was before the run (``data/<JOB>/<TABLE>.csv``)
    starts from those rows (in ``main``, where the models are built): the run then updates and inserts as
    DataStage did."""
    for model in conversion.models:
        path = PARALLEL / "data" / job.name / f"{model.name.upper()}.csv"
        if model.materialized != "incremental" or not path.exists():
            continue
        [link] = job.graph.inputs(model.stage)
        columns = ", ".join(f"CAST({c.name} AS {sql_type(c)}) AS {c.name}" for c in link.columns)
        conn.execute(f"CREATE TABLE main.{model.name} AS SELECT {columns} FROM read_csv('{path}', header = true, "
                     "all_varchar = true)")


#: The key's marker of the one run-time-dependent value (a CurrentTimestamp() column).
RUN_TIME = "<CurrentTimestamp()>"
#: How close to the test's clock a CurrentTimestamp() value must be.
RUN_TIME_TOLERANCE = datetime.timedelta(minutes=10)


def file_parameters(job: str) -> dict[str, str]:
    """Job parameters that name an input file (the key's inputs: "the file #FILE_NAME# exactly as delivered")
    -> that file of the corpus."""
    found = {}
    for path, words in (parallel_key()[job].get("inputs") or {}).items():
        named = re.match(r"the file #(\w+)#", str(words))
        if named:
            found[named.group(1)] = str(PARALLEL / path)
    return found


def output_directories(files_to: Path) -> dict[str, str]:
    """The parameters naming a directory jobs write files to (``PM_EXPORT_DIR``: the key's engine paths), each
    sent to ``files_to`` (created) instead."""
    files_to.mkdir(parents=True, exist_ok=True)
    return {name: str(files_to) for name in parallel_parameters() if name.endswith("_DIR")}


def run_values(job: str, files_to: Path) -> dict[str, str]:
    """The dbt vars a run of ``job`` gets here: the key's parameter values, an input file's parameter naming
    the corpus's copy of it (the key's value is the engine's path), the files it writes under ``files_to``."""
    return {**parallel_parameter_sets(), **parallel_parameters(), **file_parameters(job),
            **output_directories(files_to)}


def written_file(target: dict, files_to: Path) -> Path:
    """Where a run here writes the file of a sequential-file target (the key names the engine's path)."""
    return files_to / Path(target["file"]).name


def expected_columns(job: str, target: dict) -> str:
    """The key CSV's columns, in its order (a select list: the rows are compared in that order)."""
    return expected_csv(job, target).read_text(encoding="utf-8").splitlines()[0]


def expected_rows(job: str, target: dict) -> list[tuple[str | None, ...]]:
    """The key's rows of a target as a run here writes them: where the key shows a file parameter's value (a
    column holding the file name), the path this run read."""
    moved = {parallel_parameters()[name]: path for name, path in file_parameters(job).items()}
    return [tuple(moved.get(value, value) for value in row) for row in key_rows(expected_csv(job, target))]


def stamped(rows: list[tuple], expected: list[tuple]) -> list[tuple]:
    """``rows`` with each value of a column the key marks as the run time replaced by the marker when it is a
    timestamp close to now (local or UTC), so the rows compare with the key's."""
    marked = {i for row in expected for i, value in enumerate(row) if value == RUN_TIME}
    now = [datetime.datetime.now(), datetime.datetime.now(datetime.UTC).replace(tzinfo=None)]

    def close(value: object) -> bool:
        try:
            moment = datetime.datetime.fromisoformat(str(value)).replace(tzinfo=None)
        except ValueError:
            return False
        return min(abs(moment - n) for n in now) < RUN_TIME_TOLERANCE

    return [tuple(RUN_TIME if i in marked and close(value) else value for i, value in enumerate(row))
            for row in rows]


def build_converted(tmp_path: Path, job: DsJob, conversion) -> tuple[Path, Path, object]:
    """``conversion`` written as a dbt project and built by ``dbt build`` on a DuckDB file holding the job's
    input rows (and the tables its incremental targets start from): (project, database, dbt's result)."""
    return build_project(tmp_path, [(job, conversion)])


def build_project(tmp_path: Path, converted: list[tuple[DsJob, object]]) -> tuple[Path, Path, object]:
    """Jobs converted into one dbt project, built by one ``dbt build`` over all their input rows."""
    from dbt.cli.main import dbtRunner

    from dcf.convert.project import write_project

    project = tmp_path / "project"
    write_project([conversion for _, conversion in converted], project)
    database = tmp_path / "warehouse.duckdb"
    values: dict[str, str] = {}
    with duckdb.connect(str(database)) as conn:
        for job, conversion in converted:
            load_sources(conn, job, conversion)
            load_existing_targets(conn, job, conversion)
            # a job's own values win over another job's copy of the key's (its input file, say)
            values.update({name: value for name, value in run_values(job.name, tmp_path / "files").items()
                           if name not in values or value != parallel_parameters().get(name)})
    (project / "profiles.yml").write_text(yaml.safe_dump({"converted_datastage": {"target": "dev", "outputs": {
        "dev": {"type": "duckdb", "path": str(database), "threads": 1}}}}))
    result = dbtRunner().invoke(["build", "--project-dir", str(project), "--profiles-dir", str(project), "--vars",
                                 yaml.safe_dump(values), "--log-path", str(tmp_path / "logs"),
                                 "--target-path", str(tmp_path / "target")])
    return project, database, result
