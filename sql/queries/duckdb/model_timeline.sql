-- Generated from ../snowflake/model_timeline.sql by `python -m dcf.execlog.queries --write`; do not edit.
-- Execution timeline of one model in one job (hierarchical spec: "Get execution timeline for a model").
-- DuckDB: SET VARIABLE job_id = 'JOB_<invocation_id>'; SET VARIABLE model_name = '<model>';
SELECT
    m.PROCESS_STEP_ID,
    CAST(m.STEP_EXECUTION_OBJ->>'$.model_name' AS VARCHAR) AS model_name,
    CAST(t.value->>'$.step_number' AS BIGINT) AS step_number,
    CAST(t.value->>'$.timestamp' AS VARCHAR) AS step_timestamp,
    CAST(t.value->>'$.step_type' AS VARCHAR) AS step_type,
    CAST(t.value->>'$.title' AS VARCHAR) AS title,
    CAST(t.value->>'$.query_id' AS VARCHAR) AS query_id,
    t.value->'$.query_result' AS query_result
FROM PROCESS_EXECUTION_LOG m,
     json_each(m.STEP_EXECUTION_OBJ->'$.execution_timeline') AS t
WHERE m.PARENT_STEP_ID = getvariable('job_id')
  AND m.RECORD_TYPE = 'MODEL'
  AND CAST(m.STEP_EXECUTION_OBJ->>'$.model_name' AS VARCHAR) = getvariable('model_name')
ORDER BY CAST(t.value->>'$.step_number' AS BIGINT);
