"""The dbt execution log: PROCESS_EXECUTION_LOG JOB + MODEL rows, model executions, job runs.

Owns the event fold (``fold``: dbt node events into job and model state, and the row shapes), the
buffered writer (``writer``), the spec's example queries (``queries``) and the sweeper that closes rows a
killed process left RUNNING (``sweep``).

May import: ``dcf.store``.
"""
