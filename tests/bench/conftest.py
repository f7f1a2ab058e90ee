"""Fixtures for the benchmark-harness tests: the ``bench`` modules and a tiny
deterministic embedder.

``bench/`` is not an installed package. Registering it by path (instead of putting
the repository root on ``sys.path``) keeps the top-level ``tasks``/``flows``
folders unimportable under those bare names, as they are for users.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


class TinyEmbedder:
    """Unit vectors from sha256 of the text: instant, and distinct per text."""

    name = "tiny-hash-8"
    dim = 8

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            seed = list(hashlib.sha256(text.encode()).digest())
            out[i] = np.random.default_rng(seed).standard_normal(self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture(scope="session")
def bench() -> SimpleNamespace:
    """``bench.corpus``, ``bench.refresh`` and ``bench.peers``, imported by path."""
    if "bench" not in sys.modules:
        package = types.ModuleType("bench")
        package.__path__ = [str(BENCH_DIR)]
        sys.modules["bench"] = package
    return SimpleNamespace(
        corpus=importlib.import_module("bench.corpus"),
        refresh=importlib.import_module("bench.refresh"),
        peers=importlib.import_module("bench.peers"),
    )


@pytest.fixture
def tiny_embedder() -> TinyEmbedder:
    return TinyEmbedder()
