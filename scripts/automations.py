"""The automation that reconciles after a stream's flow run ends Crashed or Cancelled, kept in code.

    python -m scripts.automations           # create or update it (make automations), after `prefect deploy`

A SIGKILLed or OOM-killed flow process runs no hook and no ``finally``: its DCF_T_PRCS_INST row and its
PROCESS_EXECUTION_LOG rows stay RUNNING. The worker (or Prefect's zombie detection) sets the run Crashed;
that state change is an event, ``prefect.flow-run.Crashed``, and this automation answers it by running the
``reconcile/reconcile`` deployment for the run's stream and warehouse block. Reconcile is idempotent, so an
extra firing costs one short run and changes nothing.

Runs that never started (run count 0: a second trigger refused by the deployment's CANCEL_NEW collision
strategy, a scheduled run cancelled before it began) wrote nothing, so they do not fire it.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.events.actions import RunDeployment
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.exceptions import ObjectNotFound

AUTOMATION_NAME = "dcf-reconcile-on-crash"
STREAM_FLOW = "stream-load"
RECONCILE_DEPLOYMENT = "reconcile/reconcile"


def reconcile_automation(reconcile_deployment_id: UUID) -> AutomationCore:
    """One firing per crashed/cancelled stream flow run: run reconcile for that run's stream."""
    return AutomationCore(
        name=AUTOMATION_NAME,
        description="Close the DCF rows of a stream flow run that ended Crashed or Cancelled "
                    "(no hook runs when its process is killed). Managed by scripts/automations.py.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Crashed", "prefect.flow-run.Cancelled"},
            # "!0": only runs that reached Running can have written rows.
            match={"prefect.resource.id": "prefect.flow-run.*", "prefect.run-count": "!0"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": STREAM_FLOW},
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[
            RunDeployment(
                source="selected",
                deployment_id=reconcile_deployment_id,
                # Rendered by the server from the crashed run; a single {{ }} keeps the value's type (None stays null).
                parameters={
                    "stream": "{{ flow_run.parameters.get('stream') }}",
                    "warehouse_block": "{{ flow_run.parameters.get('warehouse_block') }}",
                },
            )
        ],
    )


def ensure_automation() -> str:
    """Create the automation, or update the one of the same name; returns what was done."""
    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(RECONCILE_DEPLOYMENT)
        except ObjectNotFound:
            raise SystemExit(f"error: deployment {RECONCILE_DEPLOYMENT} not found; run `make deploy-local` "
                             "(or `prefect deploy --all`) first") from None
        automation = reconcile_automation(deployment.id)
        existing = client.read_automations_by_name(AUTOMATION_NAME)
        if existing:
            client.update_automation(existing[0].id, automation)
            for duplicate in existing[1:]:  # a name should mean one automation
                client.delete_automation(duplicate.id)
            return f"automation {AUTOMATION_NAME} updated ({existing[0].id})"
        return f"automation {AUTOMATION_NAME} created ({client.create_automation(automation)})"


def main() -> int:
    print(ensure_automation())
    return 0


if __name__ == "__main__":
    sys.exit(main())
