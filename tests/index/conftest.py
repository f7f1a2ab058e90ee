"""Local fixtures for the index tests: a tiny corpus, manifests, and a test-only
hashing embedder that keeps the long equivalence sequence fast.

pytest runs with ``--import-mode=importlib``, so test modules cannot import this
file; its helpers reach them through the ``kit`` fixture.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

from ragtune.tasks.embedding.hashed import HashEmbedder as _HashEmbedder
from ragtune.tasks.index.chunking import chunk_document
from ragtune.tasks.index.config import ChunkingConfig, IndexConfig
from ragtune.tasks.index.schema import Chunk
from ragtune.tasks.ingest.models import Document

CHUNKING = ChunkingConfig(size=200, overlap=40)
# Small write batches so the crash test can die between cache flushes.
INDEX_CFG = IndexConfig(write_batch=4, smoke_sample=5, smoke_top_k=3)

CORPUS: dict[str, str] = {
    "regulatory/solvency.md": (
        "# Solvency rules\n\nInsurers must hold capital covering a one-in-200-year "
        "loss over twelve months.\n\n## Reporting\n\nQuarterly reports go to the "
        "supervisor within five weeks of quarter end."
    ),
    "regulatory/complaints.md": (
        "# Complaint handling\n\nA complaint is acknowledged within three business "
        "days.\n\nA final answer is sent within eight weeks, with the ombudsman's "
        "address."
    ),
    "pricing/motor.md": (
        "# Motor premiums\n\nThe base premium for a compact car is 420 EUR a "
        "year.\n\n## Discounts\n\nDrivers with five claim-free years get 25 percent "
        "off."
    ),
    "pricing/home.md": (
        "# Home cover\n\nContents cover starts at 9 EUR a month for flats up to "
        "60 square metres.\n\nFlood cover is an optional extra at 4 EUR a month."
    ),
    "history/founding.md": (
        "# Our history\n\nNorthwind Mutual was founded in 1898 by dock workers who "
        "pooled their wages.\n\nIt became a public mutual in 1954."
    ),
    "concepts/deductible.md": (
        "# Deductibles\n\nA deductible is the part of each claim the customer pays "
        "before cover starts.\n\nHigher deductibles lower the premium."
    ),
}


def HashEmbedder(  # noqa: N802 - stands where the class stood
    name: str = "hash-test-16", dim: int = 16, salt: str = ""
) -> _HashEmbedder:
    """The index tests' embedder: 16 dimensions and a fixed name."""
    return _HashEmbedder(dim=dim, name=name, salt=salt)


def make_document(doc_id: str, text: str) -> Document:
    return Document(
        doc_id=doc_id,
        source_path=doc_id,
        format="markdown",
        title=doc_id.rsplit("/", 1)[-1],
        text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        size_bytes=len(text.encode()),
    )


def manifest(
    corpus: Mapping[str, str],
    data_hash: str = "kb-1",
    categories: Mapping[str, str] | None = None,
) -> tuple[list[Chunk], dict[str, str]]:
    """Chunks and ``doc_id -> content_hash`` for a ``doc_id -> text`` corpus."""
    chunks: list[Chunk] = []
    hashes: dict[str, str] = {}
    for doc_id, text in sorted(corpus.items()):
        doc = make_document(doc_id, text)
        category = (categories or {}).get(doc_id, doc_id.split("/")[0])
        chunks += chunk_document(doc, category, CHUNKING, data_hash)
        hashes[doc_id] = doc.content_hash
    return chunks, hashes


def rows_of(table) -> dict[str, dict]:  # noqa: ANN001 - lancedb Table
    """``chunk_id -> row`` (text, doc_id, vector as numpy) of a table version."""
    data: pa.Table = table.to_arrow()
    out = {}
    for row in data.to_pylist():
        row["vector"] = np.asarray(row["vector"], np.float32)
        out[row["chunk_id"]] = row
    return out


def refresh_publish(store, corpus, data_hash: str = "kb-1", seed: int = 13):  # noqa: ANN001, ANN201
    """Refresh, run the standard checks on the candidate, publish; returns
    ``(stats, tag)``. Checks embed with the store's inner embedder so counting
    wrappers only see refresh work."""
    from ragtune.tasks.index.publish import publish, standard_checks

    chunks, documents = manifest(corpus, data_hash)
    stats = store.refresh(chunks, documents)
    inner = getattr(store.embedder, "inner", store.embedder)
    checks = standard_checks(store.candidate(), inner, len(chunks), INDEX_CFG, seed)
    tag = publish(store, checks, {"chunks": len(chunks)}, data_hash)
    return stats, tag


def assert_same_rows(actual: dict[str, dict], expected: dict[str, dict]) -> None:
    """Same keys, texts, doc ids and vectors (within 1e-5)."""
    assert sorted(actual) == sorted(expected)
    for cid, row in expected.items():
        got = actual[cid]
        assert got["text"] == row["text"], cid
        assert got["doc_id"] == row["doc_id"], cid
        np.testing.assert_allclose(got["vector"], row["vector"], atol=1e-5)


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers above, for test modules."""
    return SimpleNamespace(
        CORPUS=CORPUS,
        CHUNKING=CHUNKING,
        INDEX_CFG=INDEX_CFG,
        HashEmbedder=HashEmbedder,
        make_document=make_document,
        manifest=manifest,
        refresh_publish=refresh_publish,
        rows_of=rows_of,
        assert_same_rows=assert_same_rows,
    )


@pytest.fixture
def corpus() -> dict[str, str]:
    """A fresh copy of the corpus that a test may edit."""
    return dict(CORPUS)


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def index_uri(tmp_path) -> str:
    return str(tmp_path / "index")
