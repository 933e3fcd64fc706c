"""The control store: one connection API over DuckDB and Snowflake, and every control-table row.

Owns the dialects and SQL rendering (``dialect``), the connection (``connection``), the table definitions
and status vocabularies (``schema``, ``statuses``), schema creation (``migrate``), and the reads and writes of each
control table (``streams``, ``instances``, ``stage_rows``, ``lineage``, ``notifications``).

May import: the standard library, database drivers, sqlglot, ``dcf.errors`` and ``dcf.paths``. Nothing
else of the project. The only place in the core that knows which database it talks to.
"""
