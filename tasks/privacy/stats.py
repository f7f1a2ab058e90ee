"""Confidence bounds for the membership attacks' figures, and the verdict from them.

An attack's AUC and its TPR at a low FPR are estimates from a few hundred records
at most; read as exact numbers they pass or fail a model on noise (TPR at 1% FPR
over 157 held-out records is read off one or two of them). The gate therefore
judges bounds, each one-sided at ``confidence``:

* AUC: DeLong's variance of the Mann-Whitney AUC (DeLong, DeLong and
  Clarke-Pearson, Biometrics 1988; midrank form of Sun and Xu, 2014) with a
  normal bound, and the one-sided Mann-Whitney p-value of "members score no
  higher than non-members".
* TPR at FPR: distribution-free. The threshold is a non-member order statistic
  picked with the binomial so that, with probability at least
  ``1 - (1 - confidence) / 2``, its true FPR is on the safe side of the target
  (above it for the upper bound, below it for the lower); the members above it
  get a Clopper-Pearson bound at the same level. Too few non-members for a
  threshold that sure give the trivial bounds 0 and 1: the data cannot say.

The verdict: ``fail`` when a lower bound exceeds its limit (leakage is shown),
``pass`` when both upper bounds are within their limits (its absence is shown),
else ``insufficient`` evidence, and always ``insufficient`` below
``min_samples`` per side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

Verdict = Literal["pass", "fail", "insufficient"]


@dataclass(frozen=True)
class Bounds:
    """One-sided lower and upper confidence bounds of one figure."""

    low: float
    high: float


def _midranks(values: np.ndarray) -> np.ndarray:
    return stats.rankdata(values, method="average")


def auc_bounds(
    members: np.ndarray, non_members: np.ndarray, confidence: float
) -> tuple[float, Bounds, float]:
    """AUC (ties count half), its DeLong bounds and the one-sided MW p-value."""
    m, n = members.size, non_members.size
    combined = _midranks(np.concatenate([members, non_members]))
    v10 = (combined[:m] - _midranks(members)) / n  # per member: share beaten
    v01 = 1.0 - (combined[m:] - _midranks(non_members)) / m
    auc = float(v10.mean())
    var = (v10.var(ddof=1) if m > 1 else 0.0) / m
    var += (v01.var(ddof=1) if n > 1 else 0.0) / n
    z = float(stats.norm.ppf(confidence))
    half = z * math.sqrt(max(var, 0.0))
    p = float(stats.mannwhitneyu(members, non_members, alternative="greater").pvalue)
    if not math.isfinite(p):  # every score tied: no evidence either way
        p = 1.0
    return auc, Bounds(max(0.0, auc - half), min(1.0, auc + half)), p


def _clopper_pearson(hits: int, total: int, level: float) -> Bounds:
    """One-sided Clopper-Pearson bounds, each holding with probability ``level``."""
    low = 0.0 if hits == 0 else float(stats.beta.ppf(1 - level, hits, total - hits + 1))
    high = (
        1.0 if hits == total else float(stats.beta.ppf(level, hits + 1, total - hits))
    )
    return Bounds(low, high)


def _flagged(members: np.ndarray, ranked: np.ndarray, k: int) -> float:
    """Members flagged by an attacker who flags the top ``k`` non-members, ties
    broken at random: those above the threshold, and of those tied with it the
    share of tied non-members flagged (the ROC curve's interpolation)."""
    threshold = ranked[max(k, 1) - 1]
    above = int(np.sum(ranked > threshold))
    share = (k - above) / int(np.sum(ranked == threshold))
    return float(np.sum(members > threshold) + share * np.sum(members == threshold))


def tpr_bounds(
    members: np.ndarray, non_members: np.ndarray, target_fpr: float, confidence: float
) -> Bounds:
    """Distribution-free bounds of the TPR at ``target_fpr`` (module docstring).

    Half of ``1 - confidence`` goes to the threshold, half to the member count,
    so each bound holds with probability at least ``confidence``.
    """
    n, m = non_members.size, members.size
    level = 1 - (1 - confidence) / 2
    ranked = np.sort(non_members)[::-1]
    # How many non-members lie above the true threshold q: Binomial(n, fpr).
    cdf = stats.binom.cdf(np.arange(n + 1), n, target_fpr)  # P(at most k above)
    # upper: flagging the top k non-members reaches below q when at most k - 1
    # lie above it; the smallest k that is that sure
    k_low = int(np.searchsorted(cdf, level)) + 1
    high = 1.0
    if k_low <= n:
        hits = math.ceil(_flagged(members, ranked, k_low) - 1e-9)
        high = _clopper_pearson(hits, m, level).high
    # lower: flagging the top k - 1 stays above q when at least k lie at or above
    # it; the largest k that is that sure (none: the data cannot bound it)
    at_least = 1.0 - cdf[:-1]  # P(at least k + 1 above), k = 0..n-1
    sure = np.flatnonzero(at_least >= level)
    low = 0.0
    if sure.size:
        hits = math.floor(_flagged(members, ranked, int(sure[-1])) + 1e-9)
        low = _clopper_pearson(hits, m, level).low
    return Bounds(low, high)


def verdict(
    auc: Bounds,
    tpr: Bounds,
    max_auc: float,
    max_tpr: float,
    sizes: Sequence[int],
    min_samples: int,
) -> Verdict:
    """Pass, fail or insufficient evidence from the bounds (module docstring)."""
    if min(sizes) < min_samples:
        return "insufficient"
    if auc.low > max_auc or tpr.low > max_tpr:
        return "fail"
    if auc.high <= max_auc and tpr.high <= max_tpr:
        return "pass"
    return "insufficient"
