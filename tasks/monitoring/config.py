"""The ``drift:`` section: one sub-config per drift detector, plus the windows.

Every detector has the same four knobs (threshold, minimum sample size, cooldown,
advisory) so an operator tunes them the same way; what the threshold means differs
per detector and is said in its description.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ragtune.schema import StrictModel

DETECTORS = (
    "query_drift",
    "topic_drift",
    "retrieval_drift",
    "no_good_source",
    "satisfaction",
)


# Expected PSI between two samples of the same traffic must stay below this share
# of the threshold, or the detector would fire on sampling noise.
NOISE_SHARE = 0.6


def null_psi(clusters: int, n_ref: int, n_cur: int) -> float:
    """Expected PSI between two same-distribution samples of these sizes."""
    return (clusters - 1) * (1 / n_ref + 1 / n_cur)


class DetectorConfig(StrictModel):
    """The knobs every detector shares."""

    enabled: bool = Field(True, description="False: the detector is not run.")
    threshold: float = Field(description="Fire past this value (see each detector).")
    min_samples: int = Field(ge=1, description="Below this many samples: never fire.")
    cooldown_hours: float = Field(
        ge=0, description="Hours after a firing during which it cannot fire again."
    )
    advisory: bool = Field(
        False, description="True: report what it finds, never trigger anything."
    )


class QueryDriftConfig(DetectorConfig):
    """Query embeddings, current vs reference window: MMD with an RBF kernel
    (median-heuristic bandwidth) and a seeded permutation p-value."""

    threshold: float = Field(
        0.01, gt=0, lt=1, description="Fire when the permutation p-value is below it."
    )
    min_samples: int = Field(
        30, ge=5, description="Queries needed in each window (the smaller counts)."
    )
    cooldown_hours: float = Field(168.0, ge=0, description="Hours between firings.")
    permutations: int = Field(
        500, ge=20, le=20_000, description="Permutations for the p-value."
    )
    min_effect: float = Field(
        0.0,
        ge=0,
        description="MMD^2 below this never fires, however small the p-value: "
        "with large windows a negligible shift is still 'significant'.",
    )


class TopicDriftConfig(DetectorConfig):
    """Topic mix: seeded k-means on reference queries, current queries assigned
    to the nearest centroid, PSI over the cluster shares."""

    threshold: float = Field(
        0.25,
        gt=0,
        description="Fire when PSI is above it (0.1: some shift; 0.25: a large one).",
    )
    min_samples: int = Field(
        200,
        ge=5,
        description="Queries needed in each window (the smaller counts). PSI "
        "between two samples of the same traffic averages (clusters - 1) x "
        "2 / min_samples; that must stay below 0.6 x threshold.",
    )
    cooldown_hours: float = Field(168.0, ge=0, description="Hours between firings.")
    clusters: int = Field(
        8, ge=2, le=100, description="Topic clusters (fewer if too few queries)."
    )
    iterations: int = Field(50, ge=1, description="k-means iterations at most.")
    smoothing: float = Field(
        0.5,
        gt=0,
        description="Pseudo-count added to every cluster so an empty one keeps PSI "
        "finite.",
    )

    @model_validator(mode="after")
    def _psi_above_noise(self) -> TopicDriftConfig:
        # Between two samples of one distribution PSI is about chi^2 / n, with
        # mean (k - 1)(1/n_ref + 1/n_cur): with 8 clusters and 50 queries a side
        # that is 0.28, so a 0.25 threshold would fire on noise alone.
        noise = null_psi(self.clusters, self.min_samples, self.min_samples)
        if noise > NOISE_SHARE * self.threshold:
            raise ValueError(
                f"drift.topic_drift: with {self.clusters} clusters and min_samples "
                f"{self.min_samples}, PSI between two samples of the same traffic "
                f"averages {noise:.3f}, too close to the threshold {self.threshold}; "
                "raise min_samples, lower clusters or raise the threshold"
            )
        return self


class RetrievalDriftConfig(DetectorConfig):
    """Retrieval quality of the latest published index tag vs a baseline tag."""

    threshold: float = Field(
        0.05,
        gt=0,
        le=1,
        description="Fire when the metric dropped by more than this (absolute).",
    )
    min_samples: int = Field(
        2, ge=2, description="Published tags with the metric needed to compare."
    )
    cooldown_hours: float = Field(168.0, ge=0, description="Hours between firings.")
    metric: Literal["ndcg_at_10", "recall_at_k", "mrr"] = Field(
        "ndcg_at_10", description="Retrieval metric from the publish ledger."
    )
    baseline: Literal["best", "previous"] = Field(
        "best", description="Compare with the best earlier tag or the previous one."
    )


class NoGoodSourceConfig(DetectorConfig):
    """Share of current-window queries where no source passed the relevance
    threshold of the server (``serving.min_source_score``)."""

    threshold: float = Field(
        0.3, gt=0, lt=1, description="Fire when the share is above it."
    )
    min_samples: int = Field(
        50, ge=1, description="Queries needed in the current window."
    )
    cooldown_hours: float = Field(24.0, ge=0, description="Hours between firings.")


class SatisfactionConfig(DetectorConfig):
    """Mean satisfaction of current-window feedback on a 0-1 scale (thumbs up 1,
    down 0; a score s of 1-5 is (s - 1) / 4, as the server records it)."""

    threshold: float = Field(
        0.6,
        gt=0,
        le=1,
        description="Fire when the mean is below it (0.6 is a mean score of 3.4).",
    )
    min_samples: int = Field(
        20, ge=1, description="Ratings needed in the current window."
    )
    cooldown_hours: float = Field(168.0, ge=0, description="Hours between firings.")


class WindowConfig(StrictModel):
    """The current window ends now; the reference window ends where it starts,
    unless a fixed reference period is pinned (e.g. the weeks after a retrain)."""

    current_hours: float = Field(
        24.0, gt=0, description="Length of the current window, ending now."
    )
    reference_hours: float = Field(
        672.0, gt=0, description="Length of the reference window before it."
    )
    reference_start: datetime | None = Field(
        None, description="Pinned reference start (with reference_end), ISO time."
    )
    reference_end: datetime | None = Field(
        None, description="Pinned reference end (with reference_start), ISO time."
    )

    @model_validator(mode="after")
    def _pinned_pair(self) -> WindowConfig:
        start, end = self.reference_start, self.reference_end
        if (start is None) != (end is None):
            raise ValueError(
                "drift.windows: give both reference_start and reference_end, or neither"
            )
        if start is not None and end is not None and start >= end:
            raise ValueError("drift.windows.reference_start must be before its end")
        return self


class DriftConfig(StrictModel):
    """Drift monitor: detectors over the server's query and feedback logs and the
    index publish ledger, and the cursor that remembers firings."""

    seed: int = Field(13, description="Seeds sampling, k-means and permutations.")
    max_queries: int = Field(
        400,
        ge=10,
        description="Queries per window embedded at most (a seeded sample).",
    )
    windows: WindowConfig = WindowConfig()
    query_log: Path | None = Field(
        None, description="Query log JSONL (default: the one serving writes)."
    )
    feedback_log: Path | None = Field(
        None, description="Feedback JSONL (default: the one serving writes)."
    )
    cursor: Path | None = Field(
        None, description="Cursor file (default: <state_dir>/drift_cursor.json)."
    )
    query_drift: QueryDriftConfig = QueryDriftConfig()
    topic_drift: TopicDriftConfig = TopicDriftConfig()
    retrieval_drift: RetrievalDriftConfig = RetrievalDriftConfig()
    no_good_source: NoGoodSourceConfig = NoGoodSourceConfig()
    satisfaction: SatisfactionConfig = SatisfactionConfig()

    def detector(self, name: str) -> DetectorConfig:
        """The sub-config of one detector, by its name in ``DETECTORS``."""
        if name not in DETECTORS:
            raise KeyError(f"unknown drift detector {name!r}")
        return getattr(self, name)
