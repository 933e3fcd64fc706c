"""MvLoadFiles: move consumed landing files into a dated archive and record retention.

A file is archived only when its lineage row says it was loaded; the move is copy, verify, then delete,
so a crash in between leaves the original in place and a re-run finishes the job.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import date, timedelta
from pathlib import Path

from dcf.paths import resolve_under_home


def archive_folder(archive_dir: str, stream_name: str, process_date: date, prcs_inst_id: int) -> Path:
    """``<archive>/<stream>/<YYYY>/<MM>/<DD>/<instance>``: every delivery of a date keeps its own copy (a RESET
    re-delivery never overwrites the one kept for the first)."""
    return resolve_under_home(archive_dir) / stream_name / f"{process_date:%Y/%m/%d}" / str(prcs_inst_id)


def archive_file(source: Path, folder: Path, expected_sha256: str) -> Path:
    """Move ``source`` into ``folder``; idempotent (an already archived, identical file is fine)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    if source.exists():
        if _sha256(source) != expected_sha256:
            raise RuntimeError(f"{source} changed since it was loaded (sha256 differs); not archiving it")
        shutil.copy2(source, target)
        if _sha256(target) != expected_sha256:
            raise RuntimeError(f"archive copy {target} does not match {source}; original kept")
        source.unlink()
    elif not target.exists() or _sha256(target) != expected_sha256:
        raise RuntimeError(f"{source} is gone and no verified archive copy exists at {target}")
    return target


def retention_expiry(process_date: date, retention_days: int) -> date:
    return process_date + timedelta(days=retention_days)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
