{#
    Typed view over the raw landing rows. Nothing is rejected here: values that do not cast become
    NULL (TRY_CAST) and the rule checks in int_bcfinsg_validated decide what that means.
    Restricted to the run's process date when var run_stream_process_date is set.
#}
{%- set process_date = var('run_stream_process_date', '') -%}

with raw as (

    select * from {{ source('bcfinsg_raw', 'plan_baln_segm') }}
    {% if process_date %}
    where cast(PRCS_DATE as date) = cast('{{ process_date }}' as date)
    {% endif %}

)

select
    -- lineage
    trim(RECORD_ID)                                                  as record_id,
    SRC_FILE_NAME                                                    as src_file_name,
    cast(SRC_ROW_NUM as bigint)                                      as src_row_num,
    cast(PRCS_DATE as date)                                          as process_date,
    cast(PRCS_INST_ID as bigint)                                     as prcs_inst_id,
    ODS_BATCH_ID                                                     as ods_batch_id,
    INGEST_TS                                                        as ingest_ts,

    -- natural key
    nullif(trim(ACCT_NUM), '')                                       as acct_num,
    try_cast(trim(PLAN_ID) as bigint)                                as plan_id,
    try_cast(trim(PLAN_SEGM_ID) as integer)                          as plan_segm_id,

    -- codes: trimmed, upper case, blank -> NULL
    nullif(upper(trim(PLAN_TYPE_CD)), '')                            as plan_type_cd,
    nullif(upper(trim(SEGM_TYPE_CD)), '')                            as segm_type_cd,
    nullif(upper(trim(CURR_CD)), '')                                 as curr_cd,
    nullif(upper(trim(SEGM_STATUS_CD)), '')                          as segm_status_cd,

    -- amounts and rate
    try_cast(trim(PLAN_BALN_AMT) as decimal(18, 2))                  as plan_baln_amt,
    try_cast(trim(PRIN_BALN_AMT) as decimal(18, 2))                  as prin_baln_amt,
    try_cast(trim(INTR_BALN_AMT) as decimal(18, 2))                  as intr_baln_amt,
    try_cast(trim(FEE_BALN_AMT) as decimal(18, 2))                   as fee_baln_amt,
    try_cast(trim(INTR_RATE_PCT) as decimal(9, 4))                   as intr_rate_pct,

    -- dates (ISO YYYY-MM-DD in the file)
    {{ try_cast_iso_date('PLAN_OPEN_DT') }}                          as plan_open_dt,
    {{ try_cast_iso_date('PLAN_EXPR_DT') }}                          as plan_expr_dt,
    {{ try_cast_iso_date('LAST_STMT_DT') }}                          as last_stmt_dt

from raw
