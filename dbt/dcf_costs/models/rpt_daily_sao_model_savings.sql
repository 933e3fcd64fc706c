{#-
  Per model and day: how often it was reused vs executed, what an executed run costs on average (over every
  successful run in the window with a known cost) and what the reuses therefore saved.
-#}
with runs as (
    select
        invocation_id,
        node_id,
        model_name,
        model_package,
        status,
        cast(run_started_at as date) as run_date
    from {{ source('dcf', 'dbt_model_executions') }}
    where status in ('success', 'error', 'reused')
      and {{ dcf_costs.node_kind('node_id') }} in ('model', 'seed', 'snapshot')
      and run_started_at >= {{ dcf_costs.window_start() }}
),

run_costs as (
    select invocation_id, node_id, sum(credits) as credits, sum(cost_usd) as cost_usd
    from {{ ref('fct_model_queries') }}
    group by invocation_id, node_id
),

costed_runs as (
    select runs.*, run_costs.credits, run_costs.cost_usd
    from runs
    left join run_costs
        on run_costs.invocation_id = runs.invocation_id
        and run_costs.node_id = runs.node_id
),

model_average as (
    select
        node_id,
        avg(credits) as avg_credits_per_run,
        avg(cost_usd) as avg_cost_per_run_usd
    from costed_runs
    where status = 'success' and cost_usd is not null
    group by node_id
),

daily as (
    select
        run_date,
        node_id,
        max(model_name) as model_name,
        max(model_package) as model_package,
        sum(case when status = 'reused' then 1 else 0 end) as reuse_count,
        sum(case when status in ('success', 'error') then 1 else 0 end) as execute_count,
        sum(case when status in ('success', 'error') then coalesce(credits, 0) else 0 end) as credits_spent,
        sum(case when status in ('success', 'error') then coalesce(cost_usd, 0) else 0 end) as cost_spent_usd
    from costed_runs
    group by run_date, node_id
)

select
    daily.run_date,
    daily.node_id,
    daily.model_name,
    daily.model_package,
    daily.reuse_count,
    daily.execute_count,
    100.0 * daily.reuse_count / nullif(daily.reuse_count + daily.execute_count, 0) as reuse_rate_percent,
    model_average.avg_credits_per_run,
    model_average.avg_cost_per_run_usd,
    daily.reuse_count * model_average.avg_credits_per_run as estimated_credits_saved,
    daily.reuse_count * model_average.avg_cost_per_run_usd as estimated_cost_saved_usd,
    case when daily.reuse_count > 0 then model_average.avg_cost_per_run_usd end as avg_cost_saved_per_reuse_usd,
    daily.credits_spent,
    daily.cost_spent_usd,
    {{ dcf_costs.cost_basis() }} as cost_basis
from daily
left join model_average
    on model_average.node_id = daily.node_id
