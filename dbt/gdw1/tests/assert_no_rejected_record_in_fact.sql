{#
    A record routed to REJECTED by int_bcfinsg_validated must never be in the fact.
    int_bcfinsg_validated holds the records of the current run; matching on the surrogate key
    AND record_id means a rejected duplicate does not flag the first occurrence that was loaded.
#}
select f.plan_baln_segm_sk, f.record_id
from {{ ref('fct_plan_baln_segm_mstr') }} as f
inner join {{ ref('int_bcfinsg_validated') }} as v
    on f.plan_baln_segm_sk = v.plan_baln_segm_sk
   and f.record_id = v.record_id
where v.final_processing_status = 'REJECTED'
