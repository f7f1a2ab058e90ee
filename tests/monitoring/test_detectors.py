"""Each detector on plain inputs: retrieval drop, no-good-source rate,
satisfaction, and query/topic drift on real MiniLM embeddings of a shifted and
an unshifted query set (false positives and misses, fixed seeds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ragtune.tasks.monitoring import detectors as det
from ragtune.tasks.monitoring.config import DriftConfig, TopicDriftConfig
from ragtune.tasks.monitoring.models import FeedbackRecord, QueryRecord, TagMetrics

from .conftest import FRAUD, SAVINGS, queries

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CFG = DriftConfig()


def tag(name: str, days_ago: int, ndcg: float, recall: float = 0.9) -> TagMetrics:
    return TagMetrics(
        name,
        NOW - timedelta(days=days_ago),
        {"ndcg_at_10": ndcg, "recall_at_k": recall},
    )


def test_retrieval_drop_against_the_best_earlier_tag() -> None:
    tags = [tag("live-a", 30, 0.80), tag("live-b", 20, 0.86), tag("live-c", 1, 0.78)]
    result = det.retrieval_drift(tags, CFG.retrieval_drift)
    # best earlier is live-b at 0.86; 0.86 - 0.78 = 0.08 > 0.05
    assert result.fired and result.value == pytest.approx(0.08)
    assert result.details["baseline_tag"] == "live-b" and result.n == 3
    assert result.latest == NOW - timedelta(days=1)


def test_retrieval_previous_baseline_and_small_drops_do_not_fire() -> None:
    tags = [tag("live-a", 30, 0.86), tag("live-b", 20, 0.80), tag("live-c", 1, 0.78)]
    cfg = CFG.retrieval_drift.model_copy(update={"baseline": "previous"})
    result = det.retrieval_drift(tags, cfg)
    assert not result.fired and result.value == pytest.approx(0.02)
    assert "live-b" in result.reason
    recall = CFG.retrieval_drift.model_copy(update={"metric": "recall_at_k"})
    assert det.retrieval_drift(tags, recall).value == pytest.approx(0.0)


def test_retrieval_needs_two_tags_with_the_metric() -> None:
    tags = [tag("live-a", 3, 0.8), TagMetrics("live-b", NOW, {"mrr": 0.5})]
    result = det.retrieval_drift(tags, CFG.retrieval_drift)
    assert not result.fired and result.value is None and result.n == 1
    assert "fewer than min_samples 2" in result.reason


def q(i: int, relevant: bool) -> QueryRecord:
    return QueryRecord(NOW - timedelta(minutes=i), f"r{i}", f"question {i}", relevant)


def test_no_good_source_rate() -> None:
    current = [q(i, relevant=i % 5 >= 2) for i in range(60)]  # 2 in 5 miss: 40%
    result = det.no_good_source(current, CFG.no_good_source)
    assert result.fired and result.value == pytest.approx(0.4) and result.n == 60
    assert result.details["misses"] == 24
    healthy = [q(i, relevant=i % 10 != 0) for i in range(60)]  # 10%
    assert not det.no_good_source(healthy, CFG.no_good_source).fired
    few = det.no_good_source(current[:10], CFG.no_good_source)
    assert not few.fired and few.value is None and few.n == 10


def fb(i: int, thumbs: str | None = None, score: int | None = None) -> FeedbackRecord:
    value = (1.0 if thumbs == "up" else 0.0) if thumbs else (score - 1) / 4
    return FeedbackRecord(NOW - timedelta(minutes=i), f"r{i}", value, thumbs, score)


def test_satisfaction_mixes_thumbs_and_scores_on_one_scale() -> None:
    ratings = [fb(i, thumbs="up" if i % 2 else "down") for i in range(20)]
    ratings += [fb(20 + i, score=2) for i in range(10)]  # 0.25 each
    result = det.satisfaction(ratings, CFG.satisfaction)
    # (10 * 1.0 + 10 * 0.0 + 10 * 0.25) / 30
    assert result.value == pytest.approx(12.5 / 30) and result.fired
    assert result.details == {"thumbs_up_share": 0.5, "mean_score": 2.0}
    happy = [fb(i, score=5) for i in range(25)]
    assert not det.satisfaction(happy, CFG.satisfaction).fired
    assert det.satisfaction(happy[:5], CFG.satisfaction).value is None


@pytest.fixture(scope="module")
def query_sets(embedder) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Two samples of the savings theme and one of the fraud theme, 50 each."""
    return {
        "savings_a": embedder.embed(queries(SAVINGS, 50, seed=1)),
        "savings_b": embedder.embed(queries(SAVINGS, 50, seed=2)),
        "fraud": embedder.embed(queries(FRAUD, 50, seed=3)),
    }


@pytest.mark.slow
def test_query_drift_fires_on_a_new_theme_and_not_on_the_same_one(
    query_sets: dict[str, np.ndarray],
) -> None:
    ref = query_sets["savings_a"]
    shifted = det.query_drift(ref, query_sets["fraud"], CFG.query_drift, seed=13)
    same = det.query_drift(ref, query_sets["savings_b"], CFG.query_drift, seed=13)
    assert shifted.fired and shifted.value < 0.01  # a miss would fail here
    assert not same.fired and same.value > 0.05  # a false positive here
    assert shifted.details["mmd2"] > 5 * same.details["mmd2"]
    again = det.query_drift(ref, query_sets["fraud"], CFG.query_drift, seed=13)
    assert again == shifted  # seeded: the same p-value every run


@pytest.mark.slow
def test_query_drift_catches_a_partial_shift(query_sets: dict[str, np.ndarray]) -> None:
    # half the traffic turns to fraud: still a shift the monitor must see
    mixed = np.vstack([query_sets["savings_b"][:25], query_sets["fraud"][:25]])
    result = det.query_drift(query_sets["savings_a"], mixed, CFG.query_drift, 13)
    assert result.fired


@pytest.mark.slow
def test_topic_psi_fires_on_a_new_theme_and_not_on_the_same_one(
    query_sets: dict[str, np.ndarray],
) -> None:
    # 50 queries a side allow 4 clusters: same-traffic PSI then averages
    # 3 * (2 / 50) = 0.12, below the 0.25 threshold (the config checks this)
    cfg = TopicDriftConfig(clusters=4, min_samples=50)
    ref = query_sets["savings_a"]
    shifted = det.topic_drift(ref, query_sets["fraud"], cfg, seed=13)
    same = det.topic_drift(ref, query_sets["savings_b"], cfg, seed=13)
    assert shifted.fired and shifted.value > 3 * same.value
    assert not same.fired and same.value < 0.25
    assert shifted.details["null_psi"] == pytest.approx(0.12)
    assert sum(shifted.details["current_shares"]) == pytest.approx(1.0, abs=1e-3)


def test_topic_config_refuses_a_threshold_inside_the_noise() -> None:
    with pytest.raises(ValueError, match="averages 0.280, too close"):
        TopicDriftConfig(clusters=8, min_samples=50)


def test_embedding_detectors_below_min_samples_say_so() -> None:
    tiny = np.zeros((5, 384), dtype=np.float32)
    for fn, cfg in (
        (det.query_drift, CFG.query_drift),
        (det.topic_drift, CFG.topic_drift),
    ):
        result = fn(tiny, tiny, cfg, seed=13)
        assert not result.fired and result.value is None and result.n == 5
        assert f"fewer than min_samples {cfg.min_samples}" in result.reason
