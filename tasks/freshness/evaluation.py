"""How good is the classifier? True labels from a CSV, and an honest estimate.

With metadata present, accuracy on the documents that carry it is trivially 100%.
:func:`leave_metadata_out_accuracy` hides the metadata of one fold at a time, so
the number measures what rules and centroids would do on a new, unlabelled file.
"""

from __future__ import annotations

import csv
import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

from ragtune.errors import InputError
from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.freshness.classify import classify_documents, normalise_category
from ragtune.tasks.freshness.config import FreshnessConfig
from ragtune.tasks.freshness.report import Accuracy, Classification, score
from ragtune.tasks.ingest.models import Document

log = logging.getLogger(__name__)


def load_labels(path: Path | str) -> dict[str, str]:
    """Read ``doc_id,class`` rows into {doc_id: class}.

    Raises:
        InputError: the file is missing, lacks the two columns, has a blank cell
            or gives one doc_id two different classes.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: labels file not found")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"doc_id", "class"} - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"{path}: missing column(s) {sorted(missing)}")
        labels: dict[str, str] = {}
        for line, row in enumerate(reader, start=2):
            doc_id, label = (row["doc_id"] or "").strip(), (row["class"] or "").strip()
            if not doc_id or not label:
                raise InputError(f"{path}:{line}: doc_id and class must not be blank")
            label = normalise_category(label)
            if labels.get(doc_id, label) != label:
                raise InputError(
                    f"{path}:{line}: {doc_id!r} labelled both "
                    f"{labels[doc_id]!r} and {label!r}"
                )
            labels[doc_id] = label
    return labels


class _MemoEmbedder:
    """Embeds each distinct text once, because every fold re-embeds the same
    documents and the embedder is the slow part."""

    def __init__(self, inner: Embedder) -> None:
        self.name, self.dim, self._inner = inner.name, inner.dim, inner
        self._memo: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if new:
            self._memo.update(zip(new, self._inner.embed(new), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])


def fold_assignment(doc_ids: Iterable[str], folds: int, seed: int) -> list[list[str]]:
    """Seeded shuffle of the ids, dealt round-robin into ``folds`` folds."""
    ids = sorted(set(doc_ids))
    random.Random(seed).shuffle(ids)
    return [ids[i::folds] for i in range(folds) if ids[i::folds]]


def leave_metadata_out_accuracy(
    documents: Iterable[Document],
    labels: Mapping[str, str],
    cfg: FreshnessConfig,
    embedder: Embedder,
) -> Accuracy:
    """Accuracy of rules + centroids alone, by k-fold hiding of metadata.

    For each fold (``cfg.evaluation.folds``, seeded), the fold's documents lose
    their ``category`` and are classified with the other documents' metadata as
    the centroid training set. Every labelled document is predicted exactly once.

    Args:
        documents: the knowledge base.
        labels: true classes, doc_id -> class (see :func:`load_labels`).
        cfg: the freshness section; ``evaluation`` holds folds and seed.
        embedder: the document embedder (each text is embedded once).
    """
    docs = list(documents)
    labelled = [d.doc_id for d in docs if d.doc_id in labels]
    if not labelled:
        raise InputError("no document in the knowledge base has a true label")
    memo = _MemoEmbedder(embedder)
    predictions: list[Classification] = []
    for fold in fold_assignment(labelled, cfg.evaluation.folds, cfg.evaluation.seed):
        hidden = set(fold)
        masked = [replace(d, category=None) if d.doc_id in hidden else d for d in docs]
        report = classify_documents(masked, cfg, memo, today=date.today())
        predictions += [c for c in report.classifications if c.doc_id in hidden]
    result = score(predictions, labels, tuple(cfg.classes))
    log.info(
        "leave-metadata-out accuracy %.3f (%d/%d)",
        result.accuracy,
        result.correct,
        result.total,
    )
    return result
