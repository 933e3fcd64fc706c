"""Prefect flows: the deployment entrypoints of DCF Flows.

Importing any of them (a worker's flow-run process does) keeps the output quiet (:mod:`runtime.quiet`:
no teardown noise, one line instead of a traceback for DCF's own errors; ``DCF_DEBUG=1`` turns it off) and
lets a run outlive its console (:mod:`runtime.console`: ``make run | head`` still loads the day).
Nothing here imports Prefect: ``make run`` sets Prefect settings before Prefect reads them.
"""

from runtime import console, quiet

quiet.install()
console.survive_a_closed_pipe()
