"""Fixtures of the converter tests."""

from __future__ import annotations

import pytest

from dcf.datastage.model import DsJob
from tests.datastage.corpus import parallel_jobs


@pytest.fixture(scope="module")
def jobs() -> dict[str, DsJob]:
    """The corpus's parallel jobs by name, read once per test module."""
    return parallel_jobs()
