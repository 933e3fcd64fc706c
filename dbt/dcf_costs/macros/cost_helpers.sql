{#- Small shared pieces of the dcf_costs models. -#}

{% macro window_start(extra_days=0) -%}
    {#- First day the reports cover: dcf_costs_window_days (+ extra_days) before today. -#}
    {{ dbt.dateadd('day', -(var('dcf_costs_window_days') | int + extra_days), 'current_date') }}
{%- endmacro %}

{% macro price_per_credit() -%}
    {#- a plain literal: dbt.type_float() is a 4-byte float on DuckDB -#}
    ({{ var('dcf_costs_price_per_credit') | float }} * 1.0)
{%- endmacro %}

{% macro credits_per_second() -%}
    ({{ var('dcf_costs_credits_per_hour') | float }} / 3600.0)
{%- endmacro %}

{% macro node_kind(node_id) -%}
    {#- model / seed / snapshot / test / unit_test: the first part of a dbt unique_id. -#}
    {{ dbt.split_part(node_id, "'.'", 1) }}
{%- endmacro %}

{% macro cost_basis() -%}
    {{ return(adapter.dispatch('cost_basis', 'dcf_costs')()) }}
{%- endmacro %}

{% macro default__cost_basis() -%}
    'estimate: execution time x {{ var("dcf_costs_credits_per_hour") | float }} credits/hour'
{%- endmacro %}

{% macro snowflake__cost_basis() -%}
    'snowflake: QUERY_ATTRIBUTION_HISTORY credits'
{%- endmacro %}
