"""The plain-Python half of scaling out embedding: plan, embed a batch, store it.

A large refresh embeds its new texts on a Dask cluster before ``IndexStore.refresh``
runs (``flows/embed_fanout.py`` does the Prefect/Dask wiring). The hand-over is the
store's content-hash embedding cache: workers only turn texts into vectors, the
parent writes them to the cache, and the refresh then finds every vector there and
embeds nothing itself. Nothing here imports Prefect or Dask.

Three rules keep this safe on a real cluster:

* Workers get an ``EmbeddingConfig`` (small, serialisable) and rebuild the model
  themselves; the model object is never shipped.
* Workers never open LanceDB: only the parent writes, so the index URI may be
  object storage that workers cannot (or should not) reach.
* The plan is exactly the store's own: the rows a refresh starts from (live, or the
  latest version before any publish) diffed with ``plan_chunks``. Anything the
  fan-out misses or fails on is simply embedded by the refresh, so fanning out
  changes where vectors are computed, never what the index holds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, computed_field

from ragtune.errors import ConfigError
from ragtune.tasks.embedding.config import EmbeddingConfig
from ragtune.tasks.embedding.embedder import build_embedder
from ragtune.tasks.index import tables as tb
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.diff import plan_chunks
from ragtune.tasks.index.embed_cache import EmbeddingCache, checked_embed, text_hash
from ragtune.tasks.index.schema import Chunk
from ragtune.tasks.index.store import IndexStore

log = logging.getLogger(__name__)


class EmbeddingJob(BaseModel):
    """Texts a refresh needs vectors for, and where those vectors go.

    It is a parameter of the fan-out subflow, and Prefect stores flow-run
    parameters as JSON (at most 512 KiB by default, ``PREFECT_SERVER_API_
    MAX_PARAMETER_SIZE``); thousands of chunk texts would exceed that. So the texts
    are left out of the JSON form, which records only ``text_count``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    uri: str = Field(description="LanceDB URI of the index and its embedding cache.")
    embedder: str = Field(description="Embedder name the index was built with.")
    dim: int = Field(ge=1, description="Vector dimension of that embedder.")
    embedding: EmbeddingConfig = Field(description="How workers rebuild the model.")
    texts: list[str] = Field(
        default_factory=list, exclude=True, repr=False, description="Distinct texts."
    )

    @computed_field
    @property
    def text_count(self) -> int:
        return len(self.texts)

    def batches(self, size: int) -> list[list[str]]:
        """The texts cut into consecutive batches of at most ``size``."""
        return [self.texts[i : i + size] for i in range(0, len(self.texts), size)]


def plan_missing_texts(store: IndexStore, chunks: Sequence[Chunk]) -> list[str]:
    """Distinct texts a refresh of ``chunks`` would send to the store's embedder.

    Reads only: no table is created, restored or written. Mirrors the refresh's
    baseline rule (see ``baseline.py``): it diffs against the live version, or the
    latest one before the first publish.

    Returns:
        Texts in manifest order, one per content hash, that have no cached vector.
        Empty when the store would not use the cache (a rebuild, or the cache off):
        such a refresh embeds everything itself and fanned-out vectors would be
        computed twice.
    """
    cache = store._cache  # the exact cache the refresh reads (None: cache off)
    if cache is None or store.rebuild:
        log.info(
            "index %s: %s; embeddings are not fanned out",
            store.name,
            "rebuild reads no cache" if store.rebuild else "embedding cache is off",
        )
        return []
    plan = plan_chunks(chunks, _baseline_fingerprints(store))
    texts: dict[str, str] = {}
    for chunk in plan.embed:
        texts.setdefault(chunk.content_hash, chunk.text)
    cached = cache.get(texts)
    missing = [text for digest, text in texts.items() if digest not in cached]
    log.info(
        "index %s: %d chunks to embed, %d distinct texts, %d cached, %d missing",
        store.name,
        len(plan.embed),
        len(texts),
        len(cached),
        len(missing),
    )
    return missing


def _baseline_fingerprints(store: IndexStore) -> dict[str, tuple]:
    table = store.chunks_table()
    if table is None:
        return {}
    live = store.live()
    if live is not None:
        table.checkout(live.version)  # this handle only; the table is not restored
    return tb.read_fingerprints(table)


def plan_job(
    store: IndexStore, chunks: Sequence[Chunk], embedding: EmbeddingConfig
) -> EmbeddingJob:
    """The fan-out job for a refresh of ``chunks`` (see ``plan_missing_texts``)."""
    return EmbeddingJob(
        uri=store.uri,
        embedder=store.info.name,
        dim=store.info.dim,
        embedding=embedding,
        texts=plan_missing_texts(store, chunks),
    )


def should_fan_out(job: EmbeddingJob, cfg: IndexConfig) -> bool:
    """Fan out only past ``fanout_min_chunks``: starting a cluster and loading the
    model on every worker costs more than embedding a small refresh in place."""
    return job.text_count > cfg.fanout_min_chunks


def embed_texts(
    embedding: EmbeddingConfig, texts: list[str], embedder: str, dim: int
) -> np.ndarray:
    """Worker side: build the embedder from config and embed one batch.

    The model is loaded once per worker process (``build_embedder`` caches it).

    Raises:
        ConfigError: the config builds another embedder than the index's (its
            vectors would be cached under the wrong model), or bad output.
    """
    model = build_embedder(embedding)
    if (model.name, int(model.dim)) != (embedder, dim):
        raise ConfigError(
            f"embedding config builds {model.name} (dim {model.dim}) but the index "
            f"uses {embedder} (dim {dim}); refusing to cache its vectors"
        )
    return checked_embed(model, texts)


def open_cache(job: EmbeddingJob) -> EmbeddingCache:
    """The index's embedding cache, opened from the job's URI (parent side)."""
    return EmbeddingCache(job.uri, job.embedder, job.dim)


def write_vectors(
    cache: EmbeddingCache, texts: Sequence[str], vectors: np.ndarray
) -> int:
    """Store a batch's vectors under their text hashes (one LanceDB commit).

    Returns:
        How many vectors were handed to the cache (already cached ones are kept).

    Raises:
        ConfigError: the vectors do not fit the texts or the cache (shape, NaN).
    """
    vectors = np.asarray(vectors, np.float32)
    if vectors.shape != (len(texts), cache.dim):
        raise ConfigError(
            f"{vectors.shape} vectors for {len(texts)} texts; the embedding cache "
            f"{cache.name} holds {cache.dim}-d vectors"
        )
    if not np.isfinite(vectors).all():
        raise ConfigError("fanned-out vectors contain NaN or inf values")
    cache.put([text_hash(t) for t in texts], vectors)
    return len(texts)
