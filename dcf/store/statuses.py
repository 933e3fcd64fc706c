"""The status vocabularies: one enum per status column, used wherever a status is written or compared.

They are ``StrEnum``: a value read back from the database compares equal to its member.
"""

from __future__ import annotations

from enum import StrEnum


class StreamStatus(StrEnum):
    """DCF_T_STRM.STRM_STATUS."""

    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class InstanceStatus(StrEnum):
    """DCF_T_PRCS_INST.PRCS_STATUS: RUNNING, then exactly one final status."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    COMPLETED_WITH_WARNINGS = "COMPLETED_WITH_WARNINGS"
    FAILED = "FAILED"
    CRASHED = "CRASHED"
    CANCELLED = "CANCELLED"


#: Final instance statuses that a re-run of the same stream and process date resumes.
RESUMABLE = (InstanceStatus.FAILED, InstanceStatus.CRASHED, InstanceStatus.CANCELLED)
FINAL_STATUSES = (InstanceStatus.SUCCEEDED, InstanceStatus.COMPLETED_WITH_WARNINGS, *RESUMABLE)


class OrchestrationStatus(StrEnum):
    """DCF_T_PRCS_INST.ORCHESTRATION_STATUS: the quality verdict of the day (BCFINSG spec)."""

    READY_FOR_LOADING = "READY_FOR_LOADING"
    QUALITY_ISSUES = "QUALITY_ISSUES"
    NO_DATA_AVAILABLE = "NO_DATA_AVAILABLE"


class StageStatus(StrEnum):
    """DCF_T_PRCS_EXEC_LOG.PRCS_STATUS."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_WARNINGS = "COMPLETED_WITH_WARNINGS"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    #: An operator cancelled the run while the stage ran (a restart runs it again).
    CANCELLED = "CANCELLED"


#: Stage statuses a resumed run restores instead of running the stage again.
STAGE_DONE = (StageStatus.COMPLETED, StageStatus.COMPLETED_WITH_WARNINGS)


class ArchiveStatus(StrEnum):
    """DCF_T_DATA_LINEAGE.ARCHIVE_STATUS."""

    PENDING = "PENDING"
    #: The move began (intent recorded first): the file is in landing or already at ARCHIVE_PATH.
    MOVING = "MOVING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class LifecycleStage(StrEnum):
    """DCF_T_DATA_LINEAGE.LIFECYCLE_STAGE."""

    LANDED = "LANDED"
    LOADED = "LOADED"
    ARCHIVED = "ARCHIVED"


class NotificationStatus(StrEnum):
    """DCF_T_NOTIFICATIONS.NOTIFICATION_STATUS."""

    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class NotificationType(StrEnum):
    """DCF_T_NOTIFICATIONS.NOTIFICATION_TYPE."""

    LOAD_COMPLETION_REPORT = "LOAD_COMPLETION_REPORT"
    LOAD_FAILURE_REPORT = "LOAD_FAILURE_REPORT"
    ACTIVITY_NOTIFICATION = "ACTIVITY_NOTIFICATION"


class LogStatus(StrEnum):
    """PROCESS_EXECUTION_LOG.EXECUTION_STATUS_NAME."""

    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    REUSED = "REUSED"
    #: An operator cancelled the run while the invocation (or the model) ran.
    CANCELLED = "CANCELLED"


class RecordType(StrEnum):
    """PROCESS_EXECUTION_LOG.RECORD_TYPE."""

    JOB = "JOB"
    MODEL = "MODEL"


class ProfileStatus(StrEnum):
    """PROFILE_RUNS.STATUS: RUNNING, then SUCCEEDED or FAILED (no other transition)."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class ModelExecutionStatus(StrEnum):
    """DBT_MODEL_EXECUTIONS.STATUS (the cost spec's lower-case vocabulary)."""

    SUCCESS = "success"
    ERROR = "error"
    SKIPPED = "skipped"
    REUSED = "reused"


