-- Generated from ../snowflake/job_models.sql by `python -m dcf.execlog.queries --write`; do not edit.
-- All models of one dbt job (hierarchical spec: "Get all models for a specific job").
-- DuckDB: SET VARIABLE job_id = 'JOB_<invocation_id>';
SELECT
    PROCESS_STEP_ID,
    EXECUTION_STATUS_NAME,
    EXECUTION_TYPE_NAME,
    EXECUTION_START_TWSTP,
    EXECUTION_END_TWSTP,
    SOURCE_DATA_CNT AS row_count,
    CAST(STEP_EXECUTION_OBJ->>'$.model_name' AS VARCHAR) AS model_name,
    CAST(DESTINATION_OBJ->>'$.database' AS VARCHAR) AS database_name,
    CAST(DESTINATION_OBJ->>'$.schema' AS VARCHAR) AS schema_name,
    CAST(DESTINATION_OBJ->>'$.table' AS VARCHAR) AS table_name
FROM PROCESS_EXECUTION_LOG
WHERE PARENT_STEP_ID = getvariable('job_id')
  AND RECORD_TYPE = 'MODEL'
ORDER BY EXECUTION_START_TWSTP, PROCESS_STEP_ID;
