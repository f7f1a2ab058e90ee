"""Retrieval: the chunks a model answers from, for every reader of the index.

Evaluation, the decision's answer measurements and the chat server all answer
from the same hybrid search and see the same passage: the whole chunk (search
hits carry a snippet sized for people as well), its fused rank score and the
cosine similarity between the question and the chunk. Rank scores say which chunk
came first, not whether any chunk was relevant; the drift monitor and the
served sources need the latter.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np
from lancedb.table import Table

from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.search import hybrid_search


class Retriever(Protocol):
    """What answers are grounded with: a question, optionally as of a day."""

    def __call__(
        self, question: str, as_of: date | None = None
    ) -> list[RetrievedChunk]: ...


@dataclass(frozen=True)
class RetrievedChunk:
    """A retrieved chunk: what the prompt shows, citations check and answers cite."""

    chunk_id: str
    doc_id: str
    title: str
    source_path: str
    section: str
    text: str
    score: float  # reciprocal-rank-fusion score
    similarity: float  # cosine(question, chunk)
    effective_date: date | None = None
    valid_until: date | None = None  # last day in force (None: open)
    clause: str = ""
    superseded_by: str | None = None
    amended_by: tuple[str, ...] = ()  # ``doc@YYYY-MM-DD[#clause]`` in force

    def public(self) -> dict[str, object]:
        """The fields a client sees (the chunk text stays server-side)."""
        shown: dict[str, object] = {
            "doc_id": self.doc_id,
            "title": self.title,
            "source_path": self.source_path,
            "chunk_id": self.chunk_id,
            "section": self.section,
            "score": round(self.score, 6),
            "similarity": round(self.similarity, 4),
            "effective_date": _iso(self.effective_date),
            "valid_until": _iso(self.valid_until),
        }
        if self.clause:
            shown["clause"] = self.clause
        if self.superseded_by:
            shown["superseded_by"] = self.superseded_by
        if self.amended_by:
            shown["amended_by"] = list(self.amended_by)
        return shown


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


class _RecordingEmbedder:
    """Passes calls through and keeps the last vectors, so the question is
    embedded once for both search and similarity (one instance per question)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.last: np.ndarray | None = None

    def embed(self, texts: list[str]) -> np.ndarray:
        self.last = self.inner.embed(texts)
        return self.last


def retrieve(
    table: Table,
    embedder: Embedder,
    question: str,
    k: int,
    *,
    classes: Sequence[str] | None = None,
    known_classes: Collection[str] | None = None,
    cfg: IndexConfig | None = None,
    in_force_on: date | None = None,
) -> list[RetrievedChunk]:
    """The ``k`` best chunks of ``table`` for ``question``, best first (only
    ``classes`` when given; names outside ``known_classes`` are refused; only
    text in force on ``in_force_on`` when given)."""
    recorder = _RecordingEmbedder(embedder)
    vectors: dict[str, np.ndarray] = {}  # the hits' vectors, read by the search
    hits = hybrid_search(
        table,
        recorder,
        question,
        k=k,
        classes=list(classes) if classes else None,
        in_force_on=in_force_on,
        known_classes=known_classes,
        cfg=cfg,
        vectors=vectors,
    )
    if not hits or recorder.last is None:
        return []
    query = np.asarray(recorder.last[0], dtype=np.float32)
    return [
        RetrievedChunk(
            chunk_id=h.chunk_id,
            doc_id=h.doc_id,
            title=h.title,
            source_path=h.source_path,
            section=h.section,
            text=h.text,
            score=h.score,
            similarity=float(np.dot(query, vectors[h.chunk_id])),
            effective_date=h.effective_date,
            valid_until=h.valid_until,
            clause=h.clause,
            superseded_by=h.superseded_by,
            amended_by=h.amended_by,
        )
        for h in hits
    ]


def index_retriever(
    table: Table,
    embedder: Embedder,
    k: int,
    cfg: IndexConfig | None = None,
    classes: Sequence[str] | None = None,
) -> Retriever:
    """Question (and the day it is asked about) -> its top ``k`` chunks (only
    ``classes`` when given): the retriever the evaluation harness and the
    decision's answer scorer call. A question without a day searches every date."""

    def retrieve_for(question: str, as_of: date | None = None) -> list[RetrievedChunk]:
        return retrieve(
            table, embedder, question, k, classes=classes, cfg=cfg, in_force_on=as_of
        )

    return retrieve_for
