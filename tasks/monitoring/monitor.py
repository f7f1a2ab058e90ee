"""One drift check: run the enabled detectors on gathered inputs and decide.

Shared (through ``ragtune.app.monitoring``) by the ``drift-monitor`` flow and
``ragtune drift check --dry-run``, so a dry run explains exactly what the flow
would do with the same data and cursor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from ragtune.tasks.monitoring import detectors as det
from ragtune.tasks.monitoring.config import DriftConfig
from ragtune.tasks.monitoring.inputs import DriftInputs
from ragtune.tasks.monitoring.models import (
    DetectorResult,
    DriftCursor,
    DriftVerdict,
)
from ragtune.tasks.monitoring.trigger import decide

if TYPE_CHECKING:
    from ragtune.tasks.embedding.embedder import Embedder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriftCheck:
    """The figures of one check and the trigger decision taken on them."""

    checked_at: datetime
    inputs: DriftInputs
    decision: DriftVerdict
    dry_run: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at.isoformat(),
            "dry_run": self.dry_run,
            "windows": self.inputs.summary(),
            **self.decision.to_json(),
        }


def needs_embeddings(inputs: DriftInputs, cfg: DriftConfig) -> bool:
    """Whether an embedding detector is enabled and both windows have enough
    queries for it: embedding is the slow part, skipped when it cannot matter."""
    n = min(len(inputs.reference_queries), len(inputs.current_queries))
    return any(
        c.enabled and n >= c.min_samples for c in (cfg.query_drift, cfg.topic_drift)
    )


def embed_windows(
    inputs: DriftInputs, embedder: Embedder, cfg: DriftConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Embed each window's queries, a seeded sample of ``max_queries`` at most."""
    rng = np.random.default_rng(cfg.seed)
    out = []
    for queries in (inputs.reference_queries, inputs.current_queries):
        texts = [q.query for q in queries]
        if len(texts) > cfg.max_queries:
            keep = np.sort(rng.choice(len(texts), cfg.max_queries, replace=False))
            texts = [texts[i] for i in keep]
        out.append(embedder.embed(texts))
    return out[0], out[1]


def run_detectors(
    inputs: DriftInputs, cfg: DriftConfig, embedder: Embedder | None
) -> list[DetectorResult]:
    """Every enabled detector's result; ``embedder`` may be None when
    ``needs_embeddings`` is False."""
    latest_query = max((q.ts for q in inputs.current_queries), default=None)
    results: list[DetectorResult] = []
    if cfg.query_drift.enabled or cfg.topic_drift.enabled:
        ref, cur = _window_vectors(inputs, cfg, embedder)
        if cfg.query_drift.enabled:
            results.append(
                det.query_drift(ref, cur, cfg.query_drift, cfg.seed, latest_query)
            )
        if cfg.topic_drift.enabled:
            results.append(
                det.topic_drift(ref, cur, cfg.topic_drift, cfg.seed, latest_query)
            )
    if cfg.retrieval_drift.enabled:
        results.append(det.retrieval_drift(inputs.tags, cfg.retrieval_drift))
    if cfg.no_good_source.enabled:
        results.append(det.no_good_source(inputs.current_queries, cfg.no_good_source))
    if cfg.satisfaction.enabled:
        results.append(det.satisfaction(inputs.feedback, cfg.satisfaction))
    return results


def _window_vectors(
    inputs: DriftInputs, cfg: DriftConfig, embedder: Embedder | None
) -> tuple[np.ndarray, np.ndarray]:
    if needs_embeddings(inputs, cfg):
        if embedder is None:
            raise ValueError("query drift needs an embedder for these windows")
        return embed_windows(inputs, embedder, cfg)
    # Too few queries for either detector: placeholders of the right length, so
    # each detector reports its own sample count without anything embedded.
    n_ref, n_cur = len(inputs.reference_queries), len(inputs.current_queries)
    return np.zeros((n_ref, 1)), np.zeros((n_cur, 1))


def check_drift(
    inputs: DriftInputs,
    cfg: DriftConfig,
    cursor: DriftCursor,
    now: datetime,
    embedder: Callable[[], Embedder] | None,
    dry_run: bool = False,
) -> DriftCheck:
    """Run the detectors and decide; ``embedder`` is a factory, called only when
    an embedding detector has enough queries (loading a model costs seconds)."""
    model = (
        embedder() if embedder is not None and needs_embeddings(inputs, cfg) else None
    )
    results = run_detectors(inputs, cfg, model)
    decision = decide(results, cursor, now, cfg)
    for result in decision.results:
        log.info(
            "drift %s: %s (%s)",
            result.name,
            decision.statuses[result.name],
            decision.reasons[result.name],
        )
    return DriftCheck(checked_at=now, inputs=inputs, decision=decision, dry_run=dry_run)
