"""Which warehouse a run writes to: the block it names, else the local DuckDB default.

    from blocks.default_warehouse import load_warehouse
    warehouse = load_warehouse(stream.config.warehouse_block)   # None: the local DuckDB default
    with warehouse.connect() as conn: ...

A named block is a :class:`blocks.warehouse.DcfWarehouse`; that module imports prefect-snowflake for the
block's connector field, and prefect-snowflake imports the Snowflake connector, its Snowpark Container
Services worker and pandas: seconds of a local run spent on a warehouse it does not use. So the default is a
:class:`blocks.local_warehouse.LocalWarehouse`, and the block module is imported only when a block is named.
"""

from __future__ import annotations

import os

from blocks.local_warehouse import LocalWarehouse, Warehouse


def load_warehouse(block_name: str | None = None) -> Warehouse:
    """The named block, else the block named in ``DCF_WAREHOUSE_BLOCK``, else the local DuckDB default."""
    name = block_name or os.environ.get("DCF_WAREHOUSE_BLOCK")
    if name:
        from blocks.warehouse import DcfWarehouse

        return DcfWarehouse.load(name)
    return LocalWarehouse()
