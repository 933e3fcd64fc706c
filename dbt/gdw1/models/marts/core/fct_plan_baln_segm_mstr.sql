{#
    Plan balance segment master fact (DataStage LdBCFINSGPlanBalnSegmMstr).
    One row per (account, plan, segment, process date); only READY_FOR_LOADING records are loaded.
    A re-run of a process date replaces that date's rows (the pre-hook deletes them first, so keys that
    dropped out of a corrected re-delivery go too); delete+insert on the surrogate key keeps a build
    without a process date from duplicating rows. Other dates are untouched.
#}
{{ config(
    materialized='incremental',
    unique_key='plan_baln_segm_sk',
    incremental_strategy='delete+insert',
    pre_hook="{{ delete_process_date('process_date') }}",
) }}

{%- set process_date = var('run_stream_process_date', '') -%}
{%- set ods_batch_id = var('ods_batch_id', '') -%}
{%- set prcs_inst_id = var('prcs_inst_id', 0) | int -%}

select
    plan_baln_segm_sk,
    acct_num,
    plan_id,
    plan_segm_id,
    process_date,
    record_id,
    plan_type_cd,
    segm_type_cd,
    curr_cd,
    plan_baln_amt,
    prin_baln_amt,
    intr_baln_amt,
    fee_baln_amt,
    intr_rate_pct,
    plan_open_dt,
    plan_expr_dt,
    last_stmt_dt,
    segm_status_cd,
    data_quality_score,
    src_file_name,
    -- the run's ids when the flow passes them, else the ids stamped on the raw row at ingest
    {% if ods_batch_id -%}
    cast('{{ ods_batch_id | replace("'", "''") }}' as {{ dbt.type_string() }}) as ods_batch_id,
    {%- else -%}
    cast(ods_batch_id as {{ dbt.type_string() }}) as ods_batch_id,
    {%- endif %}
    {% if prcs_inst_id > 0 -%}
    cast({{ prcs_inst_id }} as bigint) as prcs_inst_id,
    {%- else -%}
    cast(prcs_inst_id as bigint) as prcs_inst_id,
    {%- endif %}
    cast('{{ var("stream_name") | replace("'", "''") }}' as {{ dbt.type_string() }}) as stream_name,
    cast({{ var("stream_id") | int }} as integer) as stream_id,
    cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }}) as load_timestamp

from {{ ref('int_bcfinsg_validated') }}
where final_processing_status = 'READY_FOR_LOADING'
{% if process_date %}
  and process_date = cast('{{ process_date }}' as date)
{% endif %}
