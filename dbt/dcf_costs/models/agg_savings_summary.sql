{#- One row: totals over the last dcf_costs_window_days days; percent saved = saved / (saved + spent). -#}
with report as (
    select * from {{ ref('rpt_daily_sao_model_savings') }}
    where run_date >= {{ dcf_costs.window_start() }}
),

totals as (
    select
        count(distinct node_id) as models_tracked,
        coalesce(sum(reuse_count), 0) as total_reuses,
        coalesce(sum(execute_count), 0) as total_executions,
        coalesce(sum(credits_spent), 0) as credits_spent,
        coalesce(sum(cost_spent_usd), 0) as cost_spent_usd,
        coalesce(sum(estimated_credits_saved), 0) as credits_saved,
        coalesce(sum(estimated_cost_saved_usd), 0) as cost_saved_usd
    from report
)

select
    cast({{ dcf_costs.window_start() }} as date) as window_start,
    current_date as window_end,
    {{ var('dcf_costs_window_days') | int }} as window_days,
    models_tracked,
    total_reuses,
    total_executions,
    100.0 * total_reuses / nullif(total_reuses + total_executions, 0) as reuse_rate_percent,
    credits_spent,
    cost_spent_usd,
    credits_saved,
    cost_saved_usd,
    100.0 * cost_saved_usd / nullif(cost_saved_usd + cost_spent_usd, 0) as percent_saved,
    {{ dcf_costs.price_per_credit() }} as price_per_credit_usd,
    {{ dcf_costs.cost_basis() }} as cost_basis
from totals
