"""A Sequential File stage read as a source: the file its ``file`` property names (``#FILE_NAME#`` -> the dbt
var), in the record format of its output pin (``delim='|', quote=none, null_field=''``), every column read as
text in the link's order, as DataStage reads a delimited file by position.

Where the warehouse reads files differs: DuckDB reads the path itself (``read_csv``); Snowflake reads it from a
stage (var ``dcf_file_stage``) with a named file format (var ``dcf_file_format``, its delimiter and header
setting created once to match). An empty field of a nullable column is NULL (``null_field=''``); of a column
that is not nullable, the empty string.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcf.convert.parts import SEMI, ConversionContext, Cte
from dcf.convert.sql import ConversionError, with_vars
from dcf.datastage.properties import composite
from dcf.datastage.px_graph import PxLink, PxStage
from dcf.store.dialect import Dialect

_QUOTES = {"none": "", "double": '"', "single": "'"}
_NAMED_DELIMITERS = {"comma": ",", "tab": "\t", "space": " ", "pipe": "|"}


@dataclass(frozen=True)
class RecordFormat:
    delimiter: str = ","
    quote: str = '"'
    null_field: str | None = None


def read_format(text: str) -> RecordFormat:
    """The pin's ``SchemaFormat`` (``final_delim=end, delim='|', quote=none, null_field=''``): ``key=value``
    pairs separated by commas, a value quoted with ``'`` when it holds one."""
    values: dict[str, str] = {}
    key: str | None = None
    text_so_far, quoted, in_quote = "", False, False
    for char in text + ",":
        if in_quote:
            in_quote = char != "'"
            text_so_far += char if in_quote else ""
        elif char == "'":
            in_quote = quoted = True
        elif char == "=" and key is None:
            key, text_so_far = text_so_far.strip(), ""
        elif char == ",":
            if key:
                values[key] = text_so_far if quoted else text_so_far.strip()
            key, text_so_far, quoted = None, "", False
        else:
            text_so_far += char
    delimiter = values.get("delim", ",")
    quote = values.get("quote", "double")
    if quote not in _QUOTES and len(quote) != 1:
        raise ConversionError(f"record format quote={quote} is not converted")
    return RecordFormat(_NAMED_DELIMITERS.get(delimiter, delimiter), _QUOTES.get(quote, quote),
                        values.get("null_field"))


def named_files(value: str) -> list[str]:
    """The files a sequential file's ``file`` property (a composite: one entry per file) names."""
    return [entry.value for entry in composite(value) if entry.name.strip() == "file"]


def source(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    [link] = ctx.graph.outputs(stage.name) or [None]
    if link is None:
        raise ConversionError(f"{stage.name}: a sequential file without an output link")
    files = named_files(link.properties_out.get("file +", ""))
    if len(files) != 1:
        raise ConversionError(f"{stage.name}: reads {len(files)} files (one file is converted)")
    pin = stage.pins.get(link.source_pin)
    record = read_format(pin.metadata.get("SchemaFormat", "") if pin else "")
    header = link.properties_out.get("firstLineColumnNames", "").strip() == "firstLineColumnNames"
    reader = _duckdb_reader if Dialect(ctx.dialect).files_by_path else _snowflake_reader
    sql = reader(link, with_vars(files[0]), record, header)
    ctx.verdict(stage.name, SEMI, f"the file {files[0]} read as text by position (delimiter {record.delimiter!r}"
                                  f"{', header skipped' if header else ''}); on Snowflake from the stage var "
                                  "dcf_file_stage with the file format var dcf_file_format")
    return [Cte(link.name, sql)]


def _columns(link: PxLink, read: list[str], record: RecordFormat) -> str:
    """Each column as read; an empty field of a column that is not nullable is '' (the reader gives NULL)."""
    parts = []
    for column, value in zip(link.columns, read, strict=True):
        keep = column.nullable and record.null_field == ""
        parts.append(f"{value} AS {column.name}" if keep else f"COALESCE({value}, '') AS {column.name}")
    return ", ".join(parts)


def _duckdb_reader(link: PxLink, path: str, record: RecordFormat, header: bool) -> str:
    types = ", ".join(f"'{c.name}': 'VARCHAR'" for c in link.columns)
    options = (f"delim='{sql_text(record.delimiter)}', quote='{sql_text(record.quote)}', escape='', "
               f"header={'true' if header else 'false'}, auto_detect=false, columns={{{types}}}")
    columns = _columns(link, [c.name for c in link.columns], record)
    return f"SELECT {columns} FROM read_csv('{path}', {options})"


def _snowflake_reader(link: PxLink, path: str, record: RecordFormat, header: bool) -> str:
    read = [f"NULLIF(${n}, '')" for n in range(1, len(link.columns) + 1)]
    columns = _columns(link, read, record)
    return (f"SELECT {columns} FROM @{{{{ var('dcf_file_stage') }}}}/{path} "
            f"(FILE_FORMAT => '{{{{ var('dcf_file_format') }}}}')")


def sql_text(value: str) -> str:
    """``value`` inside a SQL string literal (its quotes doubled)."""
    return value.replace("'", "''")
