-- Generated from ../snowflake/job_with_models.sql by `python -m dcf.execlog.queries --write`; do not edit.
-- One job and all its models side by side (hierarchical spec: "Get job and all its models").
-- DuckDB: SET VARIABLE job_id = 'JOB_<invocation_id>';
WITH job AS (
    SELECT *
    FROM PROCESS_EXECUTION_LOG
    WHERE PROCESS_STEP_ID = getvariable('job_id')
      AND RECORD_TYPE = 'JOB'
),
models AS (
    SELECT *
    FROM PROCESS_EXECUTION_LOG
    WHERE PARENT_STEP_ID = getvariable('job_id')
      AND RECORD_TYPE = 'MODEL'
)
SELECT
    j.PROCESS_STEP_ID AS job_id,
    j.EXECUTION_STATUS_NAME AS job_status,
    j.EXECUTION_START_TWSTP AS job_start,
    j.EXECUTION_END_TWSTP AS job_end,
    m.PROCESS_STEP_ID AS model_id,
    CAST(m.STEP_EXECUTION_OBJ->>'$.model_name' AS VARCHAR) AS model_name,
    m.EXECUTION_STATUS_NAME AS model_status,
    m.SOURCE_DATA_CNT AS model_row_count,
    m.EXECUTION_TYPE_NAME AS execution_type
FROM job j
LEFT JOIN models m ON 1 = 1
ORDER BY m.EXECUTION_START_TWSTP, m.PROCESS_STEP_ID;
