"""Property: after any sequence of adds, edits, renames, deletes, failed gates and
rollbacks, the live index equals a full rebuild of the same documents.

Uses the test-only hashing embedder so a long sequence stays fast; the MiniLM
tests in test_store.py and test_publish.py cover the real model on the same paths.
"""

from __future__ import annotations

import random

import pytest

from ragtune.errors import GateFailed
from ragtune.tasks.index.diff import FINGERPRINT_COLUMNS
from ragtune.tasks.index.embed_cache import CountingEmbedder
from ragtune.tasks.index.publish import (
    list_tags,
    open_live,
    publish,
    rollback,
    row_count_check,
)
from ragtune.tasks.index.store import IndexStore

WORDS = "premium claim cover policy deductible flood theft notice clause refund".split()
STEPS = 20


def _paragraph(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 30))
    return " ".join(words).capitalize() + "."


def _document(rng: random.Random) -> str:
    parts = []
    for section in range(rng.randint(1, 3)):
        parts.append(f"## Part {section} {rng.choice(WORDS)}")
        parts += [_paragraph(rng) for _ in range(rng.randint(1, 3))]
    return "\n\n".join(parts)


def _mutate(rng: random.Random, corpus: dict[str, str], graveyard: dict) -> str:
    """Apply one random change to ``corpus``; returns its name."""
    ops = ["add", "edit", "rename", "delete", "restore", "noop"]
    op = rng.choice(ops if corpus else ["add"])
    doc = rng.choice(sorted(corpus)) if corpus else None
    if op == "add" or (op == "restore" and not graveyard):
        corpus[f"doc-{rng.randrange(10**6)}.md"] = _document(rng)
    elif op == "edit":
        paragraphs = corpus[doc].split("\n\n")
        paragraphs[rng.randrange(len(paragraphs))] = _paragraph(rng)
        corpus[doc] = "\n\n".join(paragraphs)
    elif op == "rename":
        corpus[f"renamed-{rng.randrange(10**6)}.md"] = corpus.pop(doc)
    elif op == "delete":
        graveyard[doc] = corpus.pop(doc)
    elif op == "restore":
        name = rng.choice(sorted(graveyard))
        corpus[name] = graveyard.pop(name)
    return op


def _comparable(kit, table) -> dict[str, dict]:  # noqa: ANN001
    rows = kit.rows_of(table)
    for row in rows.values():
        row.pop("data_hash")  # the KB version a row was last written from
    return rows


def _rebuild(kit, uri: str, corpus: dict[str, str]) -> dict[str, dict]:
    store = IndexStore(
        uri, "chunks", kit.HashEmbedder(), cfg=kit.INDEX_CFG, cache=False
    )
    store.refresh(*kit.manifest(corpus))
    return _comparable(kit, store.chunks_table())


def _assert_equal(kit, live: dict, rebuilt: dict) -> None:
    kit.assert_same_rows(live, rebuilt)
    for cid, row in rebuilt.items():
        assert all(live[cid][col] == row[col] for col in FINGERPRINT_COLUMNS), cid


@pytest.mark.slow
@pytest.mark.parametrize("seed", [7, 2024, 99])
def test_live_index_equals_a_full_rebuild_after_every_step(kit, tmp_path, seed):
    rng = random.Random(seed)
    corpus = {f"doc-{i}.md": _document(rng) for i in range(4)}
    graveyard: dict[str, str] = {}
    counting = CountingEmbedder(kit.HashEmbedder())
    store = IndexStore(str(tmp_path / "live"), "chunks", counting, cfg=kit.INDEX_CFG)
    first, _ = kit.refresh_publish(store, corpus)
    embedded = first.chunks_embedded
    seen = {c.content_hash for c in kit.manifest(corpus)[0]}
    for step in range(STEPS):
        op = _mutate(rng, corpus, graveyard)
        seen |= {c.content_hash for c in kit.manifest(corpus)[0]}
        before = _comparable(kit, open_live(store.uri, "chunks"))
        twist = rng.choice(["publish", "publish", "fail-then-publish", "rollback"])
        if twist == "fail-then-publish":
            chunks, documents = kit.manifest(corpus)
            embedded += store.refresh(chunks, documents).chunks_embedded
            bad = row_count_check(store.candidate(), -1)
            with pytest.raises(GateFailed):
                publish(store, [bad], {}, "kb")
            _assert_equal(kit, _comparable(kit, open_live(store.uri, "chunks")), before)
        elif twist == "rollback" and len(list_tags(store.uri, "chunks")) > 1:
            target = rng.choice(list_tags(store.uri, "chunks"))
            rollback(store.uri, "chunks", target.tag)
        stats, _ = kit.refresh_publish(store, corpus, data_hash=f"kb-{step}")
        embedded += stats.chunks_embedded
        live = _comparable(kit, open_live(store.uri, "chunks"))
        rebuilt = _rebuild(kit, str(tmp_path / f"rebuild-{step}"), corpus)
        _assert_equal(kit, live, rebuilt)
        # the cache means no text is ever embedded twice, whatever happened
        assert embedded == len(seen), (step, op, twist)
