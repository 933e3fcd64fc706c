-- Execution timeline of one model in one job (hierarchical spec: "Get execution timeline for a model").
-- Snowflake: SET job_id = 'JOB_<invocation_id>'; SET model_name = '<model>';
SELECT
    m.PROCESS_STEP_ID,
    m.STEP_EXECUTION_OBJ:model_name::string AS model_name,
    t.value:step_number::int AS step_number,
    t.value:timestamp::string AS step_timestamp,
    t.value:step_type::string AS step_type,
    t.value:title::string AS title,
    t.value:query_id::string AS query_id,
    t.value:query_result AS query_result
FROM PROCESS_EXECUTION_LOG m,
     LATERAL FLATTEN(input => m.STEP_EXECUTION_OBJ:execution_timeline) t
WHERE m.PARENT_STEP_ID = $job_id
  AND m.RECORD_TYPE = 'MODEL'
  AND m.STEP_EXECUTION_OBJ:model_name::string = $model_name
ORDER BY t.value:step_number::int;
