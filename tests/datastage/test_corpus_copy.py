"""The corpus in the project's test data is the shared corpus, byte for byte (the readers are tested against
the exports as they are, never against friendlier copies)."""

from __future__ import annotations

import pytest

from tests.datastage.corpus import CORPUS, SHARED_CORPUS

pytestmark = pytest.mark.unit


def _files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix != ".md"}


def test_the_copied_corpus_is_byte_identical_to_the_shared_one():
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"{SHARED_CORPUS} is not beside this clone")
    shared, copied = _files(SHARED_CORPUS), _files(CORPUS)
    assert sorted(shared) == sorted(copied), "files missing from (or added to) tests/data/datastage-corpus"
    different = [name for name in shared if shared[name] != copied[name]]
    assert not different, f"differ from the shared corpus: {different}"


def test_the_copy_holds_the_exports_and_the_answer_keys_but_no_format_notes():
    names = set(_files(CORPUS))
    assert {"sequences/DEMO_DWH_sequences.isx", "sequences/export.xml", "sequences/legacy.dsx",
            "sequences/expected.yaml", "parallel/DEMO_DWH_parallel.isx", "parallel/expected.yaml"} <= names
    assert not list(CORPUS.rglob("*.md"))
