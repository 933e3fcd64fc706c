"""Prefect-free core of DCF Flows: stream configuration, control-table definitions, SQL per dialect.

Nothing in this package imports Prefect, so it can be used from scripts, tests and notebooks alike.
"""
