{#- One row per query of an executed dbt node, with execution time and cost (see macros/fct_model_queries.sql). -#}
{{ dcf_costs.fct_model_queries_sql() }}
