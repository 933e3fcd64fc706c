"""Parallel jobs converted to dbt models: one model per target, a CTE per link, SQL rendered by sqlglot.

Prefect-free. ``dcf.convert.job.convert_job(job)`` gives the models and sources of one job and, per stage, the
tier of its conversion (AUTO, SEMI: converted with a stated approximation, MANUAL: left to a person).
"""
