"""The LanceDB tables behind one index and the Arrow conversions they need.

An index named ``chunks`` is three tables in one LanceDB database:

* ``chunks``: the chunk rows (``schema.chunk_schema``); its schema metadata names
  the embedder and dimension the vectors came from.
* ``chunks__documents``: ``doc_id -> content_hash, data_hash`` of every indexed
  document, so a refresh knows which documents were added, changed or removed.
* ``chunks__publishes``: the append-only publish and rollback ledger (``ledger.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.db import DBConnection
from lancedb.table import Table

from ragtune.tasks.index.diff import FINGERPRINT_COLUMNS
from ragtune.tasks.index.embed_cache import in_filter, vectors_of
from ragtune.tasks.index.schema import VALIDITY_DEFAULTS, Chunk, chunk_schema

log = logging.getLogger(__name__)

EMBEDDER_KEY = "ragtune.embedder"
DIM_KEY = "ragtune.dim"
DOCUMENTS_SUFFIX = "__documents"
LEDGER_SUFFIX = "__publishes"
_LOOKUP_BATCH = 1000

DOCUMENTS_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("data_hash", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class EmbedderInfo:
    """The embedder a table's vectors came from."""

    name: str
    dim: int


def documents_table_name(table: str) -> str:
    return f"{table}{DOCUMENTS_SUFFIX}"


def ledger_table_name(table: str) -> str:
    return f"{table}{LEDGER_SUFFIX}"


def connect(uri: str) -> DBConnection:
    return lancedb.connect(uri)


def open_table(db: DBConnection, name: str) -> Table | None:
    """The table, or None when it does not exist yet."""
    try:
        return db.open_table(name)
    except ValueError as exc:
        if "not found" in str(exc):
            return None
        raise


def indexed_schema(info: EmbedderInfo) -> pa.Schema:
    """The chunk schema for an embedder, with the embedder recorded in metadata."""
    return chunk_schema(info.dim).with_metadata(
        {EMBEDDER_KEY: info.name, DIM_KEY: str(info.dim)}
    )


def add_missing_columns(table: Table) -> list[str]:
    """Give a chunk table written by an older ragtune the columns it lacks (one
    commit; the rows keep their vectors); returns the names added."""
    missing = {
        name: "CAST(NULL AS STRING)" if value is None else f"CAST('{value}' AS STRING)"
        for name, value in VALIDITY_DEFAULTS.items()
        if name not in table.schema.names
    }
    if missing:
        table.add_columns(missing)
        log.info("index %s: added columns %s", table.name, ", ".join(missing))
    return sorted(missing)


def embedder_info(schema: pa.Schema) -> EmbedderInfo | None:
    """The embedder recorded in a chunk table's schema, if any."""
    meta = schema.metadata or {}
    name = meta.get(EMBEDDER_KEY.encode())
    dim = meta.get(DIM_KEY.encode())
    if name is None or dim is None:
        return None
    return EmbedderInfo(name.decode(), int(dim))


def chunks_to_arrow(
    chunks: Sequence[Chunk], vectors: np.ndarray, schema: pa.Schema
) -> pa.Table:
    """Chunk records plus their vectors (same order) as rows of ``schema``."""
    dim = schema.field("vector").type.list_size
    columns: dict[str, list] = {
        name: [getattr(c, name) for c in chunks]
        for name in schema.names
        if name != "vector"
    }
    flat = pa.array(np.ascontiguousarray(vectors, np.float32).reshape(-1))
    columns["vector"] = pa.FixedSizeListArray.from_arrays(flat, dim)
    return pa.table(columns, schema=schema)


def read_fingerprints(
    table: Table, doc_ids: Iterable[str] | None = None
) -> dict[str, tuple]:
    """``chunk_id -> fingerprint`` of every row (or of the rows of ``doc_ids``),
    without reading texts or vectors.

    A scoped refresh only compares the chunks of the documents it speaks for, so
    it reads only their rows: a small edit costs the same on a large table.
    """
    # a table written before the validity columns lacks them until a refresh
    # adds them: read what is there, and take the defaults it will get
    present = set(table.schema.names)
    cols = ["chunk_id", *(c for c in FINGERPRINT_COLUMNS if c in present)]
    if doc_ids is not None:
        wanted = sorted(set(doc_ids))
        if not wanted:
            return {}
        scan = table.to_lance().to_table(
            columns=cols, filter=in_filter("doc_id", wanted)
        )
    else:
        scan = table.to_lance().to_table(columns=cols)
    rows = scan.to_pydict()
    ids = rows.pop("chunk_id")
    columns = [
        rows[c] if c in rows else [VALIDITY_DEFAULTS[c]] * len(ids)
        for c in FINGERPRINT_COLUMNS
    ]
    return {cid: tuple(vals) for cid, *vals in zip(ids, *columns, strict=True)}


def read_vectors(table: Table, chunk_ids: Iterable[str]) -> dict[str, np.ndarray]:
    """Stored vectors of the given chunks."""
    ids = sorted(set(chunk_ids))
    dim = table.schema.field("vector").type.list_size
    found: dict[str, np.ndarray] = {}
    dataset = table.to_lance()
    for start in range(0, len(ids), _LOOKUP_BATCH):
        batch = ids[start : start + _LOOKUP_BATCH]
        rows = dataset.to_table(
            columns=["chunk_id", "vector"], filter=in_filter("chunk_id", batch)
        )
        vectors = vectors_of(rows, dim)
        found.update(zip(rows["chunk_id"].to_pylist(), vectors, strict=True))
    return found


def read_documents(table: Table) -> dict[str, str]:
    """``doc_id -> content_hash`` of the documents the index holds."""
    rows = table.to_lance().to_table(columns=["doc_id", "content_hash"])
    ids, hashes = rows["doc_id"].to_pylist(), rows["content_hash"].to_pylist()
    return dict(zip(ids, hashes, strict=True))


def documents_to_arrow(hashes: dict[str, str], data_hash: str) -> pa.Table:
    ids = sorted(hashes)
    return pa.table(
        {
            "doc_id": ids,
            "content_hash": [hashes[i] for i in ids],
            "data_hash": [data_hash] * len(ids),
        },
        schema=DOCUMENTS_SCHEMA,
    )


def upsert(
    table: Table, key: str, rows: pa.Table, delete_where: str | None
) -> int | None:
    """One atomic commit that upserts ``rows`` by ``key`` and deletes target rows
    matching ``delete_where`` that are absent from ``rows``.

    Returns:
        How many rows were deleted; None (and no version written) when there was
        nothing to do.
    """
    if rows.num_rows == 0:
        if not delete_where:
            return None
        before = table.count_rows()  # from the manifest: no scan
        table.delete(delete_where)  # a plain delete commits faster than a merge
        return before - table.count_rows()
    builder = (
        table.merge_insert(key).when_matched_update_all().when_not_matched_insert_all()
    )
    if delete_where:
        builder = builder.when_not_matched_by_source_delete(delete_where)
    return builder.execute(rows).num_deleted_rows
