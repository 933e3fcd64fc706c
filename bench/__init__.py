"""Benchmarks: scripts that print figures (never timed assertions in tests).

They print their figures only: dbt's own lines are off (``DBT_LOG_LEVEL=none`` unless set) and the process's
teardown is quiet (:mod:`runtime.quiet`).
"""

import os

from runtime import quiet

os.environ.setdefault("DBT_LOG_LEVEL", "none")
quiet.install()
