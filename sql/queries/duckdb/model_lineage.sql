-- Generated from ../snowflake/model_lineage.sql by `python -m dcf.execlog.queries --write`; do not edit.
-- Direct dependencies (sources and refs) of one model in one job (hierarchical spec: "Get model lineage").
-- DuckDB: SET VARIABLE job_id = 'JOB_<invocation_id>'; SET VARIABLE model_name = '<model>';
SELECT
    m.PROCESS_STEP_ID,
    CAST(m.STEP_EXECUTION_OBJ->>'$.model_name' AS VARCHAR) AS model_name,
    CAST(f.value->>'$.type' AS VARCHAR) AS source_type,
    CAST(f.value->>'$.name' AS VARCHAR) AS source_name,
    CAST(f.value->>'$.node_id' AS VARCHAR) AS node_id
FROM PROCESS_EXECUTION_LOG m,
     json_each(m.SOURCE_OBJ) AS f
WHERE m.PARENT_STEP_ID = getvariable('job_id')
  AND m.RECORD_TYPE = 'MODEL'
  AND CAST(m.STEP_EXECUTION_OBJ->>'$.model_name' AS VARCHAR) = getvariable('model_name')
ORDER BY source_type, source_name;
