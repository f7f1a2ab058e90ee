"""What every system in the refresh benchmark shares: the peer protocol, the one
timed embedder all systems call, the chunking they are all fed, and how one call
is measured.

Every system gets ragtune's ``chunk_document`` output, so "the minimum needed" is
the same for all of them: chunk texts that were not in the previous state.
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import psutil

from ragtune.tasks.index.chunking import chunk_document
from ragtune.tasks.index.config import ChunkingConfig
from ragtune.tasks.index.embed_cache import CountingEmbedder
from ragtune.tasks.index.schema import Chunk
from ragtune.tasks.ingest.models import Document

MB = 1024 * 1024
BENCH_DATA_HASH = "bench"
UNCLASSIFIED = "unclassified"

# (doc_id, chunk text): how stored chunks are compared with a full rebuild. The
# document id is part of the key so a deleted document's chunk is stale even when
# another document holds the same text.
ChunkKey = tuple[str, str]


class PeerUnavailable(RuntimeError):
    """The peer's optional packages are not installed."""


@dataclass(frozen=True)
class Issue:
    """A known behaviour of a system, as this run saw it.

    ``kind`` is "workaround" (the minimum change applied so the system runs at
    all or keeps its data) or "behaviour" (measured as is, not corrected).
    """

    system: str
    kind: str
    title: str
    reproduced: bool | None
    detail: str


class Peer(Protocol):
    """One indexing system under test, holding its own on-disk state."""

    name: str

    def refresh(self, documents: Sequence[Document]) -> dict[str, Any]:
        """Bring the index in line with ``documents`` (the whole knowledge base);
        return the system's own report of what it did."""
        ...

    def contents(self) -> list[ChunkKey]:
        """(doc_id, text) of every row the index now holds, duplicates included."""
        ...

    def issues(self) -> list[Issue]:
        """Known behaviours and workarounds, probed where a probe is cheap."""
        ...


@dataclass
class TimedEmbedder(CountingEmbedder):
    """ragtune's counting wrapper around the real embedder, plus the seconds spent
    inside it.

    The same instance is plugged into every system (through a LangChain
    ``Embeddings`` or LlamaIndex ``BaseEmbedding`` adapter where needed), so
    counts and embedding time are measured at one place for all of them.
    """

    seconds: float = 0.0

    def embed(self, texts: list[str]) -> np.ndarray:
        start = time.perf_counter()
        try:
            return super().embed(list(texts))
        finally:
            self.seconds += time.perf_counter() - start

    def reset(self) -> None:
        super().reset()
        self.seconds = 0.0


def chunk_documents(documents: Sequence[Document], cfg: ChunkingConfig) -> list[Chunk]:
    """ragtune's chunks of every document, in document order.

    Freshness classification is not part of this benchmark; a document's own
    metadata category (or "unclassified") stands in for it.
    """
    chunks: list[Chunk] = []
    for doc in documents:
        category = doc.category or UNCLASSIFIED
        chunks += chunk_document(doc, category, cfg, BENCH_DATA_HASH)
    return chunks


def chunk_keys(chunks: Sequence[Chunk]) -> set[ChunkKey]:
    return {(c.doc_id, c.text) for c in chunks}


@dataclass
class Usage:
    """Wall time and memory of one measured call."""

    wall_s: float = 0.0
    cpu_s: float = 0.0  # this process's user + system time, all threads
    py_peak_mb: float | None = None  # tracemalloc peak (Python allocations)
    rss_peak_delta_mb: float = 0.0  # highest RSS seen while running, minus before
    rss_delta_mb: float = 0.0  # RSS after, minus before


@contextmanager
def measured(trace_python: bool) -> Iterator[Usage]:
    """Time the block and sample RSS every 5 ms; optionally trace allocations.

    tracemalloc slows Python-heavy code several-fold, so the benchmark times one
    pass without it and takes Python peaks from a second, traced pass. CPU time is
    kept beside wall time because on a shared machine it moves far less with the
    load that other processes put on it.
    """
    usage, process, stop = Usage(), psutil.Process(), threading.Event()
    before = peak = process.memory_info().rss

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.005):
            peak = max(peak, process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if trace_python:
        tracemalloc.start()
    cpu, start = _cpu_seconds(process), time.perf_counter()
    try:
        yield usage
    finally:
        usage.wall_s = time.perf_counter() - start
        usage.cpu_s = _cpu_seconds(process) - cpu
        if trace_python:
            usage.py_peak_mb = tracemalloc.get_traced_memory()[1] / MB
            tracemalloc.stop()
        stop.set()
        sampler.join()
        after = process.memory_info().rss
        usage.rss_peak_delta_mb = (max(peak, after) - before) / MB
        usage.rss_delta_mb = (after - before) / MB


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system
