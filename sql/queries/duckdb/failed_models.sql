-- Generated from ../snowflake/failed_models.sql by `python -m dcf.execlog.queries --write`; do not edit.
-- Every failed model across all jobs, newest first (hierarchical spec: "Get all failed models across all jobs").
SELECT
    PARENT_STEP_ID AS job_id,
    CAST(STEP_EXECUTION_OBJ->>'$.model_name' AS VARCHAR) AS model_name,
    EXECUTION_START_TWSTP,
    EXECUTION_END_TWSTP,
    CAST(DESTINATION_OBJ->>'$.full_name' AS VARCHAR) AS table_name,
    ERROR_MESSAGE_OBJ
FROM PROCESS_EXECUTION_LOG
WHERE RECORD_TYPE = 'MODEL'
  AND EXECUTION_STATUS_NAME = 'FAILED'
ORDER BY EXECUTION_START_TWSTP DESC, PROCESS_STEP_ID;
