"""Bootstrap confidence intervals: for one configuration's mean, and for the paired
difference between two configurations on the same queries.

Pairing matters: both configurations answer the same questions, so resampling
queries (not configurations independently) cancels the per-question difficulty
that would otherwise swamp a small but real difference (Koehn 2004, "Statistical
significance tests for machine translation evaluation").

The p-value is two-sided and computed from the bootstrap distribution shifted to
the null hypothesis (mean difference 0), with the +1 correction so it is never 0
from a finite number of resamples.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ragtune.errors import InputError

log = logging.getLogger(__name__)

_BATCH = 1000  # resamples drawn at once: bounds memory at 1000 x n indices


@dataclass(frozen=True)
class MeanCI:
    """A mean with its percentile bootstrap interval."""

    mean: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class PairedDiff:
    """``a - b`` on the queries both configurations answered."""

    metric: str
    a: str
    b: str
    n: int
    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    confidence: float
    n_resamples: int

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero."""
        return self.ci_low > 0 or self.ci_high < 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "significant": self.significant}


def _resampled_means(values: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Means of ``n_resamples`` resamples (with replacement) of ``values``."""
    rng = np.random.default_rng(seed)
    n = len(values)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, _BATCH):
        size = min(_BATCH, n_resamples - start)
        idx = rng.integers(0, n, size=(size, n))
        means[start : start + size] = values[idx].mean(axis=1)
    return means


def _check(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise InputError(f"n_resamples must be at least 1 (got {n_resamples})")
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1 (got {confidence})")


def _interval(means: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_mean(
    values: Sequence[float],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 13,
) -> MeanCI:
    """The mean of ``values`` with a percentile bootstrap interval.

    An empty input gives NaN everywhere (a metric that applied to no query).
    """
    _check(n_resamples, confidence)
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return MeanCI(float("nan"), float("nan"), float("nan"), 0)
    low, high = _interval(_resampled_means(data, n_resamples, seed), confidence)
    return MeanCI(float(data.mean()), low, high, int(data.size))


def paired_bootstrap(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    metric: str = "",
    names: tuple[str, str] = ("a", "b"),
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 13,
) -> PairedDiff:
    """Paired bootstrap interval and p-value for ``mean(a - b)``.

    Args:
        a: Per-query metric of configuration A, ``{qid: value}``.
        b: The same metric of configuration B.
        metric: Metric name, carried into the result.
        names: Names of A and B, carried into the result.
        n_resamples: Bootstrap resamples.
        confidence: Interval coverage, e.g. 0.95.
        seed: Seeds the resampling, so a report is reproducible.

    Raises:
        InputError: the two share no query.
    """
    _check(n_resamples, confidence)
    common = sorted(set(a) & set(b))
    if not common:
        raise InputError(
            f"{metric or 'metric'}: {names[0]} and {names[1]} share no query to compare"
        )
    if len(common) < max(len(a), len(b)):
        log.info("%s: comparing on the %d shared queries", metric, len(common))
    diffs = np.array([a[q] - b[q] for q in common], dtype=float)
    observed = float(diffs.mean())
    means = _resampled_means(diffs, n_resamples, seed)
    low, high = _interval(means, confidence)
    # Shift the bootstrap distribution to mean 0 (the null) and ask how often a
    # difference at least as large as the observed one turns up.
    extreme = np.count_nonzero(np.abs(means - observed) >= abs(observed) - 1e-12)
    p_value = (extreme + 1) / (n_resamples + 1)
    return PairedDiff(
        metric=metric,
        a=names[0],
        b=names[1],
        n=len(common),
        mean_diff=observed,
        ci_low=low,
        ci_high=high,
        p_value=min(1.0, float(p_value)),
        confidence=confidence,
        n_resamples=n_resamples,
    )
