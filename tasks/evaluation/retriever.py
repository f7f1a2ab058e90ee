"""A retriever over a LanceDB chunk table for the harness: hybrid search, then the
full text of each hit.

Search hits carry a snippet sized for people; a model answering from sources, and
citation checks asking whether a source holds the answer, need the whole chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lancedb.table import Table

from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.embed_cache import in_filter
from ragtune.tasks.index.search import hybrid_search

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrievedChunk:
    """A hit with its full chunk text (what a prompt shows and citations check)."""

    chunk_id: str
    doc_id: str
    title: str
    text: str
    score: float


def chunk_texts(table: Table, chunk_ids: Sequence[str]) -> dict[str, str]:
    """``chunk_id -> text`` at the table's checked-out version."""
    if not chunk_ids:
        return {}
    rows = table.to_lance().to_table(
        columns=["chunk_id", "text"], filter=in_filter("chunk_id", chunk_ids)
    )
    return dict(
        zip(rows["chunk_id"].to_pylist(), rows["text"].to_pylist(), strict=True)
    )


def index_retriever(
    table: Table,
    embedder: Embedder,
    k: int,
    cfg: IndexConfig | None = None,
    classes: Sequence[str] | None = None,
) -> Callable[[str], list[RetrievedChunk]]:
    """Question -> the top ``k`` chunks by hybrid search (only ``classes`` when
    given), with full texts."""
    only = list(classes) if classes else None

    def retrieve(question: str) -> list[RetrievedChunk]:
        hits = hybrid_search(table, embedder, question, k=k, classes=only, cfg=cfg)
        texts = chunk_texts(table, [h.chunk_id for h in hits])
        return [
            RetrievedChunk(
                h.chunk_id, h.doc_id, h.title, texts.get(h.chunk_id, h.snippet), h.score
            )
            for h in hits
        ]

    return retrieve
