"""ragtune's incremental store (``IndexStore.refresh``) as a benchmark peer.

Two ways of calling it:

* ``ragtune``: as ``flows/knowledge_refresh.py`` does, every document chunked and
  the whole manifest handed to ``refresh``. The issue's targets are judged on it.
* ``ragtune-scoped``: documents whose content hash the index already holds are
  not chunked at all; only added and changed documents are, and ``refresh`` gets
  ``scope`` = added, changed and removed ids. Same store, same result, less work
  per refresh: what the flow could do.

Only the refresh is measured: the publish gate (row count, self-retrieval smoke
test, eval recall) has no counterpart in the peers and embeds queries of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.peers.base import ChunkKey, Issue, TimedEmbedder, chunk_documents
from ragtune.tasks.index.config import ChunkingConfig, IndexConfig
from ragtune.tasks.index.store import IndexStore, RefreshStats
from ragtune.tasks.index.tables import read_documents
from ragtune.tasks.ingest.models import Document


class RagtunePeer:
    """An ``IndexStore`` in ``workdir/index`` with its content-hash embedding cache."""

    def __init__(
        self,
        workdir: Path,
        embedder: TimedEmbedder,
        chunking: ChunkingConfig,
        *,
        scoped: bool = False,
        index: IndexConfig | None = None,
    ) -> None:
        self.name = "ragtune-scoped" if scoped else "ragtune"
        self.scoped = scoped
        self.chunking = chunking
        self.store = IndexStore(
            str(Path(workdir) / "index"), "chunks", embedder, cfg=index, cache=True
        )

    def refresh(self, documents: Sequence[Document]) -> dict[str, Any]:
        if self.scoped:
            stats = self._refresh_scoped(documents)
        else:
            chunks = chunk_documents(documents, self.chunking)
            hashes = {d.doc_id: d.content_hash for d in documents}
            stats = self.store.refresh(chunks, hashes)
        return {
            "added": len(stats.added),
            "changed": len(stats.changed),
            "removed": len(stats.removed),
            "chunks_embedded": stats.chunks_embedded,
            "chunks_upserted": stats.chunks_upserted,
            "chunks_deleted": stats.chunks_deleted,
            "cache_hits": stats.cache_hits,
            "version_after": stats.version_after,
        }

    def _refresh_scoped(self, documents: Sequence[Document]) -> RefreshStats:
        table = self.store.documents_table()
        indexed = {} if table is None else read_documents(table)
        todo = [d for d in documents if indexed.get(d.doc_id) != d.content_hash]
        removed = set(indexed) - {d.doc_id for d in documents}
        return self.store.refresh(
            chunk_documents(todo, self.chunking),
            {d.doc_id: d.content_hash for d in todo},
            scope={d.doc_id for d in todo} | removed,
        )

    def contents(self) -> list[ChunkKey]:
        table = self.store.chunks_table()
        if table is None:
            return []
        rows = table.to_lance().to_table(columns=["doc_id", "text"])
        return list(
            zip(rows["doc_id"].to_pylist(), rows["text"].to_pylist(), strict=True)
        )

    def issues(self) -> list[Issue]:
        return []


def build(
    workdir: Path, embedder: TimedEmbedder, chunking: ChunkingConfig
) -> RagtunePeer:
    return RagtunePeer(workdir, embedder, chunking)


def build_scoped(
    workdir: Path, embedder: TimedEmbedder, chunking: ChunkingConfig
) -> RagtunePeer:
    return RagtunePeer(workdir, embedder, chunking, scoped=True)
