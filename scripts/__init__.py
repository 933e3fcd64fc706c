"""Operator scripts: prefect.yaml generation, the work pool, blocks and automations (``make deploy-local``)."""
