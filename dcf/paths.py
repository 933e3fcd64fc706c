"""Where the embedded default keeps its state: everything lives under one directory, ``DCF_HOME``.

``DCF_HOME`` defaults to ``./.dcf`` (git-ignored). Tests point it at a temporary directory.

>>> from dcf.paths import dcf_home, warehouse_path
>>> warehouse_path().name
'warehouse.duckdb'
"""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root: configs, the dbt projects and prefect.yaml are found relative to it.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def dcf_home() -> Path:
    """The directory that holds all local state (created on first use)."""
    home = Path(os.environ.get("DCF_HOME", PROJECT_ROOT / ".dcf")).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def warehouse_path() -> Path:
    """The DuckDB file that holds both the local warehouse and the control tables."""
    return dcf_home() / "warehouse.duckdb"


def resolve_under_home(path: str | Path) -> Path:
    """A relative path from config is taken relative to ``DCF_HOME``; an absolute one is kept."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else dcf_home() / path


def resolve_under_project(path: str | Path) -> Path:
    """A relative path from config (a dbt project dir, say) is taken relative to the repository root."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path
