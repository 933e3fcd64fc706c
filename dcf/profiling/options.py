"""What a profile computes and on which rows: validated once, before anything runs or is written.

>>> ProfileOptions(sample_rate=0.1, seed=7).sampled
True
>>> ProfileOptions(sample_rate=1.5)
Traceback (most recent call last):
...
dcf.errors.RefusedError: sample_rate must be > 0 and <= 1 (got 1.5)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dcf.errors import RefusedError

if TYPE_CHECKING:
    from dcf.stream.settings import ProfilingSettings

#: Metric groups a profile can compute; ``metrics=`` picks a subset (row_count is always computed).
METRIC_GROUPS: tuple[str, ...] = ("nulls", "distinct", "min_max", "moments", "quantiles", "lengths", "top_values")
#: Snowflake's SEED accepts 0..2^31-1; the same bound everywhere keeps a seed portable between engines.
MAX_SEED = 2_147_483_647


@dataclass(frozen=True)
class ProfileOptions:
    """Options of one profile. Construction validates; a bad value raises :class:`RefusedError`.

    ``approximate`` swaps exact distinct counts for HyperLogLog sketches (and, where the engine's sketch
    is cheaper than its exact answer, quantiles for sketches too). ``top_values_max_distinct`` bounds top
    values: they are computed only for columns with fewer distinct values than that.
    """

    sample_rate: float | None = None
    seed: int | None = None
    quantiles: tuple[float, ...] = (0.25, 0.5, 0.75)
    top_values_max_distinct: int = 50
    approximate: bool = False
    metrics: tuple[str, ...] = METRIC_GROUPS

    def __post_init__(self) -> None:
        rate = self.sample_rate
        if rate is not None:
            if isinstance(rate, bool) or not isinstance(rate, int | float) or math.isnan(rate) or not 0 < rate <= 1:
                raise RefusedError(f"sample_rate must be > 0 and <= 1 (got {rate!r})")
            object.__setattr__(self, "sample_rate", float(rate))
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED
        ):
            raise RefusedError(f"seed must be an integer between 0 and {MAX_SEED} (got {self.seed!r})")
        quantiles = tuple(sorted(set(self.quantiles)))
        if any(isinstance(q, bool) or not isinstance(q, int | float) or not 0 <= q <= 1 for q in quantiles):
            raise RefusedError(f"quantiles must be numbers between 0 and 1 (got {list(self.quantiles)!r})")
        object.__setattr__(self, "quantiles", tuple(float(q) for q in quantiles))
        limit = self.top_values_max_distinct
        if isinstance(limit, bool) or not (isinstance(limit, int) and limit >= 1):
            raise RefusedError(f"top_values_max_distinct must be a positive integer (got {limit!r})")
        unknown = sorted(set(self.metrics) - set(METRIC_GROUPS))
        if unknown:
            raise RefusedError(f"unknown metric group(s) {', '.join(unknown)}; known: {', '.join(METRIC_GROUPS)}")
        object.__setattr__(self, "metrics", tuple(g for g in METRIC_GROUPS if g in set(self.metrics)))
        if "quantiles" in self.metrics and not self.quantiles:
            raise RefusedError("the quantiles metric needs at least one quantile")

    @property
    def sampled(self) -> bool:
        """True when the profile reads a sample rather than the whole table (a rate of 1 keeps every row)."""
        return self.sample_rate is not None and self.sample_rate < 1

    @property
    def sample_seed(self) -> int | None:
        """The seed that chose the sampled rows; None when nothing is sampled (a seed alone changes nothing)."""
        return self.seed if self.sampled else None

    def wants(self, group: str) -> bool:
        return group in self.metrics

    @classmethod
    def build(
        cls,
        settings: ProfilingSettings | None = None,
        *,
        metrics: Iterable[str] | None = None,
        **overrides: Any,
    ) -> ProfileOptions:
        """Options from a stream's ``profiling`` section, with non-None ``overrides`` taking precedence.

        >>> ProfileOptions.build(None, sample_rate=None, approximate=True).approximate
        True
        """
        values: dict[str, Any] = {}
        if settings is not None:
            values.update(
                sample_rate=settings.sample_rate,
                seed=settings.seed,
                quantiles=tuple(settings.quantiles),
                top_values_max_distinct=settings.top_values_max_distinct,
                approximate=settings.approximate,
            )
        values.update({key: value for key, value in overrides.items() if value is not None})
        if "quantiles" in values:
            values["quantiles"] = tuple(values["quantiles"])
        if metrics is not None:
            values["metrics"] = tuple(metrics)
        return cls(**values)

    def with_(self, **changes: Any) -> ProfileOptions:
        return replace(self, **changes)
