"""dbt in-process: parse once, build with callbacks, state-aware reuse, model costs.

Owns the build entry point (``runner``), the reuse planner and its signatures and fingerprints
(``reuse``, ``reuse_run``, ``signatures``, ``fingerprints``) and the cost package runner (``costs``).
Prefect-aware extras (run logger, per-node tasks, flow-run ids) come in through a
:class:`~dcf.build.runner.BuildObserver` that ``runtime`` provides.

May import: ``dcf.execlog``, ``dcf.store``, dbt.
"""
