-- Direct dependencies (sources and refs) of one model in one job (hierarchical spec: "Get model lineage").
-- Snowflake: SET job_id = 'JOB_<invocation_id>'; SET model_name = '<model>';
SELECT
    m.PROCESS_STEP_ID,
    m.STEP_EXECUTION_OBJ:model_name::string AS model_name,
    f.value:type::string AS source_type,
    f.value:name::string AS source_name,
    f.value:node_id::string AS node_id
FROM PROCESS_EXECUTION_LOG m,
     LATERAL FLATTEN(input => m.SOURCE_OBJ) f
WHERE m.PARENT_STEP_ID = $job_id
  AND m.RECORD_TYPE = 'MODEL'
  AND m.STEP_EXECUTION_OBJ:model_name::string = $model_name
ORDER BY source_type, source_name;
