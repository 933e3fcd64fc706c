"""The control tables, defined once. :mod:`dcf.store.migrate` renders them to DuckDB or Snowflake DDL.

Column types are logical (see :func:`dcf.store.dialect.render_type`): ``json`` is VARIANT on Snowflake and JSON on
DuckDB. Every nullable column says in its comment what NULL means there.
"""

from __future__ import annotations

from enum import StrEnum

from dcf.store.statuses import (
    ArchiveStatus,
    InstanceStatus,
    LifecycleStage,
    LogStatus,
    ModelExecutionStatus,
    NotificationStatus,
    NotificationType,
    OrchestrationStatus,
    StageStatus,
    StreamStatus,
)
from dcf.store.table import NOT_NULL as _NOT_NULL
from dcf.store.table import Table
from dcf.store.table import column as _c


def _one_of(vocabulary: type[StrEnum]) -> str:
    return ", ".join(vocabulary)



DCF_T_STRM = Table(
    "DCF_T_STRM",
    "One row per stream (migrated DataStage sequence), registered from configs/streams/*.yaml.",
    (
        _c("STRM_ID", "bigint", "Stream id (1490 for BCFINSG).", **_NOT_NULL),
        _c("STRM_NAME", "string(200)", "Stream name, e.g. BCFINSG_PLAN_BALN_SEGM_LOAD.", **_NOT_NULL),
        _c("STRM_DESC", "string(2000)", "What the stream loads. NULL: no description in the YAML."),
        _c("STRM_STATUS", "string(20)", f"{_one_of(StreamStatus)}; only ACTIVE streams run.", **_NOT_NULL),
        _c("DATASTAGE_SEQUENCE", "string(200)", "Original DataStage sequence. NULL: not a migration."),
        _c("CONFIG_PATH", "string(1000)", "The YAML file the row was registered from.", **_NOT_NULL),
        _c("CONFIG_HASH", "string(64)", "sha256 of that YAML, to see when a stream's definition changed.",
           **_NOT_NULL),
        _c("CREATED_TS", "timestamp", "When the stream was first registered.", **_NOT_NULL),
        _c("UPDATED_TS", "timestamp", "When the row last changed.", **_NOT_NULL),
        _c("CLAIM_OWNER", "string(300)", "Who runs the stream now: the flow run id (or host:pid) that claimed it "
           "with a compare-and-set UPDATE. NULL: idle."),
        _c("CLAIM_PRCS_INST_ID", "bigint", "The RUNNING process instance the claim is for; released when that "
           "instance ends. NULL: idle."),
        _c("CLAIM_TS", "timestamp", "When the claim was taken. NULL: idle."),
    ),
    key=("STRM_ID",),
)

DCF_T_PRCS_INST = Table(
    "DCF_T_PRCS_INST",
    "One row per process instance (one run of a stream for a process date); replaces GetODSProcId.",
    (
        _c("PRCS_INST_ID", "bigint", "Process instance id from sequence DCF_S_PRCS_INST_ID.", **_NOT_NULL),
        _c("STRM_ID", "bigint", "Stream id.", **_NOT_NULL),
        _c("STRM_NAME", "string(200)", "Stream name.", **_NOT_NULL),
        _c("PRCS_DATE", "date", "Business (process) date the instance loads.", **_NOT_NULL),
        _c("ODS_BATCH_ID", "string(100)", "Batch id passed to dbt as ods_batch_id.", **_NOT_NULL),
        _c("PRCS_STATUS", "string(30)",
           f"{_one_of(InstanceStatus)}.", **_NOT_NULL),
        _c("ORCHESTRATION_STATUS", "string(30)",
           f"{_one_of(OrchestrationStatus)}. NULL: not assessed yet."),
        _c("LAST_GOOD_STAGE", "string(50)", "Last stage that finished; a restart resumes after it. "
           "NULL: no stage finished yet."),
        _c("PRCS_START_TS", "timestamp", "When the instance was allocated.", **_NOT_NULL),
        _c("PRCS_END_TS", "timestamp", "When it ended. NULL while RUNNING."),
        _c("FLOW_RUN_ID", "string(64)", "Prefect flow run that owns the instance. NULL: run outside Prefect."),
        _c("DEPLOYMENT_ID", "string(64)", "Prefect deployment. NULL: not run from a deployment."),
        _c("ERROR_MESSAGE", "string(4000)", "Why it failed. NULL unless FAILED, CRASHED or CANCELLED."),
        _c("EXEC_USER_ID", "string(200)", "OS or service user that ran it.", **_NOT_NULL),
        _c("UPDATED_TS", "timestamp", "When the row last changed.", **_NOT_NULL),
        _c("CONFIG_HASH", "string(64)", "sha256 of the stream YAML the instance started with; a resume on "
           "another definition is refused. NULL: started before this column existed."),
        _c("OWNER_HOST", "string(255)", "Host of the process that runs (or last ran) the instance: reconcile "
           "closes a RUNNING instance whose process is gone. NULL: not recorded."),
        _c("OWNER_PID", "bigint", "Its process id. NULL: not recorded."),
        _c("OWNER_PID_START", "string(64)", "Its start time (tells a reused pid apart). NULL: not known."),
        _c("PARENT_PRCS_INST_ID", "bigint", "The process instance whose stream activity ran this one (a nested "
           "sequence). NULL: run on its own."),
        _c("HEARTBEAT_TS", "timestamp", "Last sign of life of the owning process (it beats while RUNNING). "
           "NULL: not recorded."),
        _c("STALE_AFTER_S", "bigint", "The stream's stale_after in seconds: reconcile takes a RUNNING instance "
           "without a heartbeat for this long as dead. NULL: no heartbeat rule."),
    ),
    key=("PRCS_INST_ID",),
)

DCF_T_PRCS_EXEC_LOG = Table(
    "DCF_T_PRCS_EXEC_LOG",
    "One row per stage of a process instance (validate, process_id, ingest, dbt_build, metadata, ...).",
    (
        _c("PRCS_INST_ID", "bigint", "Process instance the stage belongs to.", **_NOT_NULL),
        _c("PRCS_NAME", "string(100)", "Stage name.", **_NOT_NULL),
        _c("STRM_ID", "bigint", "Stream id.", **_NOT_NULL),
        _c("STRM_NAME", "string(200)", "Stream name.", **_NOT_NULL),
        _c("PRCS_DATE", "date", "Process date of the instance.", **_NOT_NULL),
        _c("ODS_BATCH_ID", "string(100)", "Batch id of the instance.", **_NOT_NULL),
        _c("PRCS_START_TS", "timestamp", "When the stage (last) started.", **_NOT_NULL),
        _c("PRCS_END_TS", "timestamp", "When the stage ended. NULL while RUNNING."),
        _c("PRCS_STATUS", "string(30)", f"{_one_of(StageStatus)}.",
           **_NOT_NULL),
        _c("PRCS_STATISTICS", "json", "Stage statistics (load statistics for the metadata stage). "
           "NULL: the stage reports none."),
        _c("ERROR_MESSAGE", "string(4000)", "Error text. NULL unless FAILED."),
        _c("ATTEMPT", "bigint", "How many times the stage has started for this instance.", **_NOT_NULL),
        _c("TASK_RUN_ID", "string(64)", "Prefect task run of the last attempt. NULL: run outside Prefect."),
        _c("EXEC_USER_ID", "string(200)", "OS or service user that ran it.", **_NOT_NULL),
        _c("UPDATED_TS", "timestamp", "When the row last changed.", **_NOT_NULL),
    ),
    key=("PRCS_INST_ID", "PRCS_NAME"),
)

DCF_T_DATA_LINEAGE = Table(
    "DCF_T_DATA_LINEAGE",
    "One row per landing file delivery consumed by a stream (a file of a date, loaded by one process instance): "
    "where it came from, where it went, how long it is kept. A RESET re-delivery is a row of its own.",
    (
        _c("STRM_ID", "bigint", "Stream id.", **_NOT_NULL),
        _c("PRCS_DATE", "date", "Process date the file belongs to.", **_NOT_NULL),
        _c("SOURCE_FILE_NAME", "string(500)", "Landing file name.", **_NOT_NULL),
        _c("PRCS_INST_ID", "bigint", "Process instance that loaded it.", **_NOT_NULL),
        _c("ODS_BATCH_ID", "string(100)", "Batch id of that instance.", **_NOT_NULL),
        _c("SOURCE_FILE_PATH", "string(2000)", "Where the file was found.", **_NOT_NULL),
        _c("FILE_SIZE_BYTES", "bigint", "File size.", **_NOT_NULL),
        _c("FILE_SHA256", "string(64)", "Content hash, to recognise a re-delivered file.", **_NOT_NULL),
        _c("RECORD_COUNT", "bigint", "Data rows loaded from the file.", **_NOT_NULL),
        _c("REJECTED_RECORD_COUNT", "bigint", "Rows of the file that did not parse and were left out (within "
           "landing.max_rejects; listed in <file>.rejects.csv beside the archive). NULL: loaded before DCF "
           "counted them."),
        _c("TARGET_RELATION", "string(500)", "Raw table the file was loaded into.", **_NOT_NULL),
        _c("LOADED_TS", "timestamp", "When it was loaded.", **_NOT_NULL),
        _c("ARCHIVE_STATUS", "string(30)", f"{_one_of(ArchiveStatus)}: PENDING until archived.", **_NOT_NULL),
        _c("ARCHIVE_PATH", "string(2000)", "Where the file was archived. NULL: not archived yet."),
        _c("ARCHIVE_TS", "timestamp", "When it was archived. NULL: not archived yet."),
        _c("RETENTION_EXPIRY_DATE", "date", "Process date + retention days. NULL: not archived yet."),
        _c("LIFECYCLE_STAGE", "string(30)", f"{_one_of(LifecycleStage)}.", **_NOT_NULL),
        _c("UPDATED_TS", "timestamp", "When the row last changed.", **_NOT_NULL),
    ),
    key=("STRM_ID", "PRCS_DATE", "SOURCE_FILE_NAME", "PRCS_INST_ID"),
)

DCF_T_NOTIFICATIONS = Table(
    "DCF_T_NOTIFICATIONS",
    "Load reports and failure reports, queued PENDING and moved to SENT or FAILED by the report stage.",
    (
        _c("NOTIFICATION_ID", "string(200)", "<PRCS_INST_ID>-<NOTIFICATION_TYPE>; "
           "<PRCS_INST_ID>-<activity> for a notify activity.", **_NOT_NULL),
        _c("NOTIFICATION_TYPE", "string(50)", f"{_one_of(NotificationType)}.", **_NOT_NULL),
        _c("STRM_ID", "bigint", "Stream id.", **_NOT_NULL),
        _c("STRM_NAME", "string(200)", "Stream name.", **_NOT_NULL),
        _c("PRCS_INST_ID", "bigint", "Process instance reported on.", **_NOT_NULL),
        _c("PRCS_DATE", "date", "Its process date.", **_NOT_NULL),
        _c("NOTIFICATION_CONTENT", "json", "The load report JSON.", **_NOT_NULL),
        _c("NOTIFICATION_STATUS", "string(20)", f"{_one_of(NotificationStatus)}.", **_NOT_NULL),
        _c("DELIVERY_CHANNELS", "json", "Notification block names it was sent to. NULL: none configured."),
        _c("DELIVERY_ERROR", "string(4000)", "Why delivery failed. NULL unless FAILED."),
        _c("CREATED_TS", "timestamp", "When the report was queued.", **_NOT_NULL),
        _c("SENT_TS", "timestamp", "When delivery finished. NULL while PENDING."),
        _c("UPDATED_TS", "timestamp", "When the row last changed.", **_NOT_NULL),
    ),
    key=("NOTIFICATION_ID",),
)

PROCESS_EXECUTION_LOG = Table(
    "PROCESS_EXECUTION_LOG",
    "dbt execution log: one JOB row per dbt invocation and one MODEL row per model, written live.",
    (
        _c("PROCESS_EXECUTION_LOG_SK", "bigint", "Surrogate key, from the table's sequence.", identity=True),
        _c("PROCESS_CONFIG_SK", "bigint", "Reserved for a process-config table. NULL: not used."),
        _c("PROCESS_STEP_ID", "string(500)", "JOB_<invocation_id>, or JOB_<invocation_id>_MODEL_<model>.",
           **_NOT_NULL),
        _c("EXECUTION_STATUS_NAME", "string(50)", f"{_one_of(LogStatus)}.", **_NOT_NULL),
        _c("EXECUTION_COMPLETED_IND", "flag", "N while RUNNING, Y once ended.", **_NOT_NULL),
        _c("EXECUTION_START_TWSTP", "timestamp", "When the job or model started.", **_NOT_NULL),
        _c("EXECUTION_END_TWSTP", "timestamp", "When it ended. NULL while RUNNING."),
        _c("SOURCE_OBJ", "json", "JOB: project; MODEL: direct dependencies source_1..n. "
           "NULL: not known (legacy rows)."),
        _c("DESTINATION_OBJ", "json", "JOB: target; MODEL: database, schema, table, materialization. "
           "NULL: not known (legacy rows)."),
        _c("PROCESS_CONFIG_OBJ", "json", "invocation, project, target, threads, dbt version, Prefect run, "
           "stream and PRCS_INST_ID. NULL: legacy rows."),
        _c("SOURCE_DATA_CNT", "bigint", "JOB: rows over all models; MODEL: rows in the destination. "
           "NULL: not counted (views, running, failed)."),
        _c("DESTINATION_DATA_CNT_OBJ", "json", "JOB: model and test counts. NULL on MODEL rows and while "
           "RUNNING."),
        _c("EXECUTION_TYPE_NAME", "string(50)", "DBT_JOB_RUN, INCREMENTAL_LOAD, TRUNCATE_FULL_LOAD, "
           "VIEW_REFRESH, ...", **_NOT_NULL),
        _c("EXTRACT_START_TWSTP", "timestamp", "Start of the extract window (= execution start). "
           "NULL: legacy rows."),
        _c("EXTRACT_END_TWSTP", "timestamp", "End of the extract window. NULL while RUNNING."),
        _c("ERROR_MESSAGE_OBJ", "json", "Error details. NULL unless FAILED (or a JOB with failed models)."),
        _c("STEP_EXECUTION_OBJ", "json", "Timeline of the job or model (spec shape). NULL: legacy rows."),
        _c("INSERT_TWSTP", "timestamp", "When the row was first written.", **_NOT_NULL),
        _c("UPDATE_TWSTP", "timestamp", "When the row last changed.", **_NOT_NULL),
        _c("DELETED_IND", "flag", "Y: logically deleted.", **_NOT_NULL),
        _c("PARENT_STEP_ID", "string(500)", "MODEL rows: the JOB's PROCESS_STEP_ID. NULL on JOB rows."),
        _c("RECORD_TYPE", "string(50)", "JOB or MODEL (rows from before the hierarchy were set to JOB)."),
    ),
    key=("PROCESS_STEP_ID",),
)

PROFILE_RUNS = Table(
    "PROFILE_RUNS",
    "One row per profiling run of one table. Written only by the profiling code, idempotently (MERGE).",
    (
        _c("RUN_ID", "string(36)", "Surrogate key: a UUID generated by the profiling code.", **_NOT_NULL),
        _c("TARGET_DB", "string(255)", "Database of the profiled table.", **_NOT_NULL),
        _c("TARGET_SCHEMA", "string(255)", "Schema of the profiled table.", **_NOT_NULL),
        _c("TARGET_TABLE", "string(255)", "Profiled table.", **_NOT_NULL),
        _c("STARTED_AT", "timestamp", "When the run started.", **_NOT_NULL),
        _c("FINISHED_AT", "timestamp", "When the run ended. NULL while STATUS = RUNNING."),
        _c("STATUS", "string(20)", "RUNNING, then SUCCEEDED or FAILED (no other transition).", **_NOT_NULL),
        _c("SAMPLE_RATE", "float", "Share of rows profiled (0 < rate <= 1). NULL: the whole table."),
        _c("SAMPLE_SEED", "bigint", "Seed of the sample. NULL: no sample or no seed given."),
        _c("ROW_COUNT", "bigint", "Rows profiled. NULL until the run succeeds."),
        _c("WAREHOUSE_NAME", "string(255)", "Snowflake warehouse. NULL: inherited/not set, or DuckDB."),
        _c("ROLE_NAME", "string(255)", "Snowflake role. NULL: session role inherited, or DuckDB."),
        _c("GIT_COMMIT", "string(64)", "Commit of the profiling code. NULL: not known (manual run)."),
        _c("NOTE", "string(4000)", "Free note. NULL: none."),
        _c("ERROR_CODE", "string(100)", "Error class when FAILED. NULL otherwise."),
        _c("ERROR_MESSAGE", "string(4000)", "Error text when FAILED. NULL otherwise."),
        _c("TRIGGERED_BY", "string(255)", "User, deployment or schedule that started it. NULL: not known."),
        _c("JOB_NAME", "string(255)", "Flow or job name. NULL: called directly."),
        _c("REQUEST_ID", "string(255)", "Prefect flow run id or caller's request id. NULL: not known."),
        _c("UPDATED_AT", "timestamp", "When the row last changed. NULL: never changed since insert."),
    ),
    key=("RUN_ID",),
)

PROFILE_RESULTS = Table(
    "PROFILE_RESULTS",
    "N metric rows per profiling run: one per (RUN_ID, COLUMN_NAME, METRIC_NAME).",
    (
        _c("RUN_ID", "string(36)", "PROFILE_RUNS.RUN_ID.", **_NOT_NULL),
        _c("COLUMN_NAME", "string(255)", "Profiled column; '*' for table-level metrics.", **_NOT_NULL),
        _c("METRIC_NAME", "string(100)", "row_count, null_count, distinct_count, min, max, ...", **_NOT_NULL),
        _c("COLUMN_TYPE", "string(100)", "Column data type. NULL for table-level metrics."),
        _c("METRIC_VALUE", "float", "Numeric value. NULL when the metric is not a number (see METRIC_JSON)."),
        _c("METRIC_TEXT", "string(4000)", "Text value (min/max of text or dates). NULL when numeric."),
        _c("METRIC_JSON", "json", "Structured value (quantiles, top values). NULL when scalar."),
        _c("CREATED_AT", "timestamp", "When the result was written.", **_NOT_NULL),
    ),
    key=("RUN_ID", "COLUMN_NAME", "METRIC_NAME"),
)

DBT_MODEL_EXECUTIONS = Table(
    "DBT_MODEL_EXECUTIONS",
    "One row per dbt node result, for cost and reuse analysis (model cost calculator spec).",
    (
        _c("INVOCATION_ID", "string(64)", "dbt invocation id.", **_NOT_NULL),
        _c("NODE_ID", "string(500)", "dbt unique_id of the node.", **_NOT_NULL),
        _c("MODEL_NAME", "string(255)", "Model name.", **_NOT_NULL),
        _c("RELATION_NAME", "string(1000)", "database.schema.table. NULL: node has no relation."),
        _c("MODEL_PACKAGE", "string(255)", "Package the model is defined in.", **_NOT_NULL),
        _c("MODEL_TYPE", "string(50)", "Materialization (table, view, incremental, ...).", **_NOT_NULL),
        _c("STATUS", "string(20)", f"{_one_of(ModelExecutionStatus)}.", **_NOT_NULL),
        _c("EXECUTION_TIME", "float", "Seconds. NULL: not executed (skipped, reused)."),
        _c("QUERY_ID", "string(200)", "Last query id the adapter reported. NULL: adapter reports none."),
        _c("INSERT_TIMESTAMP", "timestamp", "When this row was written.", **_NOT_NULL),
        _c("PREFECT_FLOW_RUN_ID", "string(64)", "Prefect flow run (in place of dbt Cloud run id). "
           "NULL: run outside Prefect."),
        _c("PREFECT_DEPLOYMENT_ID", "string(64)", "Prefect deployment (in place of dbt Cloud job id). "
           "NULL: not run from a deployment."),
        _c("PREFECT_FLOW_ID", "string(64)", "Prefect flow (in place of dbt Cloud project id). "
           "NULL: run outside Prefect."),
        _c("STREAM_NAME", "string(200)", "Stream that ran the build. NULL: run outside a stream."),
        _c("PRCS_INST_ID", "bigint", "Process instance. NULL: run outside a stream."),
        _c("DBT_VERSION", "string(50)", "dbt-core version.", **_NOT_NULL),
        _c("RUN_STARTED_AT", "timestamp", "When the dbt invocation started.", **_NOT_NULL),
        _c("NODE_CONFIG", "json", "The node's config. NULL: not available."),
    ),
    key=("INVOCATION_ID", "NODE_ID"),
)

DBT_PLATFORM_JOB_RUNS = Table(
    "DBT_PLATFORM_JOB_RUNS",
    "One row per dbt invocation with the run context (Prefect in place of dbt Cloud).",
    (
        _c("INVOCATION_ID", "string(64)", "dbt invocation id.", **_NOT_NULL),
        _c("PREFECT_FLOW_RUN_ID", "string(64)", "Prefect flow run. NULL: run outside Prefect."),
        _c("PREFECT_DEPLOYMENT_ID", "string(64)", "Prefect deployment. NULL: not from a deployment."),
        _c("PREFECT_FLOW_ID", "string(64)", "Prefect flow. NULL: run outside Prefect."),
        _c("PREFECT_WORK_POOL", "string(255)", "Work pool. NULL: not run by a worker."),
        _c("DBT_RUN_CONTEXT", "json", "Run context: flow run, deployment, parameters, git branch/commit, ...",
           **_NOT_NULL),
        _c("INSERT_TIMESTAMP", "timestamp", "When this row was written.", **_NOT_NULL),
    ),
    key=("INVOCATION_ID",),
)

DBT_REUSE_STATE = Table(
    "DBT_REUSE_STATE",
    "State-aware reuse: per (dbt project, stream, node) the record of its last good build in that stream "
    "(dcf.build.reuse). Kept with the control tables, so that any worker can pick up any stream.",
    (
        _c("PROJECT_NAME", "string(255)", "dbt project name.", **_NOT_NULL),
        _c("STREAM_NAME", "string(200)", "Stream whose builds the record is of ('_adhoc': a build outside a stream).",
           **_NOT_NULL),
        _c("NODE_ID", "string(500)", "dbt unique_id of the node.", **_NOT_NULL),
        _c("STATE_FORMAT", "bigint", "Version of the record's layout; another version is ignored (the node builds).",
           **_NOT_NULL),
        _c("BUILT_BY", "string(64)", "dbt invocation whose result the record keeps.", **_NOT_NULL),
        _c("RECORD", "json", "Signature, vars, input fingerprints and parent builds the node was built with.",
           **_NOT_NULL),
        _c("UPDATED_TS", "timestamp", "When this row was written.", **_NOT_NULL),
    ),
    key=("PROJECT_NAME", "STREAM_NAME", "NODE_ID"),
)

COMPARE_RUNS = Table(
    "COMPARE_RUNS",
    "Parallel run: one row per comparison of a legacy relation with its migrated one (dcf.compare). Written "
    "once per comparison (MERGE on COMPARE_ID: a repeated comparison replaces its row).",
    (
        _c("COMPARE_ID", "string(200)", "The comparison: '<PRCS_INST_ID>:<activity>' in a stream, else a flow run "
           "id.", **_NOT_NULL),
        _c("STRM_NAME", "string(200)", "Stream whose activity compared. NULL: an ad-hoc comparison."),
        _c("PRCS_INST_ID", "bigint", "Process instance of that run. NULL: ad hoc."),
        _c("ACTIVITY_NAME", "string(200)", "The compare activity (its row name). NULL: ad hoc."),
        _c("PROCESS_DATE", "date", "Business day compared. NULL: no process date."),
        _c("LEGACY_RELATION", "string(1000)", "Legacy side, as the warehouse names it.", **_NOT_NULL),
        _c("NEW_RELATION", "string(1000)", "Migrated side, as the warehouse names it.", **_NOT_NULL),
        _c("LEGACY_FILTER", "string(4000)", "Condition on the legacy side. NULL: none."),
        _c("NEW_FILTER", "string(4000)", "Condition on the new side. NULL: none."),
        _c("KEY_COLUMNS", "string(4000)", "Join key, comma-separated.", **_NOT_NULL),
        _c("ROWS_LEGACY", "bigint", "Rows on the legacy side (after its filter).", **_NOT_NULL),
        _c("ROWS_NEW", "bigint", "Rows on the new side (after its filter).", **_NOT_NULL),
        _c("FINGERPRINT_LEGACY", "string(100)", "Order-independent hash of the legacy side's compared columns."),
        _c("FINGERPRINT_NEW", "string(100)", "Same for the new side."),
        _c("DECIDED_BY", "string(20)", "fingerprint (equal: no join) or join.", **_NOT_NULL),
        _c("ONLY_LEGACY", "bigint", "Rows whose key the new side lacks.", **_NOT_NULL),
        _c("ONLY_NEW", "bigint", "Rows whose key the legacy side lacks.", **_NOT_NULL),
        _c("DUP_ROWS_LEGACY", "bigint", "Legacy rows sharing their key with another.", **_NOT_NULL),
        _c("DUP_ROWS_NEW", "bigint", "New rows sharing their key with another.", **_NOT_NULL),
        _c("MATCHED_ROWS", "bigint", "Keys both sides hold once.", **_NOT_NULL),
        _c("DIFFERING_ROWS", "bigint", "Of those, rows with a compared column that differs.", **_NOT_NULL),
        _c("VERDICT", "string(20)", "MATCH or MISMATCH.", **_NOT_NULL),
        _c("OUTCOME", "string(30)", "COMPLETED, COMPLETED_WITH_WARNINGS (within thresholds) or FAILED.", **_NOT_NULL),
        _c("SAMPLES", "json", "Keys only on one side and duplicate keys (bounded sample). NULL: none."),
        _c("STATEMENTS", "string(200)", "Statements sent, in order (fingerprint, compare, samples).", **_NOT_NULL),
        _c("DURATION_S", "float", "Seconds the comparison took.", **_NOT_NULL),
        _c("CREATED_AT", "timestamp", "When the row was written.", **_NOT_NULL),
    ),
    key=("COMPARE_ID",),
)

COMPARE_COLUMNS = Table(
    "COMPARE_COLUMNS",
    "Parallel run: one row per compared column of a comparison (COMPARE_RUNS), with its mismatch counts.",
    (
        _c("COMPARE_ID", "string(200)", "COMPARE_RUNS.COMPARE_ID.", **_NOT_NULL),
        _c("COLUMN_NAME", "string(255)", "Column on the legacy side.", **_NOT_NULL),
        _c("NEW_COLUMN_NAME", "string(255)", "Its name on the new side.", **_NOT_NULL),
        _c("VALUE_MISMATCHES", "bigint", "Both sides have a value and they differ (beyond tolerance).", **_NOT_NULL),
        _c("NULL_MISMATCHES", "bigint", "One side NULL, the other a value.", **_NOT_NULL),
        _c("WITHIN_TOLERANCE", "bigint", "Numbers that differ within the tolerance (not mismatches).", **_NOT_NULL),
        _c("SAMPLES", "json", "Bounded sample: kind, key, legacy and new value. NULL: none."),
    ),
    key=("COMPARE_ID", "COLUMN_NAME"),
)

TABLES: tuple[Table, ...] = (
    DCF_T_STRM,
    DCF_T_PRCS_INST,
    DCF_T_PRCS_EXEC_LOG,
    DCF_T_DATA_LINEAGE,
    DCF_T_NOTIFICATIONS,
    PROCESS_EXECUTION_LOG,
    PROFILE_RUNS,
    PROFILE_RESULTS,
    DBT_MODEL_EXECUTIONS,
    DBT_PLATFORM_JOB_RUNS,
    DBT_REUSE_STATE,
    COMPARE_RUNS,
    COMPARE_COLUMNS,
)

#: Sequences: the process-instance allocator (atomic, unlike MAX+1) and the log's surrogate key.
PRCS_INST_SEQUENCE = "DCF_S_PRCS_INST_ID"
SEQUENCES: tuple[str, ...] = (PRCS_INST_SEQUENCE, "PROCESS_EXECUTION_LOG_SK_SEQ")


def identity_sequence(table: Table) -> str:
    return f"{table.name}_SK_SEQ"
