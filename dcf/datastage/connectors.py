"""A connector stage's settings (Oracle, Netezza, JDBC): its ``XMLProperties`` document read into one record.

    connector = read_connector(stage)       # None for a stage that is not a connector
    connector.context, connector.table, connector.select, connector.write_mode, connector.before_sql

``XMLProperties`` is an XML document inside an attribute (already unescaped by the XMI reader): it declares
``encoding='UTF-16'`` although it is text, values are CDATA, and a value may be followed by child elements
(``<TableName>DWH.T<TableScope …/></TableName>``): the value is the element's own text. Parsed with defusedxml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from defusedxml.ElementTree import fromstring

from dcf.datastage.px_graph import PxStage

CONNECTOR_TYPES = {"OracleConnectorPX": "oracle", "NetezzaConnectorPX": "netezza", "JDBCConnectorPX": "jdbc"}
#: Oracle connector ``WriteMode`` codes seen in real exports (others are reported, never guessed).
ORACLE_WRITE_MODES = {0: "insert", 1: "update", 4: "update_then_insert", 6: "bulk_load", 8: "plsql"}
TABLE_ACTIONS = {0: "append", 1: "create", 2: "replace", 3: "truncate"}
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_BEFORE_AFTER = {"before_sql": "BeforeSQL", "after_sql": "AfterSQL", "before_sql_node": "BeforeSQLNode",
                 "after_sql_node": "AfterSQLNode"}


@dataclass
class Connector:
    kind: str  # oracle / netezza / jdbc
    context: str  # source / target
    generate_sql: bool = False
    table: str | None = None
    select: str | None = None
    #: ``insert`` … (``ORACLE_WRITE_MODES``); None with ``write_mode_code`` set: a code we do not know.
    write_mode: str | None = None
    write_mode_code: int | None = None
    table_action: str | None = None
    before_sql: str | None = None
    after_sql: str | None = None
    before_sql_node: str | None = None
    after_sql_node: str | None = None
    plsql: str | None = None
    partitioned_reads: bool = False


def _value(root: Any, path: str) -> str | None:
    element = root.find(path)
    if element is None or element.text is None:
        return None
    return element.text.replace("\r\n", "\n").strip() or None


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.strip().lstrip("-").isdigit() else None


def read_connector(stage: PxStage) -> Connector | None:
    kind = CONNECTOR_TYPES.get(stage.stage_type)
    text = stage.properties.get("XMLProperties")
    if kind is None or not text:
        return None
    root = fromstring(_DECLARATION.sub("", text, count=1), forbid_dtd=True)
    context = "target" if _value(root, "Common/Context") == "2" else "source"
    connector = Connector(kind=kind, context=context, generate_sql=_value(root, "Usage/GenerateSQL") == "1",
                          table=_value(root, "Usage/TableName"), select=_value(root, "Usage/SQL/SelectStatement"),
                          partitioned_reads=_value(root, "Usage/EnablePartitionedReads") == "1"
                          or _value(root, "Usage/SQL/EnablePartitionedReads") == "1")
    connector.write_mode_code = _int(_value(root, "Usage/WriteMode"))
    if connector.write_mode_code is not None and kind == "oracle":
        connector.write_mode = ORACLE_WRITE_MODES.get(connector.write_mode_code)
    action = _int(_value(root, "Usage/TableAction"))
    connector.table_action = None if action is None else TABLE_ACTIONS.get(action, f"code {action}")
    connector.plsql = _value(root, "Usage/SQL/PlSqlStatement") or _value(root, "Usage/PlSqlStatement")
    switch = "Usage/BeforeAfter" if root.find("Usage/BeforeAfter") is not None else "Usage/BeforeAfterSQL"
    if _value(root, switch) == "1":  # the statements count only when Before/After SQL is switched on
        for attribute, name in _BEFORE_AFTER.items():
            setattr(connector, attribute, _value(root, f"{switch}/{name}"))
    return connector
