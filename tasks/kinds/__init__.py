"""One module per activity kind of a stream's sequence: ``run(run, activity, inputs) -> StageResult``.

``inputs`` are the activity's settings with every ``#reference#`` already filled in by the executor
(``tasks.sequencer``); what followers' triggers read goes into ``statistics["outputs"]`` ($ReturnValue,
$CommandOutput, $UserStatus, user variables), so a restored activity gives them back from its DCF row.
The dbt and ingest kinds are ``tasks.dbt_build`` and ``tasks.ingest``; a loop and a child stream are run by
the executor itself.
"""
