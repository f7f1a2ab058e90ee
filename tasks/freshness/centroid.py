"""Nearest-centroid classifier over document embeddings.

Trained on the documents whose metadata already names their class, so it learns the
knowledge base's own vocabulary without a labelled training set. A class with no
labelled documents has no centroid and is left out (the report says so).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.freshness.config import CentroidConfig
from ragtune.tasks.ingest.models import Document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CentroidPrediction:
    """Nearest class, its softmax probability and the raw cosine similarity."""

    label: str
    confidence: float
    similarity: float


@dataclass(frozen=True)
class CentroidModel:
    """Unit-length class centroids; ``missing`` lists classes that got none."""

    labels: tuple[str, ...]
    centroids: np.ndarray
    temperature: float
    counts: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        """One centroid cannot discriminate; at least two classes are needed."""
        return len(self.labels) >= 2

    def predict(self, vectors: np.ndarray) -> list[CentroidPrediction]:
        """Softmax over cosine similarities divided by the temperature."""
        if not self.usable or len(vectors) == 0:
            return []
        sims = _unit(vectors) @ self.centroids.T
        logits = sims / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        best = probs.argmax(axis=1)
        return [
            CentroidPrediction(self.labels[j], float(probs[i, j]), float(sims[i, j]))
            for i, j in enumerate(best)
        ]


def document_text(doc: Document, text_chars: int) -> str:
    """What is embedded: the title and the opening of the text, where documents
    state what they are about."""
    return f"{doc.title}\n{doc.text[:text_chars]}"


def embed_documents(
    docs: Sequence[Document], embedder: Embedder, cfg: CentroidConfig
) -> np.ndarray:
    """Embeddings of :func:`document_text` for each document, in order."""
    vectors = embedder.embed([document_text(d, cfg.text_chars) for d in docs])
    return np.asarray(vectors, dtype=np.float32).reshape(len(docs), -1)


def fit_centroids(
    vectors: np.ndarray,
    labels: Sequence[str],
    classes: Sequence[str],
    cfg: CentroidConfig,
) -> CentroidModel:
    """Mean of the L2-normalised vectors per class, normalised again.

    Args:
        vectors: one embedding per labelled document.
        labels: the metadata class of each row of ``vectors``.
        classes: every configured class, to report the ones without examples.
        cfg: minimum examples per class and the softmax temperature.
    """
    unit = _unit(vectors) if len(vectors) else vectors
    kept, rows, counts = [], [], {}
    for name in classes:
        mask = np.array([lab == name for lab in labels], dtype=bool)
        counts[name] = int(mask.sum())
        if counts[name] >= cfg.min_examples:
            kept.append(name)
            rows.append(_unit(unit[mask].mean(axis=0, keepdims=True))[0])
    missing = tuple(n for n in classes if n not in kept)
    if missing:
        log.warning("no centroid for %s: too few metadata-labelled documents", missing)
    centroids = np.vstack(rows) if rows else np.zeros((0, vectors.shape[-1]))
    return CentroidModel(tuple(kept), centroids, cfg.temperature, counts, missing)


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)
