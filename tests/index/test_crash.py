"""SIGKILL a refresh mid-way in a real subprocess: readers keep the previous live
version with its exact rows, and the next refresh completes and publishes."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys

import pytest

from ragtune.tasks.index.embed_cache import CountingEmbedder
from ragtune.tasks.index.publish import open_live
from ragtune.tasks.index.store import IndexStore

# The child dies by SIGKILL from inside the embedder: no exception handlers,
# finally blocks or atexit hooks run, exactly like an OOM kill or a lost node.
CHILD = """
import json, os, signal, sys
from ragtune.tasks.embedding.config import EmbeddingConfig
from ragtune.tasks.embedding.embedder import build_embedder
from ragtune.tasks.index.checks import self_retrieval_check
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.schema import Chunk
from ragtune.tasks.index.store import IndexStore

uri, manifest_path, kill_at, write_batch = sys.argv[1:5]


class KillingEmbedder:
    def __init__(self, inner, calls_allowed):
        self.inner, self.allowed, self.calls = inner, calls_allowed, 0
        self.name, self.dim = inner.name, inner.dim

    def embed(self, texts):
        if self.calls >= self.allowed:
            os.kill(os.getpid(), signal.SIGKILL)
        self.calls += 1
        return self.inner.embed(texts)


data = json.load(open(manifest_path))
chunks = [Chunk(**c) for c in data["chunks"]]
real = build_embedder(EmbeddingConfig())
cfg = IndexConfig(write_batch=int(write_batch))
if kill_at == "embed":  # die after two write batches were embedded and cached
    store = IndexStore(uri, "chunks", KillingEmbedder(real, 2), cfg=cfg)
    store.refresh(chunks, data["documents"])
else:  # the refresh commits; die while the publish checks run
    store = IndexStore(uri, "chunks", real, cfg=cfg)
    store.refresh(chunks, data["documents"])
    self_retrieval_check(
        store.candidate(), KillingEmbedder(real, 0), sample=3, top_k=3, seed=1
    )
sys.exit(3)  # reaching this line means the kill never happened
"""


def _new_documents(corpus: dict[str, str]) -> None:
    for i in range(4):
        corpus[f"pricing/addon-{i}.md"] = (
            f"# Add-on {i}\n\nAdd-on {i} covers breakdowns abroad for {i + 3} EUR.\n\n"
            f"## Limits {i}\n\nThe limit for add-on {i} is {1000 * (i + 1)} EUR a year."
            f"\n\n## Claims {i}\n\nClaims under add-on {i} need a garage invoice."
        )


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["embed", "check"])
def test_sigkill_mid_refresh_keeps_readers_on_live(
    kit, tmp_path, embedder, corpus, kill_at
) -> None:
    uri = str(tmp_path / "index")
    store = IndexStore(uri, "chunks", CountingEmbedder(embedder), cfg=kit.INDEX_CFG)
    _, published = kit.refresh_publish(store, corpus, data_hash="kb-1")
    live_rows = kit.rows_of(open_live(uri, "chunks"))
    old_texts = {c.content_hash for c in kit.manifest(corpus)[0]}

    _new_documents(corpus)
    chunks, documents = kit.manifest(corpus, "kb-2")
    new_texts = {c.content_hash for c in chunks} - old_texts
    batch = kit.INDEX_CFG.write_batch
    assert len(new_texts) > 2 * batch  # the kill lands mid-refresh
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {"chunks": [dataclasses.asdict(c) for c in chunks], "documents": documents}
        )
    )
    child = tmp_path / "refresh_and_die.py"
    child.write_text(CHILD)
    proc = subprocess.run(
        [sys.executable, str(child), uri, str(manifest), kill_at, str(batch)],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]

    # readers still see the previous live version, row for row
    live = open_live(uri, "chunks")
    assert live.version == published.version
    kit.assert_same_rows(kit.rows_of(live), live_rows)
    if kill_at == "check":  # an unpublished version exists but nobody reads it
        assert store.version > published.version

    stats, tag = kit.refresh_publish(store, corpus, data_hash="kb-2")
    assert stats.added == sorted(d for d in documents if "addon" in d)
    if kill_at == "embed":  # the two cached batches are not embedded again
        assert stats.cache_hits == 2 * batch
        assert stats.chunks_embedded == len(new_texts) - 2 * batch
    else:
        assert stats.restored_to_live and stats.chunks_embedded == 0
        assert stats.cache_hits == len(new_texts)
    assert tag.live and tag.data_hash == "kb-2"
    rows = kit.rows_of(open_live(uri, "chunks"))
    assert sorted(rows) == sorted(c.chunk_id for c in chunks)
    by_id = {c.chunk_id: c for c in chunks}
    expected = embedder.embed([by_id[cid].text for cid in sorted(rows)])
    for cid, vector in zip(sorted(rows), expected, strict=True):
        assert rows[cid]["text"] == by_id[cid].text
        assert float(rows[cid]["vector"] @ vector) > 1 - 1e-5  # same unit vector
