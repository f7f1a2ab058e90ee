"""Fixtures for the benchmark-harness tests: the ``bench`` modules and a tiny
deterministic embedder.

``bench/`` is not an installed package. Registering it by path (instead of putting
the repository root on ``sys.path``) keeps the top-level ``tasks``/``flows``
folders unimportable under those bare names, as they are for users.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest

from ragtune.tasks.embedding.hashed import HashEmbedder

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="session")
def bench() -> SimpleNamespace:
    """``bench.corpus``, ``bench.refresh``, ``bench.peers``, ``bench.generation``
    and ``bench.retrieval``, imported by path."""
    if "bench" not in sys.modules:
        package = types.ModuleType("bench")
        package.__path__ = [str(BENCH_DIR)]
        sys.modules["bench"] = package
    return SimpleNamespace(
        corpus=importlib.import_module("bench.corpus"),
        refresh=importlib.import_module("bench.refresh"),
        peers=importlib.import_module("bench.peers"),
        generation=importlib.import_module("bench.generation"),
        retrieval=importlib.import_module("bench.retrieval"),
    )


@pytest.fixture
def tiny_embedder() -> HashEmbedder:
    """The hash embedder, 8 dimensions: instant and distinct per text."""
    return HashEmbedder(dim=8)
