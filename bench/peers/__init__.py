"""Indexing systems compared by ``bench/refresh.py``, one small module each.

A peer's module is imported only when it is asked for and its packages are
installed (``bench/requirements.txt``), so ragtune alone runs without the extras.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from bench.peers.base import Peer, PeerUnavailable, TimedEmbedder
from ragtune.tasks.index.config import ChunkingConfig

# system name -> (module, factory); every factory is (workdir, embedder, chunking).
MODULES = {
    "ragtune": ("bench.peers.ragtune_peer", "build"),
    "langchain": ("bench.peers.langchain_peer", "build"),
    "llamaindex": ("bench.peers.llamaindex_peer", "build"),
    "ragtune-full": ("bench.peers.ragtune_peer", "build_full"),
}
_PACKAGES = {
    "ragtune": (),
    "ragtune-full": (),
    "langchain": ("langchain_core", "langchain_classic", "langchain_community"),
    "llamaindex": ("llama_index.core", "llama_index.vector_stores.lancedb"),
}


def missing_packages(name: str) -> list[str]:
    """Import names the peer needs that are not installed."""
    missing = []
    for package in _PACKAGES[name]:
        try:
            found = importlib.util.find_spec(package) is not None
        except ModuleNotFoundError:  # a parent package is missing
            found = False
        if not found:
            missing.append(package)
    return missing


def build_peer(
    name: str, workdir: Path, embedder: TimedEmbedder, chunking: ChunkingConfig
) -> Peer:
    """The peer called ``name`` with its state in ``workdir``.

    Raises:
        KeyError: unknown name.
        PeerUnavailable: its packages are not installed.
    """
    if name not in MODULES:
        raise KeyError(f"unknown system {name!r}; known: {', '.join(MODULES)}")
    missing = missing_packages(name)
    if missing:
        raise PeerUnavailable(
            f"{name} needs {', '.join(missing)}: pip install -r bench/requirements.txt"
        )
    module, factory = MODULES[name]
    return getattr(importlib.import_module(module), factory)(
        workdir, embedder, chunking
    )
