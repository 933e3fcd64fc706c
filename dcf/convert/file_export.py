"""A Sequential File target: the rows are a table model, and the file is written from it by the model's
post-hook — the documented export step — in the record format of the stage's input pin (delimiter, quoting,
header line), to the path its ``file`` property names (``#PM_EXPORT_DIR#/x_#PM_RUN_DATE#.csv`` -> dbt vars).

DuckDB writes the path itself (``COPY (…) TO '<path>'``); Snowflake unloads into the stage var
``dcf_file_stage`` (``COPY INTO @stage/<path> … SINGLE = TRUE``). A table has no order: the file's rows are
sorted by its columns, left to right (DataStage writes them in processing order; where that order is the source
SQL's and the first columns carry it, the two agree). Appending to the file is not converted.
"""

from __future__ import annotations

from dcf.convert.parts import ConversionContext
from dcf.convert.sql import ConversionError, with_vars
from dcf.convert.stages.sequential_file import RecordFormat, named_files, read_format, sql_text
from dcf.datastage.px_graph import PxLink, PxStage
from dcf.store.dialect import Dialect


def export_hook(stage: PxStage, link: PxLink, ctx: ConversionContext) -> str:
    """The post-hook that writes the file of ``stage`` from its model (``{{ this }}``)."""
    files = named_files(link.properties_in.get("file", ""))
    if len(files) != 1:
        raise ConversionError(f"{stage.name}: writes {len(files)} files (one file is converted)")
    if link.properties_in.get("append\\overwrite", "overwrite").strip() != "overwrite":
        raise ConversionError(f"{stage.name}: appends to its file: an export step rewrites it whole")
    pin = stage.pins.get(link.target_pin)
    record = read_format(pin.metadata.get("SchemaFormat", "") if pin else "")
    header = link.properties_in.get("firstLineColumnNames", "").strip() == "firstLineColumnNames"
    path = with_vars(files[0])
    rows = f"SELECT * FROM {{{{ this }}}} ORDER BY {', '.join(c.name for c in link.columns)}"
    if Dialect(ctx.dialect).files_by_path:
        return _duckdb_copy(rows, path, record, header)
    return _snowflake_unload(rows, path, record, header)


def _duckdb_copy(rows: str, path: str, record: RecordFormat, header: bool) -> str:
    quote = f", FORCE_QUOTE *, QUOTE '{sql_text(record.quote)}'" if record.quote else ", QUOTE ''"
    return (f"COPY ({rows}) TO '{path}' (FORMAT CSV, HEADER {'true' if header else 'false'}, "
            f"DELIMITER '{sql_text(record.delimiter)}'{quote})")


def _snowflake_unload(rows: str, path: str, record: RecordFormat, header: bool) -> str:
    enclosed = f"'{sql_text(record.quote)}'" if record.quote else "NONE"
    return (f"COPY INTO @{{{{ var('dcf_file_stage') }}}}/{path} FROM ({rows}) FILE_FORMAT = (TYPE = CSV "
            f"FIELD_DELIMITER = '{sql_text(record.delimiter)}' FIELD_OPTIONALLY_ENCLOSED_BY = {enclosed} "
            f"COMPRESSION = NONE NULL_IF = ('')) HEADER = {'TRUE' if header else 'FALSE'} SINGLE = TRUE "
            "OVERWRITE = TRUE")
