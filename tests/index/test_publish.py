"""Publishing gates, the live pointer, rollback and cleanup on real LanceDB tables."""

from __future__ import annotations

import dataclasses

import pytest

from ragtune.errors import GateFailed, InputError
from ragtune.gates import GateResult
from ragtune.tasks.index.embed_cache import CountingEmbedder
from ragtune.tasks.index.ledger import read_entries
from ragtune.tasks.index.publish import (
    cleanup,
    list_tags,
    open_live,
    publish,
    rollback,
    row_count_check,
    self_retrieval_check,
)
from ragtune.tasks.index.store import IndexStore


def _store(kit, uri, embedder) -> IndexStore:
    return IndexStore(uri, "chunks", CountingEmbedder(embedder), cfg=kit.INDEX_CFG)


def _live_rows(kit, uri) -> dict[str, dict]:
    return kit.rows_of(open_live(uri, "chunks"))


def test_publish_tags_the_candidate_and_moves_live(kit, index_uri, hash_embedder):
    store = _store(kit, index_uri, hash_embedder)
    stats, tag = kit.refresh_publish(store, kit.CORPUS, data_hash="kb-1")
    assert tag.live and tag.version == stats.version_after and tag.data_hash == "kb-1"
    assert tag.tag.startswith("live-")
    assert tag.metrics["checks"]["row_count"]["passed"] is True
    live = open_live(index_uri, "chunks")
    assert live.version == stats.version_after
    chunks, _ = kit.manifest(kit.CORPUS)
    assert sorted(kit.rows_of(live)) == sorted(c.chunk_id for c in chunks)
    # publishing the same thing again changes nothing
    again = publish(store, [row_count_check(store.candidate(), len(chunks))], {}, "x")
    assert again.tag == tag.tag and len(list_tags(index_uri, "chunks")) == 1


def test_live_state_is_read_once_per_move_and_follows_other_writers(
    kit, index_uri, hash_embedder, corpus, monkeypatch
) -> None:
    from ragtune.tasks.index import ledger, tables

    reads: list[str] = []

    def counted(real):  # noqa: ANN001, ANN202
        def read(table):  # noqa: ANN001, ANN202
            reads.append(table.name)
            return real(table)

        return read

    monkeypatch.setattr(ledger, "read_documents", counted(ledger.read_documents))
    monkeypatch.setattr(tables, "read_documents", counted(tables.read_documents))
    mine = _store(kit, index_uri, hash_embedder)
    _, first = kit.refresh_publish(mine, corpus)
    first_docs = kit.manifest(corpus)[1]
    reads.clear()
    # after its own publish: the plan and a no-change refresh read nothing back
    assert mine.live_documents() == first_docs
    assert mine.refresh(*kit.manifest(corpus)).needs_publish is False
    assert reads == []

    # another writer publishes an edit: the next read sees it
    other = _store(kit, index_uri, hash_embedder)
    corpus["pricing/motor.md"] += "\n\nYoung drivers pay a 30 percent surcharge."
    kit.refresh_publish(other, corpus, data_hash="kb-2")
    assert mine.live_documents() == kit.manifest(corpus)[1] != first_docs
    # a rollback from anywhere moves it back
    rollback(index_uri, "chunks", first.tag)
    assert mine.live_documents() == first_docs
    stats = mine.refresh(*kit.manifest(corpus))
    assert stats.changed == ["pricing/motor.md"]


def test_failed_check_leaves_live_unchanged_and_next_run_completes(
    kit, index_uri, hash_embedder, corpus
) -> None:
    store = _store(kit, index_uri, hash_embedder)
    _, first = kit.refresh_publish(store, corpus)
    published_rows = _live_rows(kit, index_uri)

    corpus["pricing/home.md"] += "\n\nStorm cover is included from 2025."
    chunks, documents = kit.manifest(corpus, "kb-2")
    stats = store.refresh(chunks, documents)
    embedded_once = stats.chunks_embedded
    wrong = row_count_check(store.candidate(), len(chunks) + 1)
    with pytest.raises(GateFailed, match=f"live stays {first.version}"):
        publish(store, [wrong], {}, "kb-2")
    live = open_live(index_uri, "chunks")
    assert live.version == first.version
    kit.assert_same_rows(kit.rows_of(live), published_rows)

    # the next run starts again from live, redoes the diff, and embeds nothing new
    again, tag = kit.refresh_publish(store, corpus, data_hash="kb-2")
    assert again.restored_to_live and again.changed == ["pricing/home.md"]
    assert again.chunks_embedded == 0 and again.cache_hits == embedded_once
    assert tag.live and tag.data_hash == "kb-2"
    assert sorted(_live_rows(kit, index_uri)) == sorted(c.chunk_id for c in chunks)


def test_checks_from_another_version_or_none_are_refused(kit, index_uri, hash_embedder):
    store = _store(kit, index_uri, hash_embedder)
    chunks, documents = kit.manifest(kit.CORPUS)
    store.refresh(chunks, documents)
    old = row_count_check(store.candidate(), len(chunks))
    stale = dataclasses.replace(old, subject=old.subject - 1)
    with pytest.raises(InputError, match="another version"):
        publish(store, [stale], {}, "kb-1")
    with pytest.raises(InputError, match="at least one check"):
        publish(store, [], {}, "kb-1")
    assert open_live(index_uri, "chunks") is None


def test_warn_severity_does_not_block(kit, index_uri, hash_embedder) -> None:
    store = _store(kit, index_uri, hash_embedder)
    chunks, documents = kit.manifest(kit.CORPUS)
    store.refresh(chunks, documents)
    candidate = store.candidate()
    warn = GateResult("recall", "warn", "recall 0.4 < 0.5", subject=candidate.version)
    tag = publish(store, [row_count_check(candidate, len(chunks)), warn], {}, "kb-1")
    assert tag.live and tag.metrics["checks"]["recall"]["passed"] is False


def test_self_retrieval_catches_vectors_from_another_model(
    kit, index_uri, hash_embedder
):
    store = _store(kit, index_uri, hash_embedder)
    store.refresh(*kit.manifest(kit.CORPUS))
    candidate = store.candidate()
    ok = self_retrieval_check(candidate, hash_embedder, sample=5, top_k=1, seed=3)
    assert ok.met and ok.measured["found"] == 5
    impostor = kit.HashEmbedder(name=hash_embedder.name, salt="other weights")
    bad = self_retrieval_check(candidate, impostor, sample=5, top_k=1, seed=3)
    assert bad.blocks and "missed" in bad.reason


def test_rollback_restores_the_previous_live_version(kit, index_uri, embedder, corpus):
    store = _store(kit, index_uri, embedder)
    _, first = kit.refresh_publish(store, corpus, data_hash="kb-1")
    first_rows = _live_rows(kit, index_uri)
    corpus["regulatory/complaints.md"] = corpus["regulatory/complaints.md"].replace(
        "eight weeks", "four weeks"
    )
    _, second = kit.refresh_publish(store, corpus, data_hash="kb-2")
    assert second.version > first.version

    back = rollback(index_uri, "chunks", first.tag)
    assert back.tag == first.tag and back.live
    kit.assert_same_rows(_live_rows(kit, index_uri), first_rows)
    tags = {t.tag: t for t in list_tags(index_uri, "chunks")}
    assert tags[first.tag].live and not tags[second.tag].live
    assert [e.action for e in read_entries(store.db, "chunks")] == [
        "publish",
        "publish",
        "rollback",
    ]
    # the next refresh starts from the rolled-back version; vectors come from cache
    stats = store.refresh(*kit.manifest(corpus, "kb-2"))
    assert stats.restored_to_live and stats.changed == ["regulatory/complaints.md"]
    assert stats.chunks_embedded == 0
    with pytest.raises(InputError, match="no published tag"):
        rollback(index_uri, "chunks", "live-19990101T000000Z")


def test_cleanup_keeps_tagged_versions(kit, index_uri, hash_embedder, corpus) -> None:
    store = _store(kit, index_uri, hash_embedder)
    published = []
    for i in range(3):
        corpus[f"pricing/extra-{i}.md"] = (
            f"# Extra {i}\n\nAdd-on {i} costs {i + 2} EUR."
        )
        published.append(kit.refresh_publish(store, corpus, data_hash=f"kb-{i}")[1])
    corpus["pricing/extra-9.md"] = "# Never published\n\nThis run fails its gate."
    chunks, documents = kit.manifest(corpus)
    store.refresh(chunks, documents)
    with pytest.raises(GateFailed):
        publish(store, [row_count_check(store.candidate(), 0)], {}, "kb-x")
    versions_before = [v["version"] for v in store.chunks_table().list_versions()]
    rows_per_tag = {}
    for tag in published:
        table = store.chunks_table()
        table.checkout(tag.tag)
        rows_per_tag[tag.tag] = kit.rows_of(table)

    report = cleanup(index_uri, "chunks", retention_days=0)
    versions_after = [v["version"] for v in store.chunks_table().list_versions()]
    assert report.versions_removed["chunks"] > 0
    assert len(versions_after) < len(versions_before)
    tagged = {t.version for t in published}
    assert tagged | {versions_before[-1]} == set(versions_after)
    for tag in published:  # every tag still reads back exactly
        table = store.chunks_table()
        table.checkout(tag.tag)
        kit.assert_same_rows(kit.rows_of(table), rows_per_tag[tag.tag])
    rollback(index_uri, "chunks", published[0].tag)
    assert open_live(index_uri, "chunks").version == published[0].version
    # and the index still refreshes and publishes after cleanup
    stats, tag = kit.refresh_publish(store, corpus)
    assert tag.live and stats.chunks_embedded == 0


def test_document_only_change_is_published_without_a_chunk_write(
    kit, index_uri, hash_embedder, corpus
) -> None:
    store = _store(kit, index_uri, hash_embedder)
    _, first = kit.refresh_publish(store, corpus)
    corpus["history/founding.md"] += "\n\n\n"  # new file bytes, same chunks
    stats, tag = kit.refresh_publish(store, corpus, data_hash="kb-2")
    assert stats.changed == ["history/founding.md"] and stats.chunks_upserted == 0
    assert stats.version_after == first.version and stats.needs_publish
    assert tag.tag != first.tag and tag.version == first.version
    assert tag.documents_version > first.documents_version
    # that publish is now the baseline: a rerun finds nothing and writes nothing
    again = store.refresh(*kit.manifest(corpus, "kb-2"))
    assert again.unchanged == sorted(corpus) and not again.needs_publish
    assert not again.restored_to_live
