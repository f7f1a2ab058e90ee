"""Incremental refresh: what is embedded, written and deleted, counted at the
embedder and read back from the real LanceDB tables."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ragtune.app.index import open_store
from ragtune.app.settings import parse_settings
from ragtune.errors import ConfigError, InputError
from ragtune.tasks.index.embed_cache import CountingEmbedder, EmbeddingCache
from ragtune.tasks.index.maintenance import KEY_INDEX_NAME
from ragtune.tasks.index.publish import open_live, standard_checks
from ragtune.tasks.index.store import IndexStore
from ragtune.tasks.index.tables import documents_table_name, embedder_info


def _store(kit, uri, embedder, **kwargs) -> IndexStore:
    return IndexStore(
        uri, "chunks", CountingEmbedder(embedder), cfg=kit.INDEX_CFG, **kwargs
    )


def _row_ids(table) -> dict[str, int]:  # noqa: ANN001
    data = table.to_lance().to_table(columns=["chunk_id"], with_row_id=True)
    return dict(
        zip(data["chunk_id"].to_pylist(), data["_rowid"].to_pylist(), strict=True)
    )


def _versions(table) -> list[int]:  # noqa: ANN001
    return [v["version"] for v in table.list_versions()]


def test_first_refresh_indexes_every_chunk(kit, index_uri, hash_embedder) -> None:
    chunks, documents = kit.manifest(kit.CORPUS)
    store = _store(kit, index_uri, hash_embedder)
    stats = store.refresh(chunks, documents)
    assert stats.added == sorted(kit.CORPUS) and not stats.changed
    assert (
        stats.chunks_embedded
        == store.embedder.texts
        == len({c.content_hash for c in chunks})
    )
    assert stats.chunks_upserted == len(chunks) and stats.chunks_deleted == 0
    assert stats.live_version is None and stats.needs_publish
    table = store.chunks_table()
    assert table.count_rows() == len(chunks)
    assert embedder_info(table.schema).name == hash_embedder.name
    rows = kit.rows_of(table)
    for chunk in chunks:
        expected = hash_embedder.embed([chunk.text])[0]
        np.testing.assert_allclose(rows[chunk.chunk_id]["vector"], expected, atol=1e-6)
    assert open_live(index_uri, "chunks") is None  # nothing published yet


def test_no_change_rerun_embeds_nothing_and_writes_no_version(
    kit, index_uri, embedder
) -> None:
    counting = CountingEmbedder(embedder)
    store = IndexStore(index_uri, "chunks", counting, cfg=kit.INDEX_CFG)
    first, tag = kit.refresh_publish(store, kit.CORPUS)
    assert first.chunks_embedded > 0 and tag.live
    chunk_versions = _versions(store.chunks_table())
    doc_versions = _versions(store.documents_table())

    counting.reset()
    again = store.refresh(*kit.manifest(kit.CORPUS))
    assert counting.texts == 0 and counting.calls == 0
    assert again.chunks_embedded == again.chunks_upserted == again.chunks_deleted == 0
    assert again.unchanged == sorted(kit.CORPUS)
    assert again.version_after == again.version_before == tag.version
    assert not again.needs_publish
    assert _versions(store.chunks_table()) == chunk_versions
    assert _versions(store.documents_table()) == doc_versions


def test_edit_one_doc_embeds_only_its_changed_chunks(kit, index_uri, embedder, corpus):
    store = _store(kit, index_uri, embedder)
    kit.refresh_publish(store, corpus)
    before_ids = _row_ids(store.chunks_table())
    old_chunks, _ = kit.manifest(corpus)
    corpus["pricing/motor.md"] = corpus["pricing/motor.md"].replace("420", "455")
    new_chunks, documents = kit.manifest(corpus)
    new_texts = {c.content_hash for c in new_chunks} - {
        c.content_hash for c in old_chunks
    }
    assert 0 < len(new_texts) < len(new_chunks)

    stats = store.refresh(new_chunks, documents)
    assert (
        stats.changed == ["pricing/motor.md"] and not stats.added and not stats.removed
    )
    assert stats.chunks_embedded == store.embedder.texts == len(new_texts)
    after_ids = _row_ids(store.chunks_table())
    untouched = {c.chunk_id for c in old_chunks} & {c.chunk_id for c in new_chunks}
    # rows that did not change keep their physical row id: they were not rewritten
    assert all(after_ids[cid] == before_ids[cid] for cid in untouched)
    assert sorted(after_ids) == sorted(c.chunk_id for c in new_chunks)


def test_delete_removes_exactly_that_docs_chunks(kit, index_uri, hash_embedder, corpus):
    store = _store(kit, index_uri, hash_embedder)
    kit.refresh_publish(store, corpus)
    before = kit.rows_of(store.chunks_table())
    gone = [
        cid for cid, row in before.items() if row["doc_id"] == "history/founding.md"
    ]
    del corpus["history/founding.md"]

    stats = store.refresh(*kit.manifest(corpus))
    assert stats.removed == ["history/founding.md"] and stats.chunks_embedded == 0
    assert stats.chunks_deleted == len(gone) > 0
    after = kit.rows_of(store.chunks_table())
    kept = {cid: row for cid, row in before.items() if cid not in gone}
    kit.assert_same_rows(after, kept)
    docs = store.documents_table().to_arrow()["doc_id"].to_pylist()
    assert "history/founding.md" not in docs and len(docs) == len(corpus)


def test_renamed_document_reuses_cached_vectors(kit, index_uri, hash_embedder, corpus):
    store = _store(kit, index_uri, hash_embedder)
    kit.refresh_publish(store, corpus)
    corpus["concepts/excess.md"] = corpus.pop("concepts/deductible.md")
    stats = store.refresh(*kit.manifest(corpus))
    moved = [c for c in kit.manifest(corpus)[0] if c.doc_id == "concepts/excess.md"]
    assert stats.added == ["concepts/excess.md"]
    assert stats.removed == ["concepts/deductible.md"]
    assert stats.chunks_embedded == 0 and stats.cache_hits == len(moved)
    cache = EmbeddingCache(index_uri, hash_embedder.name, hash_embedder.dim)
    assert cache.count() == len({c.content_hash for c in kit.manifest(kit.CORPUS)[0]})


def test_metadata_change_rewrites_rows_without_embedding(kit, index_uri, hash_embedder):
    store = _store(kit, index_uri, hash_embedder)
    kit.refresh_publish(store, kit.CORPUS)
    chunks, documents = kit.manifest(kit.CORPUS)
    reclassified = [
        dataclasses.replace(c, category="domain-concept")
        if c.doc_id == "history/founding.md"
        else c
        for c in chunks
    ]
    stats = store.refresh(reclassified, documents)
    n = sum(c.doc_id == "history/founding.md" for c in chunks)
    assert stats.chunks_embedded == 0 and stats.chunks_upserted == n
    rows = kit.rows_of(store.chunks_table())
    assert {
        r["category"] for r in rows.values() if r["doc_id"] == "history/founding.md"
    } == {"domain-concept"}


def test_scope_leaves_documents_outside_it_alone(kit, index_uri, hash_embedder, corpus):
    store = _store(kit, index_uri, hash_embedder)
    kit.refresh_publish(store, corpus)
    everything = kit.rows_of(store.chunks_table())
    regulatory = {k: v for k, v in corpus.items() if k.startswith("regulatory/")}
    del regulatory["regulatory/complaints.md"]
    scope = {k for k in corpus if k.startswith("regulatory/")}
    stats = store.refresh(*kit.manifest(regulatory), scope=scope)
    assert stats.removed == ["regulatory/complaints.md"]
    after = kit.rows_of(store.chunks_table())
    expected = {
        cid: r
        for cid, r in everything.items()
        if r["doc_id"] != "regulatory/complaints.md"
    }
    kit.assert_same_rows(after, expected)


def test_bad_manifest_is_refused_before_anything_is_written(
    kit, index_uri, hash_embedder
):
    chunks, documents = kit.manifest(kit.CORPUS)
    store = _store(kit, index_uri, hash_embedder)
    with pytest.raises(InputError, match="duplicate chunk ids"):
        store.refresh([chunks[0], chunks[0]], documents)
    assert store.chunks_table() is None and store.embedder.texts == 0


def test_key_index_is_created_once_and_caught_up_past_the_lag(
    kit, index_uri, hash_embedder, corpus
):
    cfg = kit.INDEX_CFG.model_copy(update={"index_lag_rows": 1})
    store = IndexStore(index_uri, "chunks", CountingEmbedder(hash_embedder), cfg=cfg)
    kit.refresh_publish(store, corpus)
    corpus["pricing/new.md"] = "# New product\n\nPet cover from 6 EUR a month."
    stats = store.refresh(*kit.manifest(corpus))
    assert not any("key index" in line for line in stats.maintenance)  # 1 <= lag
    corpus["pricing/pets.md"] = "# Pets\n\nVet bills are covered up to 2,000 EUR."
    stats = store.refresh(*kit.manifest(corpus))
    assert f"updated key index {KEY_INDEX_NAME} (+2 rows)" in stats.maintenance
    table = store.chunks_table()
    [key_index] = [
        ix for ix in table.list_indices() if list(ix.columns) == ["chunk_id"]
    ]
    assert key_index.index_type == "BTree"
    assert table.index_stats(KEY_INDEX_NAME).num_unindexed_rows == 0


def test_embedder_change_is_refused_until_an_explicit_rebuild(kit, index_uri, embedder):
    store = _store(kit, index_uri, embedder)
    _, minilm_tag = kit.refresh_publish(store, kit.CORPUS)
    other = kit.HashEmbedder(name="other-model", dim=16)
    with pytest.raises(ConfigError, match="rebuild") as err:
        _store(kit, index_uri, other)
    assert embedder.name in str(err.value) and "other-model" in str(err.value)

    rebuilt = _store(kit, index_uri, other, rebuild=True)
    stats, tag = kit.refresh_publish(rebuilt, kit.CORPUS)
    chunks, _ = kit.manifest(kit.CORPUS)
    assert stats.rebuilt and stats.chunks_embedded == len(
        {c.content_hash for c in chunks}
    )
    live = open_live(index_uri, "chunks")
    assert embedder_info(
        live.schema
    ).name == "other-model" and live.count_rows() == len(chunks)
    # the MiniLM version is still there, with its own schema, for a rollback
    old = store.chunks_table()
    old.checkout(minilm_tag.tag)
    assert embedder_info(old.schema).dim == embedder.dim and old.count_rows() == len(
        chunks
    )
    # and the new embedder now opens the index without a rebuild
    assert (
        _store(kit, index_uri, other).refresh(*kit.manifest(kit.CORPUS)).chunks_embedded
        == 0
    )
    assert documents_table_name("chunks") in {
        n for n in rebuilt.db.list_tables().tables
    }


def test_large_refresh_builds_the_vector_index_and_still_finds_itself(
    kit, index_uri, hash_embedder
) -> None:
    cfg = kit.INDEX_CFG.model_copy(update={"vector_index_min_rows": 256})
    corpus = {
        f"faq/{i:03d}.md": f"Question {i}: is item {i} covered? Yes."
        for i in range(300)
    }
    store = IndexStore(index_uri, "chunks", hash_embedder, cfg=cfg)
    chunks, documents = kit.manifest(corpus)
    stats = store.refresh(chunks, documents)
    assert any("created vector index" in line for line in stats.maintenance)
    checks = standard_checks(store.candidate(), hash_embedder, len(chunks), cfg, seed=5)
    assert all(c.met for c in checks), [c.reason for c in checks]


def test_open_store_uses_params_sections(kit, tmp_path, hash_embedder) -> None:
    settings = parse_settings(
        {"index": {"uri": "state/idx", "table": "kb"}, "embedding": {"cache": False}},
        tmp_path,
        "params.yaml",
    )
    store = open_store(settings, hash_embedder)
    store.refresh(*kit.manifest(kit.CORPUS))
    assert store.uri == str(tmp_path / "state" / "idx") and store.name == "kb"
    assert store.chunks_table().count_rows() == len(kit.manifest(kit.CORPUS)[0])
    assert not [n for n in store.db.list_tables().tables if n.startswith("embed_cache")]


def test_scoped_edit_and_delete_remove_exactly_the_rows_a_rebuild_lacks(
    kit, index_uri, hash_embedder, corpus
) -> None:
    store = _store(kit, index_uri, hash_embedder)
    kit.refresh_publish(store, corpus)
    old_chunks, _ = kit.manifest(corpus)
    corpus["regulatory/solvency.md"] = "# Solvency rules\n\nCapital covers losses."
    del corpus["regulatory/complaints.md"]
    scope = {"regulatory/solvency.md", "regulatory/complaints.md"}
    edited = {"regulatory/solvency.md": corpus["regulatory/solvency.md"]}

    stats = store.refresh(*kit.manifest(edited), scope=scope)

    new_ids = {c.chunk_id for c in kit.manifest(corpus)[0]}
    vanished = {c.chunk_id for c in old_chunks} - new_ids
    assert stats.removed == ["regulatory/complaints.md"]
    assert stats.changed == ["regulatory/solvency.md"]
    assert stats.chunks_deleted == len(vanished) > 1
    assert set(kit.rows_of(store.chunks_table())) == new_ids
    docs = store.documents_table().to_arrow()["doc_id"].to_pylist()
    assert sorted(docs) == sorted(corpus)
