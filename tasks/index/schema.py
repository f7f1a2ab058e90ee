"""The chunk record and its Arrow schema: the contract between chunking, the
incremental store, search and evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa


@dataclass(frozen=True)
class Chunk:
    """One retrievable piece of a document.

    ``chunk_id`` is ``f"{doc_id}#{content_hash[:16]}"`` (plus ``~n`` for the n-th
    repeat of the same text inside one document), so a chunk whose text did not change
    keeps its key across edits elsewhere in the document and is never re-embedded.
    """

    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    content_hash: str  # sha256 of the chunk text
    source_path: str
    title: str
    section: str
    category: str
    effective_date: date | None
    valid_until: date | None  # last day in force: its own, or an amendment's
    data_hash: str  # DVC hash of the knowledge base the chunk came from
    clause: str = ""  # the clause number the chunk's text starts ("" none)
    superseded_by: str | None = None  # the document that closed it, if any
    amended_by: str = ""  # "doc@YYYY-MM-DD[#clause]" of amendments that mark it


# Columns added after the first release, with the value a row written before
# them holds: a refresh gives such a table the columns (``tables.add_missing_columns``)
# and fingerprints read from it count the defaults, so upgrades need no rebuild.
VALIDITY_DEFAULTS: dict[str, str | None] = {
    "clause": "",
    "superseded_by": None,
    "amended_by": "",
}


def chunk_schema(dim: int) -> pa.Schema:
    """Arrow schema of the LanceDB ``chunks`` table for an embedder of ``dim``."""
    return pa.schema(
        [
            pa.field("chunk_id", pa.string(), nullable=False),
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("ordinal", pa.int32(), nullable=False),
            pa.field("text", pa.string(), nullable=False),
            pa.field("content_hash", pa.string(), nullable=False),
            pa.field("source_path", pa.string(), nullable=False),
            pa.field("title", pa.string(), nullable=False),
            pa.field("section", pa.string(), nullable=False),
            pa.field("category", pa.string(), nullable=False),
            pa.field("effective_date", pa.date32(), nullable=True),
            pa.field("valid_until", pa.date32(), nullable=True),
            pa.field("data_hash", pa.string(), nullable=False),
            pa.field("clause", pa.string(), nullable=True),
            pa.field("superseded_by", pa.string(), nullable=True),
            pa.field("amended_by", pa.string(), nullable=True),
            pa.field("vector", pa.list_(pa.float32(), dim), nullable=False),
        ]
    )
