"""Retrievers for the optimisation grid, built on an open LanceDB chunk table.

A search factory turns ``(mode, classes, depth)`` into a function from a query to
the document id of each retrieved chunk, best first. The grid searches once per
mode and class filter at the deepest k and cuts the list for smaller k: the
fused order does not depend on k, so this equals searching at each k and costs
a third as much. Query vectors are cached, so each question is embedded once
whatever the number of settings tried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow.compute as pc
from lancedb.table import Table

from ragtune.errors import InputError
from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.search import (
    build_filter,
    hybrid_search,
    text_candidates,
    vector_candidates,
)
from ragtune.tasks.index.search_indexes import TEXT_COLUMN

ChunkSearch = Callable[[str], Sequence[str]]
SearchFactory = Callable[[str, tuple[str, ...] | None, int], ChunkSearch]


class CachedEmbedder:
    """Wraps an embedder so a text repeated across settings is embedded once."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self._memo: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            for text, vector in zip(missing, self.inner.embed(missing), strict=True):
                self._memo[text] = np.asarray(vector, np.float32)
        return np.stack([self._memo[t] for t in texts])


def lancedb_search_factory(
    table: Table, embedder: Embedder, cfg: IndexConfig | None = None
) -> SearchFactory:
    """Hybrid, vector-only and full-text-only search on ``table``.

    Args:
        table: The chunk table at the version to evaluate (e.g. ``open_live``).
        embedder: The embedder the table's vectors were made with.
        cfg: Search settings (candidates, RRF constant, refine factor).

    Returns:
        A factory for :func:`~ragtune.tasks.decision.evidence.measure_rag_baseline`.
    """
    cfg = cfg or IndexConfig()
    cached = CachedEmbedder(embedder)

    def factory(mode: str, classes: tuple[str, ...] | None, depth: int) -> ChunkSearch:
        where = build_filter(list(classes) if classes else None, None)
        if mode == "hybrid":
            return lambda q: [
                h.doc_id
                for h in hybrid_search(
                    table,
                    cached,
                    q,
                    k=depth,
                    classes=list(classes) if classes else None,
                    candidates=max(depth, cfg.search_candidates),
                    cfg=cfg,
                )
            ]
        if mode == "vector":
            return lambda q: _vector(table, cached, q, where, depth, cfg)
        if mode == "text":
            return lambda q: _text(table, q, where, depth)
        raise InputError(f"unknown search mode {mode!r}; known: hybrid, vector, text")

    return factory


def mean_chunk_tokens(
    table: Table, chars_per_token: float, sample: int = 2000
) -> float:
    """Average chunk length in tokens over up to ``sample`` rows of ``table``.

    The context a RAG answer pays for is k of these; measuring them on the index
    itself keeps the cost figure honest when chunking settings change.
    """
    texts = table.search().select([TEXT_COLUMN]).limit(sample).to_arrow()
    if texts.num_rows == 0:
        raise InputError("the index has no chunks: nothing to measure")
    mean_chars = pc.mean(pc.utf8_length(texts[TEXT_COLUMN])).as_py()
    return float(mean_chars) / chars_per_token


def _vector(
    table: Table,
    embedder: CachedEmbedder,
    query: str,
    where: str | None,
    depth: int,
    cfg: IndexConfig,
) -> list[str]:
    rows = vector_candidates(table, embedder, query, where, depth, cfg)
    return [r["doc_id"] for r in rows]


def _text(table: Table, query: str, where: str | None, depth: int) -> list[str]:
    return [r["doc_id"] for r in text_candidates(table, query, where, depth)]
