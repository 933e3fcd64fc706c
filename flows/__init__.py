"""Prefect flows: the deployment entrypoints of DCF Flows."""
