"""A deterministic embedder with no model: unit vectors seeded by sha256 of the text.

Why it exists: the index's own machinery (merge-insert, publish checks, rollback,
the refresh benchmark's overhead runs at 20,000 chunks) has to be exercised where
MiniLM would spend minutes embedding. Distinct texts get near-orthogonal vectors,
so every chunk is its own nearest neighbour and the self-retrieval check holds;
it carries no meaning, so it is never a default and never configured by params.
"""

from __future__ import annotations

import hashlib

import numpy as np


class HashEmbedder:
    """Same text, same vector, on every machine; ``salt`` makes a second "model"
    whose vectors differ while its name may not (the impostor in embedder checks)."""

    def __init__(self, dim: int = 384, name: str | None = None, salt: str = ""):
        self.dim = dim
        self.name = name or f"sha256-hash-{dim}"
        self.salt = salt

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            seed = hashlib.sha256((self.salt + text).encode()).digest()
            out[i] = np.random.default_rng(list(seed)).standard_normal(self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True)
