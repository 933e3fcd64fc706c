-- All models of one dbt job (hierarchical spec: "Get all models for a specific job").
-- Snowflake: SET job_id = 'JOB_<invocation_id>';
SELECT
    PROCESS_STEP_ID,
    EXECUTION_STATUS_NAME,
    EXECUTION_TYPE_NAME,
    EXECUTION_START_TWSTP,
    EXECUTION_END_TWSTP,
    SOURCE_DATA_CNT AS row_count,
    STEP_EXECUTION_OBJ:model_name::string AS model_name,
    DESTINATION_OBJ:database::string AS database_name,
    DESTINATION_OBJ:schema::string AS schema_name,
    DESTINATION_OBJ:table::string AS table_name
FROM PROCESS_EXECUTION_LOG
WHERE PARENT_STEP_ID = $job_id
  AND RECORD_TYPE = 'MODEL'
ORDER BY EXECUTION_START_TWSTP, PROCESS_STEP_ID;
