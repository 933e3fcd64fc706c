"""Prefect blocks of DCF Flows. Register them with ``prefect block register -m blocks.warehouse``."""
