"""The DEMO_DWH DataStage corpus as the tests read it: the export and data files copied verbatim from
``../shared/datastage-corpus/`` (``test_corpus_copy`` keeps them byte-identical), and its answer keys."""

from __future__ import annotations

import functools
from typing import Any

import yaml

from dcf.paths import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "tests" / "data" / "datastage-corpus"
#: The shared original, beside the project's clone (absent on a machine that only has the clone).
SHARED_CORPUS = PROJECT_ROOT.parent / "shared" / "datastage-corpus"
SEQUENCES = CORPUS / "sequences"
SEQUENCES_ISX = SEQUENCES / "DEMO_DWH_sequences.isx"
SEQUENCES_XML = SEQUENCES / "export.xml"
SEQUENCES_DSX = SEQUENCES / "legacy.dsx"
PARALLEL = CORPUS / "parallel"


@functools.cache
def sequence_key() -> dict[str, Any]:
    """``sequences/expected.yaml``: per sequence its activities, triggers and scenario tables."""
    return yaml.safe_load((SEQUENCES / "expected.yaml").read_text(encoding="utf-8"))["sequences"]


@functools.cache
def _parallel_answer_key() -> dict[str, Any]:
    return yaml.safe_load((PARALLEL / "expected.yaml").read_text(encoding="utf-8"))


def parallel_key() -> dict[str, Any]:
    """``parallel/expected.yaml``: per parallel job its stages, links (with column counts), targets and data."""
    return _parallel_answer_key()["jobs"]


def parallel_parameter_sets() -> dict[str, str]:
    """The parameter-set member values the key's SQL is shown with (``PS_DWH.SCHEMA`` -> ``DWH``)."""
    return _parallel_answer_key()["parameter_sets"]


def parallel_parameters() -> dict[str, str]:
    """The job parameter values the key's rows were computed with (``PM_RUN_DATE`` -> ``2024-01-31``)."""
    return _parallel_answer_key()["parameters"]


#: The parallel jobs converted whole into models (PX_TRUNCATE_STAGE, whole too, becomes an operation).
CONVERTED = ["PX_FILTER_SPLIT", "PX_FUNNEL_ADDRESSES", "PX_MODIFY_CAST", "PX_FCT_TRANSACTION", "PX_NZ_EXPORT",
             "PX_DIM_CUSTOMER_SCD", "PX_STG_CUSTOMER", "PX_LOAD_FILE_ACCOUNTS", "PX_CHECKSUM_HASH"]
#: Those that read a file (a Sequential File source): Snowflake reads it from a stage fakesnow does not have.
READS_A_FILE = ["PX_LOAD_FILE_ACCOUNTS"]


def parallel_jobs() -> dict[str, Any]:
    """The corpus ISX's parallel jobs by name, as the importer reads them (``DsJob`` with its stage graph)."""
    from dcf.datastage.containers import read_export
    from dcf.datastage.model import DsJob

    return {job.name: job for job in read_export(PARALLEL / "DEMO_DWH_parallel.isx") if isinstance(job, DsJob)}
