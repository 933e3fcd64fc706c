-- Generated from ../snowflake/job_summary.sql by `python -m dcf.execlog.queries --write`; do not edit.
-- Summary of one dbt job (hierarchical spec: "Get job summary").
-- DuckDB: SET VARIABLE job_id = 'JOB_<invocation_id>';
SELECT
    PROCESS_STEP_ID,
    EXECUTION_STATUS_NAME,
    EXECUTION_START_TWSTP,
    EXECUTION_END_TWSTP,
    SOURCE_DATA_CNT AS total_rows,
    CAST(STEP_EXECUTION_OBJ->>'$.job_status' AS VARCHAR) AS job_status,
    CAST(DESTINATION_DATA_CNT_OBJ->>'$.total_models' AS BIGINT) AS total_models,
    CAST(DESTINATION_DATA_CNT_OBJ->>'$.successful_models' AS BIGINT) AS successful,
    CAST(DESTINATION_DATA_CNT_OBJ->>'$.failed_models' AS BIGINT) AS failed,
    CAST(DESTINATION_DATA_CNT_OBJ->>'$.skipped_models' AS BIGINT) AS skipped
FROM PROCESS_EXECUTION_LOG
WHERE PROCESS_STEP_ID = getvariable('job_id')
  AND RECORD_TYPE = 'JOB';
