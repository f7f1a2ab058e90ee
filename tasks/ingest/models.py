"""The records that flow from loading to validation, classification and indexing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Document:
    """One source document after text extraction.

    ``category`` and the dates come from the document's own metadata (front matter,
    HTML meta tags, PDF info, a ``.meta.yaml`` sidecar) and are None when absent;
    classification fills in a class where metadata is silent.
    """

    doc_id: str
    source_path: str  # POSIX path relative to the knowledge-base root
    format: str  # "markdown" | "text" | "html" | "pdf"
    title: str
    text: str
    content_hash: str  # sha256 of the raw file bytes
    size_bytes: int
    category: str | None = None
    effective_date: date | None = None
    last_reviewed: date | None = None
    valid_until: date | None = None  # the last day it applies (inclusive)
    amends: str | None = None  # the document this one changes in part
    supersedes: str | None = None  # the document this one replaces in full
    clauses: tuple[str, ...] = ()  # the clauses of ``amends`` it replaces
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejection:
    """A file that could not become a Document, or a Document that failed a check."""

    source_path: str
    reasons: tuple[str, ...]
    doc_id: str | None = None


@dataclass(frozen=True)
class LoadResult:
    """Everything read from a knowledge base: usable documents and rejected files."""

    documents: tuple[Document, ...]
    rejected: tuple[Rejection, ...]
