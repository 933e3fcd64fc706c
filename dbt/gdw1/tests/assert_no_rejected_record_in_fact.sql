{#
    A record routed to REJECTED by int_bcfinsg_validated must never be in the fact.
    int_bcfinsg_validated holds the records of the current run. A rejected duplicate shares its surrogate key
    and often its record id (a repeated line) with the first occurrence that was loaded, so a fact row counts
    as rejected only when no READY_FOR_LOADING record of the run has that key and record id.
#}
select f.plan_baln_segm_sk, f.record_id
from {{ ref('fct_plan_baln_segm_mstr') }} as f
inner join {{ ref('int_bcfinsg_validated') }} as v
    on f.plan_baln_segm_sk = v.plan_baln_segm_sk
   and f.record_id = v.record_id
where v.final_processing_status = 'REJECTED'
  and not exists (
      select 1
      from {{ ref('int_bcfinsg_validated') }} as loaded
      where loaded.plan_baln_segm_sk = v.plan_baln_segm_sk
        and loaded.record_id = v.record_id
        and loaded.final_processing_status = 'READY_FOR_LOADING'
  )
