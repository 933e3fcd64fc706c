"""Prefect flows: the deployment entrypoints of DCF Flows.

Importing any of them (a worker's flow-run process does) keeps the output quiet: no teardown noise
(:mod:`runtime.quiet_exit`), one line instead of a traceback for DCF's own errors (:mod:`runtime.log`).
``DCF_DEBUG=1`` turns both off.
"""

from runtime import quiet_exit
from runtime.log import quiet_expected_errors

quiet_exit.install()
quiet_expected_errors()
