"""Lookup: the primary link joined to each reference link on its key columns (``lookup_key`` says which
primary column each matches), by the reference pin's failure action: continue -> LEFT JOIN (NULL in the
reference's columns), drop -> INNER JOIN, fail -> INNER JOIN and a generated test that stops the build when a
primary row has no match (the job would abort), reject -> INNER JOIN and the reject link's model holding the
primary rows without a match.
A reference keeps one row per key, as the Lookup stage does."""

from __future__ import annotations

from dcf.convert.parts import AUTO, ConversionContext, Cte, LookupCheck, from_inputs, passed_through
from dcf.convert.sql import ConversionError
from dcf.datastage.px_graph import PxStage

_FAILURE = {"continue": "LEFT JOIN", "drop": "INNER JOIN", "fail": "INNER JOIN", "reject": "INNER JOIN"}


def convert(stage: PxStage, ctx: ConversionContext) -> list[Cte]:
    inputs = ctx.graph.inputs(stage.name)
    primary = next((link for link in inputs if link.link_type == "Primary"), None)
    references = [link for link in inputs if link.link_type == "Reference"]
    outputs = [link for link in ctx.graph.outputs(stage.name) if link.link_type != "Reject"]
    rejects = [link for link in ctx.graph.outputs(stage.name) if link.link_type == "Reject"]
    if primary is None or not references or len(outputs) != 1 or len(rejects) > 1:
        raise ConversionError(f"{stage.name}: a lookup with {len(references)} reference(s), {len(outputs)} "
                              f"output(s) and {len(rejects)} reject link(s) is not converted")
    [output] = outputs
    sql, notes, tier = f"SELECT {from_inputs(output, inputs)} FROM {primary.name}", [], AUTO
    unmatched: list[str] = []  # a reject-lookup's "no match" test, per reference
    for reference in references:
        failure = stage.pins[reference.target_pin].attributes.get("lookupFail", "fail")
        if failure not in _FAILURE:
            raise ConversionError(f"{stage.name}: lookup failure action {failure!r} is not converted")
        if failure == "reject" and not rejects:
            raise ConversionError(f"{stage.name}: lookup failure reject on {reference.name} without a reject link")
        keys = [column for column in reference.columns if column.key]
        conditions = []
        for column in keys:
            origin_link, _, origin = (column.lookup_key or "").rpartition(".")
            if origin_link != primary.name:
                raise ConversionError(f"{stage.name}: key {column.name} = {column.lookup_key!r} is not a column of "
                                      f"{primary.name}")
            conditions.append(f"{reference.name}.{column.name} = {primary.name}.{origin}")
        if not conditions:
            raise ConversionError(f"{stage.name}: reference {reference.name} has no key column")
        key_list = ", ".join(column.name for column in keys)
        one_per_key = (f"(SELECT * FROM {reference.name} QUALIFY ROW_NUMBER() OVER (PARTITION BY {key_list} "
                       f"ORDER BY {key_list}) = 1) AS {reference.name}")
        sql += f" {_FAILURE[failure]} {one_per_key} ON {' AND '.join(conditions)}"
        notes.append(f"{reference.name}: lookup failure {failure} -> {_FAILURE[failure]}")
        if failure == "fail":
            ctx.checks.append(LookupCheck(stage.name, primary.name, reference.name, conditions))
            notes.append("a primary row without a match aborts the job in DataStage: a generated test on the "
                         "lookup's inputs fails the build before the target is written")
        if failure == "reject":
            unmatched.append(f"NOT EXISTS (SELECT 1 FROM {reference.name} WHERE {' AND '.join(conditions)})")
    ctes = [Cte(output.name, sql, [link.name for link in inputs])]
    if rejects:
        [reject] = rejects
        if not unmatched:
            raise ConversionError(f"{stage.name}: reject link {reject.name} and no reference whose failure is reject")
        ctes.append(Cte(reject.name, f"SELECT {passed_through(reject, primary)} FROM {primary.name} "
                                     f"WHERE {' OR '.join(unmatched)}", [link.name for link in inputs]))
        notes.append(f"{reject.name}: the primary rows a reject-lookup does not match")
    ctx.verdict(stage.name, tier, "; ".join(notes))
    return ctes
