{#
    Rule-based validation of the staged records (replaces the DataStage transformer reject links).

    Every rule is an explicit boolean column (never NULL). data_quality_score is the weighted
    sum of the passed rules (weights add up to 100). A record is READY_FOR_LOADING only when it
    scores at least var('dq_reject_threshold') (70) AND passes every critical rule; critical rules
    are the ones that would break the fact's key or its references to the code seeds.
#}
{%- set rules = [
    {'name': 'chk_mandatory_present',    'weight': 20, 'critical': true},
    {'name': 'chk_not_duplicate',        'weight': 10, 'critical': true},
    {'name': 'chk_known_plan_type',      'weight': 10, 'critical': true},
    {'name': 'chk_known_segm_type',      'weight': 5,  'critical': true},
    {'name': 'chk_known_currency',       'weight': 10, 'critical': true},
    {'name': 'chk_known_segm_status',    'weight': 5,  'critical': true},
    {'name': 'chk_balance_non_negative', 'weight': 15, 'critical': false},
    {'name': 'chk_balance_reconciles',   'weight': 10, 'critical': false},
    {'name': 'chk_dates_valid',          'weight': 10, 'critical': false},
    {'name': 'chk_rate_in_range',        'weight': 5,  'critical': false},
] -%}
{%- set critical_rules = rules | selectattr('critical') | map(attribute='name') | list -%}
{%- set failed_rule_exprs = [] -%}
{%- for rule in rules -%}
    {%- do failed_rule_exprs.append("case when " ~ rule.name ~ " then '' else '" ~ rule.name ~ ";' end") -%}
{%- endfor -%}

with staged as (

    select * from {{ ref('stg_bcfinsg__plan_baln_segm') }}

),

checked as (

    select
        s.*,

        -- the natural key, the plan type, the currency and the balance must all be present
        (
            s.acct_num is not null and s.plan_id is not null and s.plan_segm_id is not null
            and s.process_date is not null and s.plan_type_cd is not null
            and s.curr_cd is not null and s.plan_baln_amt is not null
        )                                                                   as chk_mandatory_present,

        -- the first occurrence of a natural key in the file wins, later copies fail
        coalesce(
            row_number() over (
                partition by s.acct_num, s.plan_id, s.plan_segm_id, s.process_date
                order by s.src_row_num, s.record_id
            ) = 1,
            false
        )                                                                   as chk_not_duplicate,

        -- codes must exist in the reference seeds
        pt.plan_type_cd is not null                                         as chk_known_plan_type,
        st.segm_type_cd is not null                                         as chk_known_segm_type,
        cc.curr_cd is not null                                              as chk_known_currency,
        ss.segm_status_cd is not null                                       as chk_known_segm_status,

        coalesce(
            s.plan_baln_amt >= 0 and s.prin_baln_amt >= 0
            and s.intr_baln_amt >= 0 and s.fee_baln_amt >= 0,
            false
        )                                                                   as chk_balance_non_negative,

        -- plan balance = principal + interest + fees (to the cent)
        coalesce(
            abs(s.plan_baln_amt - (s.prin_baln_amt + s.intr_baln_amt + s.fee_baln_amt)) < 0.01,
            false
        )                                                                   as chk_balance_reconciles,

        -- open/expiry dates parse and are ordered; no date after the process date where it matters
        coalesce(
            s.plan_open_dt <= s.plan_expr_dt
            and s.plan_open_dt <= s.process_date
            and (s.last_stmt_dt is null or s.last_stmt_dt <= s.process_date),
            false
        )                                                                   as chk_dates_valid,

        coalesce(s.intr_rate_pct between 0 and 60, false)                   as chk_rate_in_range

    from staged as s
    left join {{ ref('ref_plan_type_cd') }} as pt on s.plan_type_cd = pt.plan_type_cd
    left join {{ ref('ref_segm_type_cd') }} as st on s.segm_type_cd = st.segm_type_cd
    left join {{ ref('ref_curr_cd') }} as cc on s.curr_cd = cc.curr_cd
    left join {{ ref('ref_segm_status_cd') }} as ss on s.segm_status_cd = ss.segm_status_cd

),

scored as (

    select
        checked.*,
        (
            {%- for rule in rules %}
            case when {{ rule.name }} then {{ rule.weight }} else 0 end{{ ' +' if not loop.last }}
            {%- endfor %}
        )                                                                   as data_quality_score,
        ({{ critical_rules | join(' and ') }})                              as chk_critical_passed,
        -- e.g. 'chk_known_currency;chk_dates_valid;' -- empty when every rule passed
        {{ dbt.concat(failed_rule_exprs) }}                                 as failed_rules
    from checked

)

select
    -- natural key and surrogate key of the fact (NULL when a key part is missing)
    acct_num,
    plan_id,
    plan_segm_id,
    process_date,
    {{ dbt.hash(dbt.concat([
        "cast(acct_num as " ~ dbt.type_string() ~ ")", "'|'",
        "cast(plan_id as " ~ dbt.type_string() ~ ")", "'|'",
        "cast(plan_segm_id as " ~ dbt.type_string() ~ ")", "'|'",
        "cast(process_date as " ~ dbt.type_string() ~ ")",
    ])) }}                                                                  as plan_baln_segm_sk,

    -- business columns
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

    -- lineage
    src_file_name,
    src_row_num,
    prcs_inst_id,
    ods_batch_id,
    ingest_ts,

    -- rule results, score and routing
    {%- for rule in rules %}
    {{ rule.name }},
    {%- endfor %}
    chk_critical_passed,
    data_quality_score,
    failed_rules,
    case
        when chk_critical_passed and data_quality_score >= {{ var('dq_reject_threshold', 70) }}
            then 'READY_FOR_LOADING'
        else 'REJECTED'
    end                                                                     as final_processing_status,
    case
        when not chk_mandatory_present then 'MANDATORY_FIELD_MISSING'
        when not chk_not_duplicate then 'DUPLICATE_NATURAL_KEY'
        when not chk_critical_passed then 'UNKNOWN_REFERENCE_CODE'
        when data_quality_score < {{ var('dq_reject_threshold', 70) }} then 'LOW_QUALITY_SCORE'
    end                                                                     as rejection_reason

from scored
