{#
    ISO 'YYYY-MM-DD' text -> DATE, anything else -> NULL.
    The LIKE guard keeps both engines strict: Snowflake's TRY_CAST would otherwise accept other
    layouts (e.g. '99999999' as epoch seconds) that DuckDB rejects.
#}
{% macro try_cast_iso_date(column) -%}
    case when trim({{ column }}) like '____-__-__' then try_cast(trim({{ column }}) as date) end
{%- endmacro %}
