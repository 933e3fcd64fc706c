{#
    Pre-hook of an incremental fact loaded one process date at a time: before the day's rows are
    inserted, remove every row the target already holds for that date. A corrected re-delivery then
    replaces the day completely, including keys that are no longer READY_FOR_LOADING or no longer
    delivered (a delete+insert on the row key alone would leave those behind). Other dates are untouched;
    without a process date (a hand-run build) nothing is deleted.
#}
{% macro delete_process_date(date_column) %}
    {%- set process_date = var('run_stream_process_date', '') -%}
    {%- if is_incremental() and process_date -%}
        delete from {{ this }} where {{ date_column }} = cast('{{ process_date | replace("'", "''") }}' as date)
    {%- endif -%}
{% endmacro %}
