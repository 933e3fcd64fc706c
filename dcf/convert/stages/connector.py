"""A source connector: its user SQL (Oracle or Netezza, rendered for the warehouse) or the SELECT the connector
would generate from its table and the link's columns."""

from __future__ import annotations

from dcf.convert.parts import AUTO, ConversionContext, Cte
from dcf.convert.sql import ConversionError, transpile
from dcf.datastage.connectors import read_connector
from dcf.datastage.px_graph import PxStage

_READ = {"oracle": "oracle", "netezza": "postgres", "jdbc": "oracle"}  # sqlglot has no Netezza: close to Postgres


def source(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    connector = read_connector(stage)
    if connector is None or connector.context != "source":
        raise ConversionError(f"{stage.name}: not a source connector")
    [link] = ctx.graph.outputs(stage.name) or [None]
    if link is None:
        raise ConversionError(f"{stage.name}: a source without an output link")
    if connector.generate_sql or not connector.select:
        if not connector.table:
            raise ConversionError(f"{stage.name}: neither user SQL nor a table to read")
        text = f"SELECT {', '.join(c.name for c in link.columns)} FROM {connector.table}"
    else:
        text = connector.select
    sql = transpile(text, ctx.stand_ins, read=_READ[connector.kind], write=ctx.dialect)
    notes = []
    if connector.before_sql or connector.after_sql:
        notes.append("its Before/After SQL on a source is left out (session settings do not change the rows)")
    ctx.verdict(stage.name, AUTO, "; ".join(["user SQL" if not connector.generate_sql else "generated SELECT",
                                             *notes]))
    return [Cte(link.name, sql)]
