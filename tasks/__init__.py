"""Prefect tasks: one module per stage of a stream (plus profiling). Plain functions wrapped as tasks."""
