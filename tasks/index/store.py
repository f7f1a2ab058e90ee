"""The incremental, crash-safe chunk index.

A refresh always starts from what readers see (``baseline.py``): if the latest
version is not the live one (a crash, a failed publish gate, a rollback), both
tables are first restored to live, and the diff is computed against those rows.
A rerun after any failure therefore redoes exactly the changes that are not live
yet, with the vectors the failed run computed coming back from the embedding cache.

Every write is one LanceDB commit (merge-insert keyed on ``chunk_id`` that also
deletes stale rows), so a crash leaves either the old or the new version, never
half of one; readers follow the ``live`` tag (``ledger.py``) and never see an
unpublished version. A refresh with nothing to do writes no version at all.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from lancedb.table import Table

from ragtune.errors import ConfigError
from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.index import tables as tb
from ragtune.tasks.index.baseline import Baseline, check_embedder, prepare
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.diff import (
    DocumentDiff,
    diff_documents,
    plan_chunks,
    validate_manifest,
)
from ragtune.tasks.index.embed_cache import (
    CountingEmbedder,
    EmbeddingCache,
    in_filter,
    resolve_vectors,
)
from ragtune.tasks.index.ledger import LiveResolver, LiveState
from ragtune.tasks.index.maintenance import maintain
from ragtune.tasks.index.schema import Chunk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefreshStats:
    """What a refresh found and did. Document lists are relative to the live index."""

    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]
    chunks_total: int
    chunks_embedded: int  # texts actually sent to the embedder
    chunks_upserted: int
    chunks_deleted: int
    chunks_unchanged: int
    cache_hits: int  # distinct texts whose vector came from the cache
    version_before: int  # latest chunk-table version when the refresh started
    version_after: int  # latest chunk-table version now: the publish candidate
    documents_version: int  # latest documents-table version now
    live_version: int | None  # refresh never moves live; publish does
    live_documents_version: int | None
    restored_to_live: bool = False
    rebuilt: bool = False
    maintenance: list[str] = field(default_factory=list)

    @property
    def needs_publish(self) -> bool:
        """True when the candidate differs from what readers see (a document-only
        change, e.g. front matter that no chunk shows, still moves the document
        table and so needs a publish to become the new baseline)."""
        return (
            self.version_after != self.live_version
            or self.documents_version != self.live_documents_version
        )


class IndexStore:
    """One LanceDB chunk index: refresh it incrementally, inspect its versions.

    Args:
        uri: LanceDB database folder or object-store URI.
        table: Chunk table name (its documents and ledger tables derive from it).
        embedder: Turns chunk texts into vectors; its name and dimension are stored
            with the table and must match on every later open.
        cfg: Write batch, compaction and search-index settings.
        rebuild: Start a new table version from nothing with this embedder (needed
            when the embedder changed); published after checks like any refresh.
        cache: Reuse vectors by text hash from the on-disk embedding cache.

    Raises:
        ConfigError: the table was built with another embedder and ``rebuild`` is
            False.
    """

    def __init__(
        self,
        uri: str,
        table: str,
        embedder: Embedder,
        *,
        cfg: IndexConfig | None = None,
        rebuild: bool = False,
        cache: bool = True,
    ) -> None:
        self.uri = uri
        self.name = table
        self.cfg = cfg or IndexConfig()
        self.embedder = (
            embedder
            if isinstance(embedder, CountingEmbedder)
            else CountingEmbedder(embedder)
        )
        self.info = tb.EmbedderInfo(embedder.name, int(embedder.dim))
        self.rebuild = rebuild
        self.db = tb.connect(uri)
        self._live = LiveResolver(self.db, table)
        # documents version -> doc hashes this store's last refresh left there
        self._written: tuple[int, dict[str, str]] | None = None
        self._cache = (
            EmbeddingCache(uri, self.info.name, self.info.dim) if cache else None
        )
        if not rebuild:
            check_embedder(self.db, self.name, self.info)

    # -- reading -----------------------------------------------------------------

    def chunks_table(self) -> Table | None:
        """A fresh handle on the chunk table at its latest version."""
        return tb.open_table(self.db, self.name)

    def documents_table(self) -> Table | None:
        return tb.open_table(self.db, tb.documents_table_name(self.name))

    @property
    def version(self) -> int:
        """Latest chunk-table version (0 before the first refresh)."""
        chunks = self.chunks_table()
        return 0 if chunks is None else chunks.version

    def live(self) -> LiveState | None:
        """The published versions readers see, or None before the first publish."""
        chunks = self.chunks_table()
        return None if chunks is None else self._live.state(chunks)

    def live_documents(self) -> dict[str, str]:
        """``doc_id -> hash`` as readers see it (the live documents version).

        A refresh diffs against this, not the latest version, because an unpublished
        candidate (failed gate, crash) is rolled back at the start of the refresh.
        """
        return self._live.documents(self.live(), self.documents_table())

    def candidate(self) -> Table:
        """The latest chunk-table version, pinned: what checks run on and publish
        makes live."""
        chunks = self.chunks_table()
        if chunks is None:
            raise ConfigError(f"index table {self.name} at {self.uri} does not exist")
        chunks.checkout(chunks.version)
        return chunks

    # -- refreshing --------------------------------------------------------------

    def refresh(
        self,
        chunks: Sequence[Chunk],
        documents: Mapping[str, str],
        *,
        data_hash: str | None = None,
        scope: Collection[str] | None = None,
    ) -> RefreshStats:
        """Bring the index in line with ``chunks`` (the manifest of ``documents``).

        Args:
            chunks: Every chunk of every document in ``documents``.
            documents: ``doc_id -> content_hash`` of the documents refreshed.
            data_hash: DVC hash of the knowledge base; defaults to the chunks'.
            scope: Doc ids this refresh speaks for. Indexed documents in scope but
                absent from ``documents`` are removed; documents outside it are not
                touched. None: ``documents`` is the whole knowledge base.

        Returns:
            What changed; ``needs_publish`` says whether there is a new candidate.
        """
        validate_manifest(chunks, documents)
        self.embedder.reset()
        base = prepare(
            self.db, self.name, self.info, rebuild=self.rebuild, resolver=self._live
        )
        data_hash = data_hash or next((c.data_hash for c in chunks), "")
        indexed = self._indexed_documents(base)
        diff = diff_documents(indexed, documents, scope)
        # Scoped: only the refreshed documents' rows are compared; the rows of
        # removed ones are deleted by doc id without being read.
        refreshed = None if scope is None else set(documents)
        plan = plan_chunks(
            chunks, tb.read_fingerprints(base.chunks, refreshed), deletable=refreshed
        )
        vectors, hits = self._vectors(plan.embed)
        deleted = self._write_chunks(
            base.chunks,
            plan.embed + plan.restamp,
            vectors,
            plan.stale,
            [] if scope is None else diff.removed,
        )
        self._write_documents(base.documents, diff, documents, data_hash)
        documents_version = base.documents.version
        self._written = (documents_version, _apply(indexed, diff, documents))
        upserted = bool(plan.embed or plan.restamp)
        actions = maintain(base.chunks, self.cfg) if upserted or base.created else []
        self.rebuild = False
        stats = RefreshStats(
            **diff.__dict__,
            chunks_total=len(chunks),
            chunks_embedded=self.embedder.texts,
            chunks_upserted=len(plan.embed) + len(plan.restamp),
            chunks_deleted=deleted or 0,
            chunks_unchanged=plan.unchanged,
            cache_hits=hits,
            version_before=base.version_before,
            version_after=base.chunks.version,
            documents_version=documents_version,
            live_version=None if base.live is None else base.live.version,
            live_documents_version=(
                None if base.live is None else base.live.documents_version
            ),
            restored_to_live=base.restored,
            rebuilt=base.created,
            maintenance=actions,
        )
        log.info("index refresh %s: %s", self.name, _summary(stats))
        return stats

    def published(self, live: LiveState) -> None:
        """Called by ``publish`` once ``live`` is the live state: the hashes this
        store wrote at its documents version need not be read back."""
        written = self._written
        known = written[1] if written and written[0] == live.documents_version else None
        self._live.moved(live, known)

    def _indexed_documents(self, base: Baseline) -> dict[str, str]:
        """What the documents table holds at the version this refresh builds on:
        the live hashes (usually already read while planning) once aligned."""
        aligned = (
            not base.created
            and base.live is not None
            and base.live.documents_version == base.documents.version
        )
        if aligned:
            return self._live.documents(base.live, base.documents)
        return tb.read_documents(base.documents)

    def _vectors(self, chunks: list[Chunk]) -> tuple[dict[str, np.ndarray], int]:
        texts: dict[str, str] = {}
        for chunk in chunks:
            texts.setdefault(chunk.content_hash, chunk.text)
        return resolve_vectors(
            texts,
            self.embedder,
            self._cache,
            batch=self.cfg.write_batch,
            read_cache=not self.rebuild,
        )

    def _write_chunks(
        self,
        table: Table,
        rows: list[Chunk],
        vectors: dict[str, np.ndarray],
        stale: list[str],
        removed: list[str],
    ) -> int | None:
        """Upsert new and restamped rows, and delete stale chunks and every chunk
        of the removed documents, in one commit. Returns the rows deleted (None:
        nothing written)."""
        restamped = [c.chunk_id for c in rows if c.content_hash not in vectors]
        stored = tb.read_vectors(table, restamped) if restamped else {}
        matrix = np.zeros((len(rows), self.info.dim), np.float32)
        for i, chunk in enumerate(rows):
            hit = vectors.get(chunk.content_hash)
            matrix[i] = stored[chunk.chunk_id] if hit is None else hit
        arrow = tb.chunks_to_arrow(rows, matrix, table.schema)
        gone = [in_filter("chunk_id", stale)] if stale else []
        gone += [in_filter("doc_id", removed)] if removed else []
        where = " OR ".join(f"({g})" for g in gone) if gone else None
        return tb.upsert(table, "chunk_id", arrow, where)

    @staticmethod
    def _write_documents(
        table: Table, diff: DocumentDiff, documents: Mapping[str, str], data_hash: str
    ) -> int | None:
        rows = {d: documents[d] for d in diff.added + diff.changed}
        where = in_filter("doc_id", diff.removed) if diff.removed else None
        return tb.upsert(table, "doc_id", tb.documents_to_arrow(rows, data_hash), where)


def _apply(
    old: Mapping[str, str], diff: DocumentDiff, documents: Mapping[str, str]
) -> dict[str, str]:
    """The documents table's content after a refresh wrote ``diff``."""
    removed = set(diff.removed)
    new = {d: h for d, h in old.items() if d not in removed}
    new.update({d: documents[d] for d in diff.added + diff.changed})
    return new


def _summary(stats: RefreshStats) -> str:
    return (
        f"+{len(stats.added)} ~{len(stats.changed)} -{len(stats.removed)} docs, "
        f"{stats.chunks_embedded} embedded, {stats.cache_hits} cached, "
        f"{stats.chunks_upserted} upserted, {stats.chunks_deleted} deleted, "
        f"version {stats.version_before} -> {stats.version_after}"
    )
