"""The core of DCF Flows: everything that is not Prefect.

Subpackages, lowest first: ``store`` (the control tables: connection, dialects, schema, rows),
``stream`` (a stream's definition and the stage logic of a run), ``build`` (dbt in-process, reuse, costs),
``execlog`` (the dbt execution log), ``profiling`` (Great Expectations profiles), ``demo`` (synthetic data).

Import rule (enforced by ``tests/test_architecture.py``): nothing here imports ``prefect``, ``prefect_dbt``,
``flows``, ``tasks``, ``runtime`` or ``blocks``. Prefect-aware code passes what it knows in (a logger, the
run's ids, an observer) instead.
"""
