"""A job that only runs SQL as a dbt operation: row generators feeding connectors in PL/SQL write mode (the
housekeeping pattern: truncate before, gather statistics after), whose whole effect is each connector's Before
SQL, its per-row block once per generated row, then its After SQL. It becomes one macro a stream runs with
``dbt: {operation: <job>}``, logged like a build.

Each statement is parsed by sqlglot (Oracle in) and rendered for the warehouse. A table the converted project
builds itself (another job's target) is named by ``ref()``, and emptied only when it exists: a model's first
build creates it. ``DBMS_STATS.GATHER_*`` calls are dropped (the warehouse keeps its own statistics); any other
procedure call, bind variable or PL/SQL control flow leaves the job MANUAL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from dcf.convert.parts import AUTO, SEMI, ConversionContext
from dcf.convert.plsql import Statement, read_statements
from dcf.convert.sql import PARAMETER, ConversionError, table_key
from dcf.datastage.connectors import Connector, read_connector
from dcf.datastage.px_graph import PxGraph

GENERATOR = "PxRowGenerator"
#: The Row Generator's record count when the link does not set one (DataStage's default).
DEFAULT_RECORDS = 10
_STATISTICS = "DBMS_STATS.GATHER_"


@dataclass
class Operation:
    """One macro: its statements in order, each an Oracle statement parsed by sqlglot."""

    name: str
    stage: str
    dialect: str
    statements: list[exp.Expression] = field(default_factory=list)
    #: stand-in identifier -> the job parameter it replaces (``#PS_DWH.SCHEMA#``)
    parameters: dict[str, str] = field(default_factory=dict)
    #: Tables other converted jobs build (:func:`~dcf.convert.sql.table_key` -> their model): named by ``ref()``.
    models: dict[str, str] = field(default_factory=dict)

    def macro(self) -> str:
        """The macro's text."""
        lines = [f"{{% macro {self.name}() %}}"]
        for number, statement in enumerate(self.statements, 1):
            sql, model = self._render(statement)
            # each statement committed on its own: dbt ends an operation without a commit, and a transaction
            # load_relation() (or the statement itself) opened would be rolled back with everything in it
            body = [f"{{% call statement('{self.name}_{number}', auto_begin=True) -%}}", sql, "{%- endcall %}",
                    "{% do adapter.commit() %}"]
            if model is not None and isinstance(statement, exp.TruncateTable):
                body = [f"{{% if load_relation(ref('{model}')) is not none %}}", *body, "{% endif %}"]
            lines += body
        return "\n".join([*lines, "{% endmacro %}"]) + "\n"

    def _render(self, statement: exp.Expression) -> tuple[str, str | None]:
        tree, refs = statement.copy(), {}
        for table in list(tree.find_all(exp.Table)):
            parameter = self.parameters.get(table.db)
            model = self.models.get(table_key(parameter, table.name)) if parameter else None
            if model is not None:
                token = f"DCF_REF_{len(refs)}_X"
                refs[token] = model
                table.replace(exp.to_table(token))
        sql = tree.sql(dialect=self.dialect)
        for token, model in refs.items():
            sql = sql.replace(token, f"{{{{ ref('{model}') }}}}")
        for token, parameter in self.parameters.items():
            sql = sql.replace(token, f"{{{{ var('{parameter}') }}}}")
        return sql, next(iter(refs.values()), None)


def is_operation_job(graph: PxGraph) -> bool:
    """Only row generators and connectors in PL/SQL write mode (no table written): the job's effect is SQL."""
    connectors = [read_connector(s) for s in graph.stages.values() if s.stage_type != GENERATOR]
    return bool(connectors) and all(c is not None and c.write_mode == "plsql" and not c.table for c in connectors)


def convert_operation(ctx: ConversionContext) -> Operation:
    """The job's connectors, in graph order, as one operation named after the job."""
    operation = Operation(ctx.job.lower(), "", ctx.dialect, models=ctx.stand_ins.models)
    for stage in ctx.graph.stages.values():
        if stage.stage_type == GENERATOR:
            continue
        operation.stage = operation.stage or stage.name
        [link] = ctx.graph.inputs(stage.name)[:1] or [None]
        if link is None or ctx.graph.stage(link.source).stage_type != GENERATOR:
            raise ConversionError(f"{stage.name}: PL/SQL write mode fed by something other than a row generator")
        records = _records(link.properties_out.get("records"))
        ctx.verdict(link.source, AUTO, f"{records} row(s): runs {stage.name}'s per-row PL/SQL "
                                       f"{'once' if records == 1 else f'{records} times'}")
        _connector_statements(stage.name, read_connector(stage), records, operation, ctx)
    return operation


def _records(text: str | None) -> int:
    return int(text) if text and text.strip().isdigit() else DEFAULT_RECORDS


def _connector_statements(stage: str, connector: Connector, records: int, operation: Operation,
                          ctx: ConversionContext) -> None:
    dropped: list[str] = []
    count = len(operation.statements)
    for part, text, times in (("Before SQL", connector.before_sql, 1), ("per-row PL/SQL", connector.plsql, records),
                              ("After SQL", connector.after_sql, 1)):
        for statement in read_statements(text or "") * times:
            if statement.kind == "call" and statement.name.startswith(_STATISTICS):
                dropped.append(statement.name)
            elif statement.kind == "call":
                raise ConversionError(f"{stage}: {part} calls {statement.name}: a procedure is not converted")
            elif statement.kind == "sql":
                operation.statements.append(_parsed(statement, operation))
    note = f"an operation (macro {operation.name}): {len(operation.statements) - count} statement(s)"
    if dropped:
        note += f"; {len(dropped)} {dropped[0].split('(')[0]} call(s) dropped: the warehouse keeps its own statistics"
    note += "; a table the project builds is emptied only once its model has built it"
    ctx.verdict(stage, SEMI if dropped else AUTO, note)


def _parsed(statement: Statement, operation: Operation) -> exp.Expression:
    def stand_in(match) -> str:
        token = f"DCF_PARAMETER_{len(operation.parameters)}_X"
        operation.parameters[token] = match.group(1)
        return token

    text = PARAMETER.sub(stand_in, statement.text)
    try:
        return sqlglot.parse_one(text, read="oracle")
    except sqlglot.errors.ParseError as error:
        raise ConversionError(f"{statement.text[:80]!r} does not parse as Oracle SQL: "
                              f"{str(error).splitlines()[0]}") from None
