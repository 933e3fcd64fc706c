"""Defer what Great Expectations imports but a profile never runs: ``scipy.stats`` (about 1 s of a 4-5 s import).

GE imports every expectation it ships when it is imported; three of them (KL divergence and the two KS-test
p-values) do ``from scipy import stats`` at module level and touch ``stats`` only when they run. No profile
runs them. :func:`defer_scipy_stats` sets the ``scipy`` package's ``stats`` attribute to a stand-in module,
so that ``from scipy import stats`` binds the stand-in instead of importing the real module; the stand-in
imports the real ``scipy.stats`` the first time one of its attributes is read, and hands that attribute on.

The stand-in is not put in ``sys.modules`` (a lazy module there would be loaded by the first
``inspect.stack()``, which reads ``__file__`` of every module; dbt calls it during a build). So any
``import scipy.stats`` elsewhere imports the real module as usual and replaces the attribute; only GE's
three modules keep the stand-in, which forwards.

:mod:`dcf.profiling.gx` imports this module before GE.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class _ImportedOnFirstUse(types.ModuleType):
    """Stands for a module not imported yet; reading an attribute imports it and returns the real one."""

    def __getattr__(self, name: str) -> Any:  # only for attributes the stand-in itself lacks
        return getattr(importlib.import_module(self.__name__), name)


def defer_scipy_stats() -> None:
    """Give ``scipy`` a stand-in ``stats`` attribute, unless ``scipy.stats`` is imported already."""
    if "scipy.stats" in sys.modules:
        return
    try:
        import scipy  # the package itself is light; its subpackages load on demand
    except ImportError:
        return
    if "stats" not in vars(scipy):
        scipy.stats = _ImportedOnFirstUse("scipy.stats")


defer_scipy_stats()
