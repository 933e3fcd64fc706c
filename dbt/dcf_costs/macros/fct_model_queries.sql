{#-
  fct_model_queries, one implementation per adapter (adapter.dispatch). Both return the same columns:
  one row per query of an executed node (success or error) in the window, with its execution time, credits,
  USD cost and cost_status:
    estimate            - no query history on this adapter: execution time x dcf_costs_credits_per_hour
    attributed          - Snowflake: credits from QUERY_ATTRIBUTION_HISTORY
    attribution_pending - Snowflake: the query is in QUERY_HISTORY, its credits not yet (younger than the lag)
    not_attributed      - Snowflake: no credits after the lag (e.g. a metadata-only or cached query)
    history_pending     - Snowflake: QUERY_HISTORY has no query of this execution yet (younger than the lag)
    history_missing     - Snowflake: still none after the lag
-#}

{% macro fct_model_queries_sql() -%}
    {{ return(adapter.dispatch('fct_model_queries_sql', 'dcf_costs')()) }}
{%- endmacro %}


{% macro default__fct_model_queries_sql() -%}
with executions as (
    select *
    from {{ source('dcf', 'dbt_model_executions') }}
    where status in ('success', 'error')
      and run_started_at >= {{ dcf_costs.window_start(1) }}
)

select
    invocation_id,
    node_id,
    {{ dcf_costs.node_kind('node_id') }} as resource_type,
    model_name,
    model_package,
    relation_name,
    model_type,
    status,
    stream_name,
    prcs_inst_id,
    prefect_flow_run_id,
    run_started_at,
    cast(run_started_at as date) as run_date,
    query_id,
    cast(null as {{ dbt.type_timestamp() }}) as query_start_time,
    cast(null as {{ dbt.type_timestamp() }}) as query_end_time,
    execution_time as execution_seconds,
    cast(null as {{ dbt.type_string() }}) as warehouse_name,
    cast(null as {{ dbt.type_string() }}) as warehouse_size,
    execution_time * {{ dcf_costs.credits_per_second() }} as credits,
    execution_time * {{ dcf_costs.credits_per_second() }} * {{ dcf_costs.price_per_credit() }} as cost_usd,
    'estimate' as cost_status,
    true as is_estimate
from executions
{%- endmacro %}


{% macro snowflake__fct_model_queries_sql() -%}
{%- set history_lag = var('dcf_costs_history_lag_hours') | float -%}
{%- set attribution_lag = var('dcf_costs_attribution_lag_hours') | float -%}
with executions as (
    select *
    from {{ source('dcf', 'dbt_model_executions') }}
    where status in ('success', 'error')
      and run_started_at >= {{ dcf_costs.window_start(1) }}
),

queries as (
    -- dbt appends its JSON query comment (invocation_id, node_id, stream, prcs_inst_id) to every statement
    select
        query_id,
        start_time,
        end_time,
        total_elapsed_time,
        warehouse_name,
        warehouse_size,
        try_parse_json(regexp_substr(query_text, '/\\*\\s*(\\{.*\\})\\s*\\*/', 1, 1, 'e', 1)) as query_comment
    from {{ source('account_usage', 'query_history') }}
    where start_time >= {{ dcf_costs.window_start(1) }}
),

commented as (
    select
        queries.*,
        query_comment:invocation_id::string as comment_invocation_id,
        query_comment:node_id::string as comment_node_id
    from queries
),

attribution as (
    select
        query_id,
        sum(coalesce(credits_attributed_compute, 0) + coalesce(credits_used_query_acceleration, 0)) as credits
    from {{ source('account_usage', 'query_attribution_history') }}
    where start_time >= {{ dcf_costs.window_start(1) }}
    group by query_id
),

matched as (
    -- a node's queries: those whose comment names its invocation and node, plus the query id dbt reported
    select
        executions.*,
        commented.query_id as history_query_id,
        commented.start_time as query_start_time,
        commented.end_time as query_end_time,
        commented.total_elapsed_time,
        commented.warehouse_name,
        commented.warehouse_size
    from executions
    left join commented
        on (commented.comment_invocation_id = executions.invocation_id
            and commented.comment_node_id = executions.node_id)
        or commented.query_id = executions.query_id
)

select
    matched.invocation_id,
    matched.node_id,
    {{ dcf_costs.node_kind('matched.node_id') }} as resource_type,
    matched.model_name,
    matched.model_package,
    matched.relation_name,
    matched.model_type,
    matched.status,
    matched.stream_name,
    matched.prcs_inst_id,
    matched.prefect_flow_run_id,
    matched.run_started_at,
    cast(matched.run_started_at as date) as run_date,
    coalesce(matched.history_query_id, matched.query_id) as query_id,
    matched.query_start_time::timestamp_ntz as query_start_time,
    matched.query_end_time::timestamp_ntz as query_end_time,
    coalesce(matched.total_elapsed_time / 1000.0, matched.execution_time)::float as execution_seconds,
    matched.warehouse_name,
    matched.warehouse_size,
    attribution.credits::float as credits,
    attribution.credits * {{ dcf_costs.price_per_credit() }} as cost_usd,
    case
        when matched.history_query_id is null then
            case when matched.run_started_at > dateadd('minute', -{{ (history_lag * 60) | int }}, sysdate())
                 then 'history_pending' else 'history_missing' end
        when attribution.query_id is null then
            case when matched.query_end_time > dateadd('minute', -{{ (attribution_lag * 60) | int }}, current_timestamp())
                 then 'attribution_pending' else 'not_attributed' end
        else 'attributed'
    end as cost_status,
    false as is_estimate
from matched
left join attribution
    on attribution.query_id = matched.history_query_id
{%- endmacro %}
