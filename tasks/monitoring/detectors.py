"""The drift detectors: pure functions from plain inputs to a ``DetectorResult``.

Each checks its own minimum sample size and threshold; ``trigger.decide`` then
applies cooldown and advisory mode. A detector without enough data says so in its
reason rather than reporting a figure nobody should act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from ragtune.tasks.monitoring.config import (
    DetectorConfig,
    NoGoodSourceConfig,
    QueryDriftConfig,
    RetrievalDriftConfig,
    SatisfactionConfig,
    TopicDriftConfig,
    null_psi,
)
from ragtune.tasks.monitoring.models import (
    DetectorResult,
    FeedbackRecord,
    QueryRecord,
    TagMetrics,
)
from ragtune.tasks.monitoring.stats import (
    assign,
    kmeans,
    mmd_permutation_test,
    psi,
    shares,
)


def _too_few(
    name: str, cfg: DetectorConfig, n: int, what: str, latest: datetime | None
) -> DetectorResult:
    return DetectorResult.of(
        name,
        fired=False,
        advisory=cfg.advisory,
        value=None,
        threshold=cfg.threshold,
        n=n,
        reason=f"only {n} {what}, fewer than min_samples {cfg.min_samples}",
        latest=latest,
    )


def query_drift(
    reference: np.ndarray,
    current: np.ndarray,
    cfg: QueryDriftConfig,
    seed: int,
    latest: datetime | None = None,
) -> DetectorResult:
    """MMD two-sample test between reference and current query embeddings.

    Fires when the permutation p-value is below ``cfg.threshold`` and MMD^2 is at
    least ``cfg.min_effect``. ``n`` is the smaller of the two window sizes.
    """
    n = min(len(reference), len(current))
    if n < cfg.min_samples:
        return _too_few("query_drift", cfg, n, "queries in a window", latest)
    test = mmd_permutation_test(reference, current, cfg.permutations, seed)
    significant = test.p_value < cfg.threshold
    fired = significant and test.mmd2 >= cfg.min_effect
    if fired:
        reason = (
            f"query embeddings moved: MMD^2 {test.mmd2:.4f}, p {test.p_value:.4f} "
            f"< {cfg.threshold}"
        )
    elif significant:
        reason = (
            f"p {test.p_value:.4f} < {cfg.threshold} but MMD^2 {test.mmd2:.4f} is "
            f"below min_effect {cfg.min_effect}"
        )
    else:
        reason = f"no significant shift: p {test.p_value:.4f} >= {cfg.threshold}"
    return DetectorResult.of(
        "query_drift",
        fired=fired,
        advisory=cfg.advisory,
        value=test.p_value,
        threshold=cfg.threshold,
        n=n,
        reason=reason,
        latest=latest,
        details={
            "mmd2": round(test.mmd2, 6),
            "bandwidth": round(test.bandwidth, 6),
            "permutations": test.permutations,
            "reference_n": len(reference),
            "current_n": len(current),
        },
    )


def topic_drift(
    reference: np.ndarray,
    current: np.ndarray,
    cfg: TopicDriftConfig,
    seed: int,
    latest: datetime | None = None,
) -> DetectorResult:
    """PSI between the topic-cluster shares of the two windows.

    Clusters are fitted on the reference window only, so a topic that is new in
    the current window shows up as mass moving to its nearest old cluster.
    """
    n = min(len(reference), len(current))
    if n < cfg.min_samples:
        return _too_few("topic_drift", cfg, n, "queries in a window", latest)
    centroids = kmeans(reference, cfg.clusters, seed, cfg.iterations)
    k = len(centroids)
    ref_shares = shares(assign(reference, centroids), k, cfg.smoothing)
    cur_shares = shares(assign(current, centroids), k, cfg.smoothing)
    value = psi(ref_shares, cur_shares)
    fired = value > cfg.threshold
    moved = int(np.argmax(np.abs(cur_shares - ref_shares)))
    reason = (
        f"topic mix {'shifted' if fired else 'stable'}: PSI {value:.3f} "
        f"{'>' if fired else '<='} {cfg.threshold} over {k} clusters; cluster "
        f"{moved} went {ref_shares[moved]:.0%} -> {cur_shares[moved]:.0%}"
    )
    return DetectorResult.of(
        "topic_drift",
        fired=fired,
        advisory=cfg.advisory,
        value=value,
        threshold=cfg.threshold,
        n=n,
        reason=reason,
        latest=latest,
        details={
            "clusters": k,
            "null_psi": round(null_psi(k, len(reference), len(current)), 4),
            "reference_shares": [round(float(s), 4) for s in ref_shares],
            "current_shares": [round(float(s), 4) for s in cur_shares],
        },
    )


def retrieval_drift(
    tags: Sequence[TagMetrics], cfg: RetrievalDriftConfig
) -> DetectorResult:
    """The latest published tag's metric vs the best (or previous) earlier tag.

    ``value`` is the drop (baseline minus latest; negative when it improved) and
    ``n`` the number of published tags that carry the metric.
    """
    scored = sorted(
        (t for t in tags if cfg.metric in t.metrics), key=lambda t: t.created_at
    )
    latest_ts = scored[-1].created_at if scored else None
    if len(scored) < cfg.min_samples:
        what = f"published tags with {cfg.metric}"
        return _too_few("retrieval_drift", cfg, len(scored), what, latest_ts)
    latest, earlier = scored[-1], scored[:-1]
    if cfg.baseline == "best":
        base = max(earlier, key=lambda t: t.metrics[cfg.metric])
    else:
        base = earlier[-1]
    drop = base.metrics[cfg.metric] - latest.metrics[cfg.metric]
    fired = drop > cfg.threshold
    reason = (
        f"{cfg.metric} of {latest.tag} is {latest.metrics[cfg.metric]:.4f} vs "
        f"{base.metrics[cfg.metric]:.4f} at {cfg.baseline} tag {base.tag}: drop "
        f"{drop:.4f} {'>' if fired else '<='} {cfg.threshold}"
    )
    return DetectorResult.of(
        "retrieval_drift",
        fired=fired,
        advisory=cfg.advisory,
        value=drop,
        threshold=cfg.threshold,
        n=len(scored),
        reason=reason,
        latest=latest_ts,
        details={
            "metric": cfg.metric,
            "latest_tag": latest.tag,
            "latest_value": latest.metrics[cfg.metric],
            "baseline_tag": base.tag,
            "baseline_value": base.metrics[cfg.metric],
        },
    )


def no_good_source(
    current: Sequence[QueryRecord], cfg: NoGoodSourceConfig
) -> DetectorResult:
    """Share of current-window queries where no source was relevant enough."""
    latest = max((q.ts for q in current), default=None)
    if len(current) < cfg.min_samples:
        return _too_few("no_good_source", cfg, len(current), "queries", latest)
    misses = sum(1 for q in current if not q.relevant)
    rate = misses / len(current)
    fired = rate > cfg.threshold
    reason = (
        f"{misses} of {len(current)} queries ({rate:.1%}) found no relevant source: "
        f"{'above' if fired else 'within'} {cfg.threshold:.0%}"
    )
    return DetectorResult.of(
        "no_good_source",
        fired=fired,
        advisory=cfg.advisory,
        value=rate,
        threshold=cfg.threshold,
        n=len(current),
        reason=reason,
        latest=latest,
        details={"misses": misses},
    )


def satisfaction(
    current: Sequence[FeedbackRecord], cfg: SatisfactionConfig
) -> DetectorResult:
    """Mean satisfaction of current-window ratings, with the thumbs-up share and
    mean 1-5 score beside it for the report."""
    latest = max((f.ts for f in current), default=None)
    if len(current) < cfg.min_samples:
        return _too_few("satisfaction", cfg, len(current), "ratings", latest)
    mean = float(np.mean([f.satisfaction for f in current]))
    thumbs = [f.thumbs == "up" for f in current if f.thumbs is not None]
    scores = [f.score for f in current if f.score is not None]
    fired = mean < cfg.threshold
    reason = (
        f"mean satisfaction {mean:.3f} over {len(current)} ratings is "
        f"{'below' if fired else 'at or above'} {cfg.threshold}"
    )
    return DetectorResult.of(
        "satisfaction",
        fired=fired,
        advisory=cfg.advisory,
        value=mean,
        threshold=cfg.threshold,
        n=len(current),
        reason=reason,
        latest=latest,
        details={
            "thumbs_up_share": round(sum(thumbs) / len(thumbs), 4) if thumbs else None,
            "mean_score": round(float(np.mean(scores)), 3) if scores else None,
        },
    )
