"""Accuracy on the bundled sample knowledge base against data/eval/labels-*.csv.

With metadata, most documents are trivially right; the leave-metadata-out figure is
the honest one: what rules and centroids get without the ``category`` field.
"""

from __future__ import annotations

import logging
from datetime import date

import pytest

from ragtune.tasks.freshness import (
    classify_documents,
    leave_metadata_out_accuracy,
    load_labels,
)
from ragtune.tasks.freshness.config import ClassPolicy, FreshnessConfig
from ragtune.tasks.ingest.config import DataConfig
from ragtune.tasks.ingest.loader import load_knowledge_base

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)
TODAY = date(2026, 11, 25)


@pytest.fixture(scope="module")
def kb(repo_root):
    result = load_knowledge_base(repo_root / "data" / "kb", DataConfig())
    labels: dict[str, str] = {}
    for path in sorted((repo_root / "data" / "eval").glob("labels-*.csv")):
        labels.update(load_labels(path))
    assert labels, "no data/eval/labels-*.csv found"
    return result.documents, labels


def test_overall_accuracy_with_metadata(kb, embedder):
    docs, labels = kb
    report = classify_documents(docs, FreshnessConfig(), embedder, TODAY)
    acc = report.accuracy(labels)
    log.info("overall accuracy %.3f by method %s", acc.accuracy, acc.by_method)
    assert acc.missing == ()  # every label names a document that was loaded
    assert acc.total >= 0.9 * len(docs)
    assert acc.accuracy >= 0.95, acc.errors
    without_metadata = {c.method for c in report.classifications} - {"metadata"}
    assert without_metadata, "the sample KB should exercise rules or centroids"
    summary = {s.label: s for s in report.summaries}
    assert summary["historical"].placement == "fine-tune-candidate"
    assert summary["regulatory"].placement == "rag"
    assert sum(s.count for s in report.summaries) == len(docs)


def test_leave_metadata_out_accuracy(kb, embedder):
    docs, labels = kb
    acc = leave_metadata_out_accuracy(docs, labels, FreshnessConfig(), embedder)
    log.info("leave-metadata-out accuracy %.3f", acc.accuracy)
    assert acc.total == len([d for d in docs if d.doc_id in labels])
    assert "metadata" not in acc.by_method
    assert acc.accuracy >= 0.80, acc.errors


def test_centroids_alone_without_rules(kb, embedder):
    """The rule vocabulary was tuned on this KB; centroids were not, so this is
    the figure least flattered by tuning."""
    docs, labels = kb
    base = FreshnessConfig()
    bare = {
        n: ClassPolicy(max_age_days=p.max_age_days, volatile=p.volatile)
        for n, p in base.classes.items()
    }
    cfg = base.model_copy(update={"classes": bare})
    acc = leave_metadata_out_accuracy(docs, labels, cfg, embedder)
    log.info("centroid-only leave-metadata-out accuracy %.3f", acc.accuracy)
    assert set(acc.by_method) == {"centroid"}
    assert acc.accuracy >= 0.80, acc.errors
