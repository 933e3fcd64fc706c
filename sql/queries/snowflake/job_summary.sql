-- Summary of one dbt job (hierarchical spec: "Get job summary").
-- Snowflake: SET job_id = 'JOB_<invocation_id>';
SELECT
    PROCESS_STEP_ID,
    EXECUTION_STATUS_NAME,
    EXECUTION_START_TWSTP,
    EXECUTION_END_TWSTP,
    SOURCE_DATA_CNT AS total_rows,
    STEP_EXECUTION_OBJ:job_status::string AS job_status,
    DESTINATION_DATA_CNT_OBJ:total_models::int AS total_models,
    DESTINATION_DATA_CNT_OBJ:successful_models::int AS successful,
    DESTINATION_DATA_CNT_OBJ:failed_models::int AS failed,
    DESTINATION_DATA_CNT_OBJ:skipped_models::int AS skipped
FROM PROCESS_EXECUTION_LOG
WHERE PROCESS_STEP_ID = $job_id
  AND RECORD_TYPE = 'JOB';
