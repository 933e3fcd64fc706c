"""Write converted jobs as a dbt project (or into a folder of an existing one): per job a folder of models (or,
for a job that only runs SQL, a macro under ``macros/datastage/``), and one ``sources.yml`` for the tables
their source connectors read, their schemas as vars (the parameter-set members the jobs named,
``PS_SRC.SCHEMA``) that each environment sets."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from dcf.convert.job import JobConversion
from dcf.convert.job_tests import key_tests
from dcf.convert.parts import SEMI, StageVerdict


def write_project(conversions: list[JobConversion], out: Path, *, name: str = "converted_datastage",
                  variables: dict[str, str] | None = None) -> list[Path]:
    """Write ``out/dbt_project.yml`` (unless one exists: then only ``models/datastage/``) and the models."""
    _name_shared_targets(conversions)
    written: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)
    project = out / "dbt_project.yml"
    if not project.exists():
        # a var without a known value is left out: dbt then stops with "Required var … not found" instead of
        # reading a schema called None
        known = {name: value for name, value in (variables or {}).items() if value is not None}
        project.write_text(yaml.safe_dump({
            "name": name, "version": "1.0.0", "profile": name, "config-version": 2, "model-paths": ["models"],
            "vars": known}, sort_keys=False))
        written.append(project)
    root = out / "models" / "datastage"
    for conversion in conversions:
        folder = root / conversion.job.lower()
        folder.mkdir(parents=True, exist_ok=True)
        for model in conversion.models:
            path = folder / f"{model.name}.sql"
            path.write_text(f"-- converted from DataStage job {conversion.job}, stage {model.stage}\n{model.sql}\n",
                            encoding="utf-8")
            written.append(path)
        written += _write_tests(conversion, folder, out / "tests" / "datastage" / conversion.job.lower())
    written += _write_operations(conversions, out / "macros" / "datastage")
    sources: dict[str, dict] = {}  # one file: a source read by several jobs is declared once
    for source, parameter, table in sorted({s for c in conversions for s in c.sources}):
        entry = sources.setdefault(source, {"name": source, "schema": f"{{{{ var('{parameter}') }}}}", "tables": []})
        if {"name": table} not in entry["tables"]:
            entry["tables"].append({"name": table})
    if sources:
        path = root / "sources.yml"
        path.write_text(yaml.safe_dump({"version": 2, "sources": list(sources.values())}, sort_keys=False))
        written.append(path)
    return written


def _name_shared_targets(conversions: list[JobConversion]) -> None:
    """Models of one name from several jobs (jobs that write the same table) each get the job's name too: dbt
    refuses two models of one name, and the table is then one model per job (SEMI: their union is left to a
    person)."""
    writers = Counter(model.name for c in conversions for model in {m.name: m for m in c.models}.values())
    for conversion in conversions:
        for model in conversion.models:
            if writers[model.name] > 1 and not model.name.endswith(f"__{conversion.job.lower()}"):
                conversion.job_verdicts.append(StageVerdict(
                    model.stage, "shared target", SEMI, f"{writers[model.name]} jobs write {model.target}: this "
                    f"job's rows are model {model.name}__{conversion.job.lower()}; the table as their union is "
                    "left to a person"))
                model.name = f"{model.name}__{conversion.job.lower()}"


def _write_operations(conversions: list[JobConversion], folder: Path) -> list[Path]:
    """Each job that only runs SQL as ``macros/datastage/<job>.sql``."""
    written = []
    for conversion in conversions:
        if conversion.operations:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{conversion.job.lower()}.sql"
            path.write_text(f"-- converted from DataStage job {conversion.job}: run with dbt run-operation\n"
                            + "\n".join(operation.macro() for operation in conversion.operations),
                            encoding="utf-8")
            written.append(path)
    return written


def _write_tests(conversion: JobConversion, models_folder: Path, tests_folder: Path) -> list[Path]:
    """The job's tests: key tests in the models' ``schema.yml``, singular tests under ``tests/datastage/<job>/``."""
    written = []
    entries = [entry for entry in map(key_tests, conversion.models) if entry is not None]
    if entries:
        path = models_folder / "schema.yml"
        path.write_text(yaml.safe_dump({"version": 2, "models": entries}, sort_keys=False), encoding="utf-8")
        written.append(path)
    for test in conversion.tests:
        tests_folder.mkdir(parents=True, exist_ok=True)
        path = tests_folder / f"{test.name}.sql"
        path.write_text(f"-- generated from DataStage job {conversion.job}\n{test.sql}\n", encoding="utf-8")
        written.append(path)
    return written
