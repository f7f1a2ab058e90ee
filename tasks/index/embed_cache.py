"""Content-addressed embedding cache beside the index, and embedder call counting.

A vector depends only on the embedder and the text, so the cache key is the
embedder name (one LanceDB table per embedder) plus the sha256 of the text. Moved,
renamed or restored chunks, and chunks embedded by a refresh that crashed or failed
its publish gate, come back from here instead of from the model.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.index import BTree

from ragtune.errors import ConfigError
from ragtune.tasks.embedding.embedder import Embedder

log = logging.getLogger(__name__)

CACHE_PREFIX = "embed_cache__"
_KEY = "text_hash"
_LOOKUP_BATCH = 1000  # keys per IN (...) filter; keeps each SQL filter small


def text_hash(text: str) -> str:
    """sha256 of the UTF-8 text: the same digest as ``Chunk.content_hash``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_table_name(embedder_name: str) -> str:
    """One cache table per embedder; the digest keeps distinct names distinct."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", embedder_name).strip("_")[:40]
    digest = hashlib.sha256(embedder_name.encode("utf-8")).hexdigest()[:8]
    return f"{CACHE_PREFIX}{slug}_{digest}"


@dataclass
class CountingEmbedder:
    """Wraps an embedder and counts what is really sent to it.

    Tests and refresh statistics count work at the embedder, not by timing.
    """

    inner: Embedder
    texts: int = 0
    calls: int = 0
    batch_sizes: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        self.batch_sizes.append(len(texts))
        return self.inner.embed(texts)

    def reset(self) -> None:
        """Zero the counters, e.g. at the start of each refresh."""
        self.texts, self.calls, self.batch_sizes = 0, 0, []


class EmbeddingCache:
    """Vectors of one embedder keyed by text hash, in a LanceDB table at ``uri``."""

    def __init__(self, uri: str, embedder_name: str, dim: int) -> None:
        self._db = lancedb.connect(uri)
        self.name = cache_table_name(embedder_name)
        self.dim = dim
        self._schema = pa.schema(
            [
                pa.field(_KEY, pa.string(), nullable=False),
                pa.field("vector", pa.list_(pa.float32(), dim), nullable=False),
            ],
            metadata={"ragtune.embedder": embedder_name, "ragtune.dim": str(dim)},
        )
        self._open_or_create()

    def _open_or_create(self) -> None:
        try:
            table = self._db.open_table(self.name)
        except ValueError:  # not created yet
            table = self._db.create_table(self.name, schema=self._schema, exist_ok=True)
            table.create_index(_KEY, config=BTree(), replace=True)
            return
        stored = table.schema.field("vector").type.list_size
        if stored != self.dim:
            raise ConfigError(
                f"embedding cache {self.name} holds {stored}-d vectors but the "
                f"embedder gives {self.dim}-d; two models share one name"
            )

    def _handle(self):  # noqa: ANN202 - lancedb Table
        # A fresh handle per operation: a long-lived one can point at a version
        # that cleanup has since removed.
        return self._db.open_table(self.name)

    def get(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Cached vectors for the hashes that have one."""
        wanted = sorted(set(hashes))
        found: dict[str, np.ndarray] = {}
        dataset = self._handle().to_lance()
        for batch in _batched(wanted, _LOOKUP_BATCH):
            rows = dataset.to_table(
                columns=[_KEY, "vector"], filter=in_filter(_KEY, batch)
            )
            vectors = vectors_of(rows, self.dim)
            found.update(zip(rows[_KEY].to_pylist(), vectors, strict=True))
        return found

    def put(self, hashes: list[str], vectors: np.ndarray) -> None:
        """Insert vectors for hashes not cached yet (one atomic LanceDB commit)."""
        if not hashes:
            return
        rows = pa.table(
            {
                _KEY: pa.array(hashes, pa.string()),
                "vector": pa.FixedSizeListArray.from_arrays(
                    pa.array(np.asarray(vectors, np.float32).ravel()), self.dim
                ),
            },
            schema=self._schema,
        )
        self._handle().merge_insert(_KEY).when_not_matched_insert_all().execute(rows)

    def count(self) -> int:
        return self._handle().count_rows()


def resolve_vectors(
    texts: dict[str, str],
    embedder: Embedder,
    cache: EmbeddingCache | None,
    *,
    batch: int,
    read_cache: bool = True,
) -> tuple[dict[str, np.ndarray], int]:
    """Vectors for ``text_hash -> text``: cached ones first, the rest embedded.

    Texts are embedded ``batch`` at a time and each batch is cached as soon as it
    exists, so a crash mid-way loses at most one batch of work.

    Returns:
        ``text_hash -> vector`` for every text, and how many came from the cache.
    """
    found = cache.get(texts) if texts and cache is not None and read_cache else {}
    hits = len(found)
    missing = [h for h in texts if h not in found]
    for start in range(0, len(missing), batch):
        keys = missing[start : start + batch]
        vectors = checked_embed(embedder, [texts[h] for h in keys])
        if cache is not None:
            cache.put(keys, vectors)
        found.update(zip(keys, vectors, strict=True))
    return found, hits


def checked_embed(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Embed, refusing output that would corrupt the index.

    Raises:
        ConfigError: wrong shape (another model behind the same name) or NaN/inf.
    """
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    if vectors.shape != (len(texts), embedder.dim):
        raise ConfigError(
            f"embedder {embedder.name} returned shape {vectors.shape} for "
            f"{len(texts)} texts; expected ({len(texts)}, {embedder.dim})"
        )
    if not np.isfinite(vectors).all():
        raise ConfigError(f"embedder {embedder.name} returned NaN or inf values")
    return vectors


def in_filter(column: str, values: Iterable[str]) -> str:
    """SQL ``column IN ('a', 'b')`` with quotes escaped; never empty."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})" if quoted else "false"


def vectors_of(rows: pa.Table, dim: int) -> np.ndarray:
    """The ``vector`` column of Arrow rows as a (rows, dim) float32 array."""
    flat = rows["vector"].combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return np.asarray(flat, np.float32).reshape(-1, dim)


def _batched(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
