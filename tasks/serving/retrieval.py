"""Sources for an answer, from the live index only.

The server keeps one handle on the chunk table checked out at the ``live`` tag
and swaps it when a publish or rollback moves the tag (``refresh``, called on the
poll interval and by ``POST /admin/reload``), so answers never come from an
unpublished version and a new publish needs no restart.

Besides the fused rank score, each source carries the cosine similarity between
the question and the chunk: rank scores say which chunk came first, not whether
any chunk was relevant, and the drift monitor needs the latter.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
from lancedb.table import Table

from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.publish import list_tags, open_live
from ragtune.tasks.index.search import hybrid_search
from ragtune.tasks.index.search_indexes import TEXT_COLUMN, VECTOR_COLUMN

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveState:
    """The table readers see and which published tag and version it is."""

    table: Table
    version: int
    tag: str | None


@dataclass(frozen=True)
class Source:
    """A retrieved chunk: what the prompt shows and the response cites."""

    doc_id: str
    title: str
    source_path: str
    chunk_id: str
    section: str
    score: float  # reciprocal-rank-fusion score
    similarity: float  # cosine(question, chunk)
    text: str

    def public(self) -> dict[str, object]:
        """The fields a client sees (the chunk text stays server-side)."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "source_path": self.source_path,
            "chunk_id": self.chunk_id,
            "section": self.section,
            "score": round(self.score, 6),
            "similarity": round(self.similarity, 4),
        }


class _RecordingEmbedder:
    """Passes calls through and keeps the last vectors, so the question is
    embedded once for both search and similarity (one instance per request)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.last: np.ndarray | None = None

    def embed(self, texts: list[str]) -> np.ndarray:
        self.last = self.inner.embed(texts)
        return self.last


class LiveIndex:
    """The live chunk table of one index, reopened when ``live`` moves."""

    def __init__(
        self,
        uri: str,
        cfg: IndexConfig,
        embedder: Embedder,
        known_classes: Collection[str] | None = None,
    ) -> None:
        self.uri, self.cfg, self.embedder = uri, cfg, embedder
        self.known_classes = known_classes
        self._state: LiveState | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> LiveState | None:
        """What answers use now; None while nothing is published."""
        return self._state

    def refresh(self) -> bool:
        """Reopen at the live tag if it moved; True when the served version changed."""
        with self._lock:
            table = open_live(self.uri, self.cfg.table)
            if table is None:
                changed, self._state = self._state is not None, None
                return changed
            old = self._state
            if old is not None and old.version == table.version:
                return False
            tag = next(
                (t.tag for t in list_tags(self.uri, self.cfg.table) if t.live), None
            )
            self._state = LiveState(table=table, version=table.version, tag=tag)
            log.info("serving index version %d (%s)", table.version, tag)
            return True

    def retrieve(self, state: LiveState, question: str, k: int) -> list[Source]:
        """The ``k`` best chunks of ``state``'s table for ``question``, best first."""
        recorder = _RecordingEmbedder(self.embedder)
        hits = hybrid_search(
            state.table,
            recorder,
            question,
            k=k,
            known_classes=self.known_classes,
            cfg=self.cfg,
        )
        if not hits or recorder.last is None:
            return []
        rows = _rows_by_id(state.table, [h.chunk_id for h in hits])
        query = recorder.last[0]
        return [
            Source(
                doc_id=h.doc_id,
                title=h.title,
                source_path=h.source_path,
                chunk_id=h.chunk_id,
                section=h.section,
                score=h.score,
                similarity=float(np.dot(query, rows[h.chunk_id][VECTOR_COLUMN])),
                text=rows[h.chunk_id][TEXT_COLUMN],
            )
            for h in hits
        ]


def _rows_by_id(table: Table, chunk_ids: list[str]) -> dict[str, dict]:
    """Full text and vector of the given chunks (search hits carry a snippet only)."""
    quoted = ", ".join("'" + c.replace("'", "''") + "'" for c in chunk_ids)
    rows = (
        table.search()
        .where(f"chunk_id IN ({quoted})")
        .select(["chunk_id", TEXT_COLUMN, VECTOR_COLUMN])
        .limit(len(chunk_ids))
        .to_list()
    )
    return {
        row["chunk_id"]: {**row, VECTOR_COLUMN: np.asarray(row[VECTOR_COLUMN])}
        for row in rows
    }
