"""A stream: its YAML definition and the Prefect-free logic of its stages.

Owns the stream definition (``definition``: YAML model, one-line errors), a prepared run (``run``),
landing files and their load (``landing``), archiving (``archive``), load statistics and the quality
verdict (``load_statistics``) and the load report (``load_report``).

May import: ``dcf.store`` and the standard library, pydantic and PyYAML.
"""
