"""One parallel job to dbt models: each stage's output links become CTEs in graph order, each target (a
database connector or a file) becomes a model: its upstream CTEs, then a final SELECT with the target link's
columns cast to their declared types, materialized as its write mode says.

    conversion = convert_job(job, dialect="duckdb")
    conversion.models, conversion.sources, conversion.verdicts
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from dcf.convert.file_export import export_hook
from dcf.convert.job_tests import SingularTest, unmatched_lookup_test
from dcf.convert.parts import AUTO, MANUAL, SEMI, ConversionContext, Cte, DerivationVerdict, Model, StageVerdict
from dcf.convert.plsql import read_statements
from dcf.convert.sql import ConversionError, StandIns, sql_type, table_key, transpile
from dcf.convert.sql_only_job import Operation, convert_operation, is_operation_job
from dcf.convert.stages import CONVERTERS
from dcf.datastage.connectors import read_connector
from dcf.datastage.model import DsJob
from dcf.datastage.px_graph import PxColumn, PxLink, PxStage


@dataclass
class JobConversion:
    job: str
    models: list[Model] = field(default_factory=list)
    #: (dbt source name, schema parameter, table) read by the models.
    sources: set[tuple[str, str, str]] = field(default_factory=set)
    verdicts: list[StageVerdict] = field(default_factory=list)
    #: A job that only runs SQL: the macros a stream runs as dbt operations.
    operations: list[Operation] = field(default_factory=list)
    #: What belongs to the job rather than a stage (its before/after-job subroutines): tier and why.
    job_verdicts: list[StageVerdict] = field(default_factory=list)
    #: Every transformer expression: its original beside its SQL, or why it has none.
    derivations: list[DerivationVerdict] = field(default_factory=list)
    #: Singular tests from the job (a fail-lookup's unmatched rows).
    tests: list[SingularTest] = field(default_factory=list)

    @property
    def job_map_entry(self) -> str | dict[str, str]:
        """What a job activity that runs this job does: build ``tag:<job>`` (its models carry the job's name as
        a tag), or run its operation."""
        return {"operation": self.operations[0].name} if self.operations else f"tag:{self.job.lower()}"

    @property
    def tier(self) -> str:
        """The job's: MANUAL when a stage is left to a person, SEMI when one is approximated, else AUTO."""
        tiers = {verdict.tier for verdict in self.verdicts} or {MANUAL}
        tiers |= {verdict.tier for verdict in self.job_verdicts}
        return next(tier for tier in (MANUAL, SEMI, AUTO) if tier in tiers or tier == AUTO)


def convert_job(job: DsJob, *, dialect: str = "duckdb", built_elsewhere: dict[str, str] | None = None) -> JobConversion:
    """``job`` as dbt models. ``built_elsewhere``: the tables other converted jobs build (:func:`built_tables`):
    a source connector that reads one reads its model (``ref()``), so dbt knows the order and the lineage."""
    if job.graph is None:
        raise ConversionError(f"{job.name}: no stage graph (not a parallel job read from XMI)")
    ctx = ConversionContext(job.graph, dialect, job=job.name, parameters={p.name for p in job.parameters})
    own = built_tables([job])
    ctx.stand_ins.models = {table: model for table, model in (built_elsewhere or {}).items() if table not in own}
    if is_operation_job(job.graph):
        conversion = _operation_job(ctx)
        conversion.job_verdicts = _subroutines(job)
        return conversion
    targets = [s for s in job.graph.stages.values() if not job.graph.outputs(s.name) and job.graph.inputs(s.name)]
    pending = [s for s in job.graph.stages.values() if s not in targets]
    while pending:
        ready = [s for s in pending if all(link.name in ctx.ctes for link in job.graph.inputs(s.name))]
        if not ready:  # what is left waits on a stage that could not be converted
            for stage in pending:
                ctx.verdict(stage.name, MANUAL, "its input comes from a stage that was not converted")
            break
        for stage in ready:
            pending.remove(stage)
            _convert_stage(stage, ctx)
    conversion = JobConversion(job.name)
    for stage in targets:
        model = _target_model(stage, ctx)
        if model is not None:
            conversion.models.append(model)
    conversion.tests = [unmatched_lookup_test(check, _with_clause([check.primary, check.reference], ctx), _tag(ctx))
                        for check in ctx.checks if {check.primary, check.reference} <= set(ctx.ctes)]
    conversion.sources, conversion.verdicts = ctx.stand_ins.sources, ctx.verdicts
    conversion.job_verdicts, conversion.derivations = _subroutines(job), ctx.derivations
    return conversion


def _subroutines(job: DsJob) -> list[StageVerdict]:
    """Before/after-job subroutines: a shell command (``DSU.ExecSH``) is not part of the models (SEMI: a stream
    can run it as a command activity around the job's dbt activity); any other routine is left to a person."""
    verdicts = []
    for call in job.subroutines:
        where = f"{call.context.lower()}-job subroutine"
        arguments = " ".join(call.arguments)
        if call.routine.endswith("ExecSH"):
            verdicts.append(StageVerdict(where, call.routine, SEMI, f"{arguments!r} is not run by the models: "
                                         "a command activity around the job's dbt activity runs it if it matters"))
        else:
            verdicts.append(StageVerdict(where, call.routine, MANUAL, f"routine {call.routine}({arguments}) "
                                         "is not converted"))
    return verdicts


def built_tables(jobs: list[DsJob]) -> dict[str, str]:
    """The tables the jobs' target connectors write (:func:`~dcf.convert.sql.table_key`) -> the model each
    becomes (the table's name); a table several jobs write is none's model (each job's rows are a model of
    their own) and stays a source."""
    writers: dict[str, set[str]] = {}
    for job in jobs:
        graph = job.graph
        for stage in (graph.stages.values() if graph else []):
            connector = read_connector(stage) if not graph.outputs(stage.name) else None
            if connector is None or connector.context != "target" or not connector.table:
                continue
            schema, _, table = connector.table.rpartition(".")
            if schema.strip(".").startswith("#") and schema.strip(".").strip("#"):
                writers.setdefault(table_key(schema.strip(".").strip("#"), table), set()).add(job.name)
    return {key: key.rpartition(".")[2].lower() for key, names in writers.items() if len(names) == 1}


def _operation_job(ctx: ConversionContext) -> JobConversion:
    conversion = JobConversion(ctx.job)
    try:
        conversion.operations.append(convert_operation(ctx))
    except ConversionError as error:
        judged = {verdict.stage for verdict in ctx.verdicts}
        for stage in ctx.graph.stages:
            if stage not in judged:
                ctx.verdict(stage, MANUAL, str(error))
    conversion.verdicts = ctx.verdicts
    return conversion


def _tag(ctx: ConversionContext) -> str:
    """The job's models share its name as a tag: the importer's job activities select ``tag:<job>``."""
    return ctx.job.lower()


def _convert_stage(stage: PxStage, ctx: ConversionContext) -> None:
    converter = CONVERTERS.get(stage.stage_type)
    if converter is None:
        ctx.verdict(stage.name, MANUAL, f"no converter for stage type {stage.stage_type} yet")
        return
    try:
        for cte in converter(stage, ctx):
            ctx.ctes[cte.name] = cte
    except ConversionError as error:
        ctx.verdict(stage.name, MANUAL, str(error))
    except ValueError as error:  # a shape the converter does not expect (two inputs where it takes one, ...)
        ctx.verdict(stage.name, MANUAL, f"not converted: {len(ctx.graph.inputs(stage.name))} input(s), "
                                        f"{len(ctx.graph.outputs(stage.name))} output(s) ({error})")


def _upstream(name: str, ctx: ConversionContext) -> list[Cte]:
    """The CTEs ``name`` needs, dependencies first."""
    ordered: list[Cte] = []

    def visit(cte_name: str) -> None:
        cte = ctx.ctes[cte_name]
        for dependency in cte.reads:
            visit(dependency)
        if cte not in ordered:
            ordered.append(cte)

    visit(name)
    return ordered


def _with_clause(links: list[str], ctx: ConversionContext) -> str:
    """``WITH`` the CTEs ``links`` need, dependencies first, each once."""
    ctes: list[Cte] = []
    for link in links:
        ctes += [cte for cte in _upstream(link, ctx) if cte not in ctes]
    return "WITH " + ",\n".join(f"{cte.name} AS (\n    {cte.sql}\n)" for cte in ctes)


def _final_select(link: PxLink, ctx: ConversionContext, *, empty_is_null: bool = False) -> str:
    """The target link's columns cast to their types; ``empty_is_null``: an Oracle table, which stores '' as
    NULL (the legacy table holds NULL where the job wrote an empty string)."""
    def value(column: PxColumn) -> str:
        text = empty_is_null and sql_type(column).startswith("VARCHAR")
        return f"NULLIF({column.name}, '')" if text else column.name

    columns = ", ".join(f"CAST({value(c)} AS {sql_type(c)}) AS {c.name}" for c in link.columns)
    return f"{_with_clause([link.name], ctx)}\nSELECT {columns} FROM {link.name}"


def _target_model(stage: PxStage, ctx: ConversionContext) -> Model | None:
    [link] = ctx.graph.inputs(stage.name)[:1] or [None]
    if link is None:
        ctx.verdict(stage.name, MANUAL, "a target without an input link")
        return None
    if link.name not in ctx.ctes:
        ctx.verdict(stage.name, MANUAL, "its input link was not converted")
        return _placeholder(stage, link, ctx)
    try:
        if stage.stage_type == "PxSequentialFile":
            return _file_model(stage, link, ctx)
        return _table_model(stage, link, ctx)
    except ConversionError as error:
        ctx.verdict(stage.name, MANUAL, str(error))
        return _placeholder(stage, link, ctx)


def _placeholder(stage: PxStage, link: PxLink, ctx: ConversionContext) -> Model:
    """A target that could not be converted: a model with the target's columns that parses (the job's
    activities select it, VALIDATE passes) but does not build until someone writes it — it stops with the
    reasons the report lists."""
    reasons = "; ".join(f"{v.stage}: {v.note}" for v in ctx.verdicts if v.tier == MANUAL)
    message = (f"DataStage job {ctx.job}, target {stage.name}, is not converted ({reasons}). Write this model by "
               "hand; the migration report lists what is missing.")
    connector = read_connector(stage)
    table = connector.table if connector is not None and connector.table else ""
    name = (table.rpartition(".")[2] or stage.name).lower()
    columns = ", ".join(f"CAST(NULL AS {_declared_type(c)}) AS {c.name}" for c in link.columns)
    sql = (f"{{{{ config(materialized='table', tags={[_tag(ctx)]!r}) }}}}\n"
           f"{{% if execute %}}{{{{ exceptions.raise_compiler_error({message!r}) }}}}{{% endif %}}\n"
           f"SELECT {columns}")
    return Model(name, stage.name, "table", sql, table or f"file of {stage.name}", placeholder=True)


def _declared_type(column: PxColumn) -> str:
    try:
        return sql_type(column)
    except ConversionError:  # a type with no SQL name here: the placeholder only has to parse
        return "VARCHAR"


def _file_model(stage: PxStage, link: PxLink, ctx: ConversionContext) -> Model:
    """A target file: the rows as a table, the file written from it by the model's post-hook (the export step)."""
    hook = export_hook(stage, link, ctx)
    ctx.verdict(stage.name, SEMI, "the file's rows as a table model; the file written from it by a post-hook "
                                  "(rows sorted by its columns: a table has no processing order)")
    sql = (f"{{{{ config(materialized='table', tags={[_tag(ctx)]!r}, post_hook={[hook]!r}) }}}}\n"
           + _final_select(link, ctx))
    return Model(stage.name.lower(), stage.name, "table", sql, f"file of {stage.name}")


def _truncates(before_sql: str | None, table: str) -> bool:
    """Whether Before SQL is one TRUNCATE TABLE of the target's own table (what a table materialization does),
    read by the PL/SQL reader and sqlglot, the table compared as both name it (``#PS_DWH.SCHEMA#.STG_X``)."""
    try:
        statements = read_statements(before_sql or "")
        names = StandIns()
        tree = sqlglot.parse_one(names.hide(statements[0].text), read="oracle") \
            if len(statements) == 1 and statements[0].kind == "sql" else None
    except (ConversionError, sqlglot.errors.ParseError):
        return False
    if not isinstance(tree, exp.TruncateTable):
        return False
    return [names.show(t.sql()) for t in tree.expressions] == [names.show(names.hide(table))]


def _table_model(stage: PxStage, link: PxLink, ctx: ConversionContext) -> Model:
    connector = read_connector(stage)
    if connector is None or connector.context != "target" or not connector.table:
        raise ConversionError(f"{stage.name}: not a table target the converter knows ({stage.stage_type})")
    truncated = _truncates(connector.before_sql, connector.table)
    hooks = [] if truncated or not connector.before_sql else [connector.before_sql]
    config: dict[str, str] = {}
    if connector.write_mode in ("insert", "bulk_load") and (truncated or connector.table_action == "truncate"):
        config["materialized"], note = "'table'", "truncate and insert: a table materialization"
    elif connector.write_mode == "insert":
        config["materialized"], note = "'incremental'", "insert: an incremental model that appends"
    elif connector.write_mode == "update_then_insert":
        keys = [c.name for c in link.columns if c.key]
        if not keys:
            raise ConversionError(f"{stage.name}: update then insert without key columns")
        config["materialized"], config["unique_key"] = "'incremental'", repr(keys)
        note = f"update then insert: an incremental merge on {', '.join(keys)}"
    else:
        raise ConversionError(f"{stage.name}: write mode {connector.write_mode or connector.write_mode_code} "
                              "is not converted")
    hook_sql = [transpile(h, ctx.stand_ins, read="oracle", write=ctx.dialect) for h in hooks]
    post_sql = [transpile(connector.after_sql, ctx.stand_ins, read="oracle", write=ctx.dialect)] \
        if connector.after_sql else []
    if hook_sql:
        config["pre_hook"] = repr(hook_sql)
    if post_sql:
        config["post_hook"] = repr(post_sql)
    oracle = connector.kind == "oracle"
    ctx.verdict(stage.name, AUTO if not (hook_sql or post_sql) else SEMI,
                note + ("; Before/After SQL as hooks" if hook_sql or post_sql else "")
                + ("; text columns NULLIF(x, ''): Oracle stores '' as NULL" if oracle else ""))
    config["tags"] = repr([_tag(ctx)])
    settings = ", ".join(f"{key}={value}" for key, value in config.items())
    table = connector.table.rpartition(".")[2].upper()
    return Model(table.lower(), stage.name, config["materialized"].strip("'"),
                 f"{{{{ config({settings}) }}}}\n" + _final_select(link, ctx, empty_is_null=oracle), connector.table,
                 keys=[c.name for c in link.columns if c.key], keys_enforced="unique_key" in config)
