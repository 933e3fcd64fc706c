"""An export file, recognised by its content (never its extension), and the jobs in it.

    for item in read_export(Path("project.isx")):    # DsJob, or ReadProblem for what could not be read
        ...

ISX: a ZIP (``PK``) of one XML asset per job, ``<host>/<project>/<folder…>/NAME.<ext>``; entries are read
one at a time, bounded in number and size (a ZIP bomb is refused). XML export: ``<?xml`` or ``<``. DSX: text
starting ``BEGIN HEADER``. Both XML forms (XMI, and the older ``<DSExport><Job>``) are told apart in
dcf.datastage.xmi.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from dcf.datastage.dsx import read_dsx
from dcf.datastage.model import DsJob, ReadProblem
from dcf.datastage.xmi import read_xmi

#: ISX asset extensions that hold jobs (and parameter sets); the rest (.tbd, .srt, .bin) are counted, not read.
JOB_ASSETS = {".qjb": "sequence", ".pjb": "parallel", ".sjb": "server", ".pst": "parameter_set"}
MAX_ENTRIES = 100_000
MAX_ENTRY_BYTES = 200_000_000
MAX_EXPORT_BYTES = 2_000_000_000


def export_format(path: Path) -> str | None:
    """``isx``, ``xml`` or ``dsx`` from the first bytes of the file; None if it is none of them."""
    with path.open("rb") as handle:
        head = handle.read(512)
    if head.startswith(b"PK"):
        return "isx"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"BEGIN HEADER"):
        return "dsx"
    if text.startswith(b"<"):
        return "xml"
    return None


def read_export(path: Path) -> Iterator[DsJob | ReadProblem]:
    """The jobs of one export file; what cannot be read is a :class:`ReadProblem`, never an exception."""
    try:
        size = path.stat().st_size
        kind = export_format(path)
    except OSError as error:
        yield ReadProblem(str(path), f"cannot read ({error.strerror})")
        return
    if size > MAX_EXPORT_BYTES:
        yield ReadProblem(str(path), f"{size:,} bytes; an export may be at most {MAX_EXPORT_BYTES:,}")
    elif kind == "dsx":
        yield from read_dsx(path)
    elif kind == "xml":
        with path.open("rb") as stream:
            yield from read_xmi(stream, str(path))
    elif kind == "isx":
        yield from _read_isx(path)
    else:
        yield ReadProblem(str(path), "not an export: neither an ISX archive, an XML export nor a DSX file")


def _read_isx(path: Path) -> Iterator[DsJob | ReadProblem]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        yield ReadProblem(str(path), f"not a readable ISX archive: {error}")
        return
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            yield ReadProblem(str(path), f"{len(entries):,} entries; an ISX may hold at most {MAX_ENTRIES:,}")
            return
        for entry in sorted(entries, key=lambda e: e.filename):
            suffix = Path(entry.filename).suffix.lower()
            if suffix not in JOB_ASSETS:
                continue
            source = f"{path}!{entry.filename}"
            if entry.file_size > MAX_ENTRY_BYTES:
                yield ReadProblem(source, f"{entry.file_size:,} bytes uncompressed; at most {MAX_ENTRY_BYTES:,}")
                continue
            folder = "/".join(Path(entry.filename).parts[2:-1])  # after <host>/<project>
            try:
                with archive.open(entry) as stream:
                    for item in read_xmi(stream, source, folder):
                        if isinstance(item, DsJob) and JOB_ASSETS[suffix] == "parameter_set":
                            item.kind = "parameter_set"
                        yield item
            except (zipfile.BadZipFile, OSError, EOFError) as error:
                yield ReadProblem(source, f"the archive is damaged here: {error}")
