"""ragtune's incremental store as a benchmark peer, called as the flow calls it.

``ragtune`` runs the same three calls as ``flows/knowledge_refresh.py``:
``plan_refresh`` against the live document hashes (documents whose hash the live
index already holds are never chunked), ``chunk_corpus`` on the rest, and
``IndexStore.refresh`` with the plan's scope. ``ragtune-full`` hands every chunk
of every document to ``refresh`` instead, as the flow did before it planned:
the store still embeds only what changed, but the refresh costs a chunking pass
over the whole corpus.

Only the refresh is measured: the publish gate (row count, self-retrieval smoke
test, eval recall) has no counterpart in the peers and embeds queries of its own.
A published index is what the flow diffs against, so each refresh here is
followed by the same ``publish`` (tag and live pointer) outside the timer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.peers.base import (
    BENCH_DATA_HASH,
    UNCLASSIFIED,
    ChunkKey,
    Issue,
    TimedEmbedder,
)
from ragtune.tasks.index.checks import row_count_check
from ragtune.tasks.index.config import ChunkingConfig, IndexConfig
from ragtune.tasks.index.corpus import chunk_corpus, plan_refresh
from ragtune.tasks.index.publish import publish
from ragtune.tasks.index.store import IndexStore, RefreshStats
from ragtune.tasks.ingest.models import Document


class RagtunePeer:
    """An ``IndexStore`` in ``workdir/index`` with its content-hash embedding cache."""

    def __init__(
        self,
        workdir: Path,
        embedder: TimedEmbedder,
        chunking: ChunkingConfig,
        *,
        planned: bool = True,
        index: IndexConfig | None = None,
    ) -> None:
        self.name = "ragtune" if planned else "ragtune-full"
        self.planned = planned
        self.chunking = chunking
        self.store = IndexStore(
            str(Path(workdir) / "index"), "chunks", embedder, cfg=index, cache=True
        )

    def refresh(self, documents: Sequence[Document]) -> dict[str, Any]:
        labels = {d.doc_id: d.category or UNCLASSIFIED for d in documents}
        if self.planned:
            stats = self._refresh_planned(documents, labels)
        else:
            chunks, hashes = chunk_corpus(
                documents, labels, self.chunking, BENCH_DATA_HASH
            )
            stats = self.store.refresh(chunks, hashes, data_hash=BENCH_DATA_HASH)
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

    def _refresh_planned(
        self, documents: Sequence[Document], labels: dict[str, str]
    ) -> RefreshStats:
        plan = plan_refresh(documents, labels, self.store.live_documents())
        chunks, hashes = chunk_corpus(
            plan.documents, labels, self.chunking, BENCH_DATA_HASH
        )
        return self.store.refresh(
            chunks, hashes, data_hash=BENCH_DATA_HASH, scope=plan.scope
        )

    def publish(self, expected_rows: int) -> None:
        """Tag the refreshed version live once its row count matches a full
        rebuild, as the flow does after its checks (the next refresh diffs
        against live)."""
        table = self.store.chunks_table()
        if table is not None:
            checks = [row_count_check(table, expected_rows)]
            publish(self.store, checks, {}, BENCH_DATA_HASH)

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


def build_full(
    workdir: Path, embedder: TimedEmbedder, chunking: ChunkingConfig
) -> RagtunePeer:
    return RagtunePeer(workdir, embedder, chunking, planned=False)
