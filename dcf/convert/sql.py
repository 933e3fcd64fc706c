"""SQL text of converted jobs: DataStage SQL and expressions in, the warehouse's dialect out, through sqlglot.

Parameters (``#PS_SRC.SCHEMA#``) and source tables are not SQL sqlglot can parse: they travel through it as
stand-in identifiers and come back as dbt Jinja (``{{ var('PS_SRC.SCHEMA') }}``, ``{{ source('ps_src', 'LOAN') }}``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlglot

from dcf.datastage.px_graph import PxColumn
from dcf.errors import DcfError

PARAMETER = re.compile(r"#([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)#")
#: ``#PS_SRC.SCHEMA#.LOAN`` (or ``#PS.DB#..T`` on Netezza): a table in a parameterised schema.
SOURCE_TABLE = re.compile(r"#([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)#\.\.?([A-Za-z_][\w$]*)")
_TYPES = {"String": "VARCHAR", "Int32": "INTEGER", "Int64": "BIGINT", "Int16": "SMALLINT", "Int8": "TINYINT",
          "Date": "DATE", "Datetime": "TIMESTAMP", "Time": "TIME", "Dfloat": "DOUBLE", "Sfloat": "FLOAT"}


class ConversionError(DcfError):
    """Something of a job that cannot be converted (it goes to the report as MANUAL, never silently)."""


def sql_type(column: PxColumn) -> str:
    if column.type_code == "Decimal":
        return f"DECIMAL({column.length or 38}, {column.scale or 0})"
    if column.type_code not in _TYPES:
        raise ConversionError(f"column {column.name}: type {column.type_code or '(none)'} has no SQL type here")
    base = _TYPES[column.type_code]
    return f"VARCHAR({column.length})" if base == "VARCHAR" and column.length else base


def source_name(parameter: str) -> str:
    """The dbt source of tables in the schema a parameter names: ``PS_SRC.SCHEMA`` -> ``ps_src``."""
    return re.sub(r"[^a-z0-9]+", "_", parameter.split(".")[0].lower()).strip("_")


def table_key(parameter: str, table: str) -> str:
    """A table as jobs name it, one way whatever the dialect: ``#PS_DWH.SCHEMA#.STG_X``."""
    return f"#{parameter}#.{table}".upper()


@dataclass
class StandIns:
    """Parameters and source tables replaced by identifiers sqlglot accepts, and put back as Jinja."""

    jinja: dict[str, str] = field(default_factory=dict)
    #: (source name, schema parameter, table) of every source table met.
    sources: set[tuple[str, str, str]] = field(default_factory=set)
    #: Tables other converted jobs build (:func:`table_key` -> their model): read with ``ref()``, not as sources.
    models: dict[str, str] = field(default_factory=dict)

    def hide(self, text: str) -> str:
        def table(match: re.Match[str]) -> str:
            parameter, name = match.group(1), match.group(2).upper()
            model = self.models.get(table_key(parameter, name))
            if model is not None:
                return self._stand_in(f"{{{{ ref('{model}') }}}}")
            self.sources.add((source_name(parameter), parameter, name))
            return self._stand_in(f"{{{{ source('{source_name(parameter)}', '{name}') }}}}")

        text = SOURCE_TABLE.sub(table, text)
        return PARAMETER.sub(lambda m: self._stand_in(f"{{{{ var('{m.group(1)}') }}}}"), text)

    def parameter(self, name: str) -> str:
        """A stand-in for job parameter ``name`` (a value, rendered as ``{{ var('name') }}``)."""
        return self._stand_in(f"{{{{ var('{name}') }}}}")

    def _stand_in(self, jinja: str) -> str:
        token = f"DCF_STAND_IN_{len(self.jinja)}_X"
        self.jinja[token] = jinja
        return token

    def show(self, sql: str) -> str:
        for token, jinja in sorted(self.jinja.items(), key=lambda item: -len(item[0])):
            sql = re.sub(rf'"?\b{token}\b"?', lambda _m, j=jinja: j, sql)
        return sql


def with_vars(text: str) -> str:
    """Text that is not SQL (a file path) with each ``#param#`` as ``{{ var('param') }}``."""
    return PARAMETER.sub(lambda match: f"{{{{ var('{match.group(1)}') }}}}", text)


def transpile(text: str, stand_ins: StandIns, *, read: str, write: str, condition: bool = False) -> str:
    """One statement (or, with ``condition``, one boolean expression) from ``read``'s dialect into ``write``'s."""
    hidden = stand_ins.hide(text.strip().rstrip(";"))
    try:
        parsed = sqlglot.parse_one(hidden if not condition else f"SELECT 1 WHERE {hidden}", read=read)
    except sqlglot.errors.ParseError as error:
        raise ConversionError(f"{text!r} does not parse as {read} SQL: {str(error).splitlines()[0]}") from None
    if condition:
        parsed = parsed.args["where"].this
    return stand_ins.show(parsed.sql(dialect=write))
