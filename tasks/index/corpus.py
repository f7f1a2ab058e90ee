"""Turns a validated, classified knowledge base into the chunk manifest a refresh
indexes: every chunk of every document, and each document's content hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lancedb.table import Table

from ragtune.tasks.index.chunking import chunk_document
from ragtune.tasks.index.config import ChunkingConfig
from ragtune.tasks.index.schema import Chunk
from ragtune.tasks.index.validity import NONE, DocValidity, ValidityMap
from ragtune.tasks.ingest.models import Document


def chunk_corpus(
    documents: Iterable[Document],
    labels: Mapping[str, str],
    cfg: ChunkingConfig,
    data_hash: str,
    validity: ValidityMap | None = None,
) -> tuple[list[Chunk], dict[str, str]]:
    """Chunks of all documents, labelled with their freshness class.

    The document hash covers the class, the metadata stored on chunks and what
    later documents closed in it (``validity``, derived from the whole knowledge
    base) too, so a sidecar-only edit, a re-classification or a new amendment
    counts as a change and rewrites the chunks' metadata, without re-embedding
    their text.
    """
    chunks: list[Chunk] = []
    hashes: dict[str, str] = {}
    for doc in documents:
        label = labels[doc.doc_id]
        of_doc = validity.of(doc.doc_id) if validity else NONE
        chunks += chunk_document(doc, label, cfg, data_hash, of_doc)
        hashes[doc.doc_id] = document_hash(doc, label, of_doc)
    return chunks, hashes


def document_hash(doc: Document, label: str, validity: DocValidity = NONE) -> str:
    """Hash of what the index stores about a document: bytes, class, metadata and
    derived validity. Parts a document does not use are left out, so documents
    without amendments keep the hash they had before validity existed."""
    parts = [
        doc.content_hash,
        label,
        doc.title,
        doc.source_path,
        doc.effective_date,
        doc.valid_until,
        doc.last_reviewed,
        doc.amends,
    ]
    if doc.supersedes or doc.clauses:
        parts += [doc.supersedes, ",".join(doc.clauses)]
    if validity.key():
        parts.append(validity.key())
    return hashlib.sha256("|".join(str(v) for v in parts).encode()).hexdigest()


def class_scope(
    indexed: Mapping[str, str], labels: Mapping[str, str], classes: Iterable[str]
) -> set[str]:
    """Doc ids a refresh of some freshness classes speaks for.

    A document belongs to the scope if it is classified into one of the classes now,
    or was indexed under one of them (so its deletion, or its move to another class,
    is handled by this refresh and not left behind).
    """
    wanted = set(classes)
    return {d for d, c in labels.items() if c in wanted} | {
        d for d, c in indexed.items() if c in wanted
    }


def indexed_categories(table: Table | None) -> dict[str, str]:
    """doc_id -> freshness class as the given index version stores it."""
    if table is None:
        return {}
    rows = table.search().select(["doc_id", "category"]).to_arrow()
    return dict(
        zip(rows["doc_id"].to_pylist(), rows["category"].to_pylist(), strict=True)
    )


@dataclass(frozen=True)
class RefreshPlan:
    """What one refresh touches: the documents to chunk, and the doc ids it
    speaks for (``scope``: changed, added and removed ones). Everything else in
    the index is left exactly as it is."""

    documents: list[Document]
    scope: set[str]
    unchanged: int


def plan_refresh(
    documents: Iterable[Document],
    labels: Mapping[str, str],
    live_hashes: Mapping[str, str],
    within: set[str] | None = None,
    validity: ValidityMap | None = None,
) -> RefreshPlan:
    """Only documents whose hash differs from the live index are chunked.

    A no-change run then costs one hash comparison per document instead of
    re-chunking the corpus. ``within`` limits the refresh (e.g. to some freshness
    classes): indexed documents outside it are never removed.
    """
    docs = [d for d in documents if within is None or d.doc_id in within]
    indexed = {d: h for d, h in live_hashes.items() if within is None or d in within}
    of = validity.of if validity else (lambda _: NONE)
    current = {d.doc_id: document_hash(d, labels[d.doc_id], of(d.doc_id)) for d in docs}
    todo = {d for d, h in current.items() if indexed.get(d) != h}
    removed = set(indexed) - set(current)
    return RefreshPlan(
        [d for d in docs if d.doc_id in todo], todo | removed, len(current) - len(todo)
    )
