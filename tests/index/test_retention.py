"""Retention: cleanup removes untagged versions past ``keep_versions_days`` and never
a published (tagged) one, which must stay readable and restorable."""

from __future__ import annotations

import pytest

from ragtune.tasks.index import tables as tb
from ragtune.tasks.index.publish import cleanup, list_tags, open_live, rollback
from ragtune.tasks.index.store import IndexStore


def _versions(uri: str, name: str) -> set[int]:
    table = tb.open_table(tb.connect(uri), name)
    return {v["version"] for v in table.list_versions()}


@pytest.fixture
def history(kit, corpus, hash_embedder, index_uri):  # noqa: ANN201
    """Three publishes with unpublished candidates and restores in between.

    Returns the store, the published rows by tag, and the final corpus.
    """
    store = IndexStore(index_uri, "chunks", hash_embedder, cfg=kit.INDEX_CFG)
    published: dict[str, dict] = {}

    def publish_now(data_hash: str) -> None:
        _, tag = kit.refresh_publish(store, corpus, data_hash)
        published[tag.tag] = kit.rows_of(open_live(index_uri, "chunks"))

    publish_now("kb-1")
    corpus["pricing/motor.md"] += "\n\nYoung drivers pay a 30 percent surcharge."
    store.refresh(*kit.manifest(corpus, "kb-2"))  # candidate that never goes live
    publish_now("kb-2")  # restores live first, then writes again: more versions
    del corpus["history/founding.md"]
    publish_now("kb-3")
    return store, published, corpus


def test_retention_keeps_recent_versions(history, index_uri) -> None:
    before = _versions(index_uri, "chunks")

    report = cleanup(index_uri, "chunks", retention_days=1)

    assert report.versions_removed["chunks"] == 0
    assert _versions(index_uri, "chunks") == before


def test_old_untagged_versions_go_and_every_tag_survives(
    history, kit, index_uri
) -> None:
    store, published, corpus = history
    chunks_table = store.chunks_table()
    tags = list_tags(index_uri, "chunks")
    tagged = {t.version for t in tags}
    before = _versions(index_uri, "chunks")
    untagged_old = before - tagged - {chunks_table.version}
    assert [t.tag for t in tags] == list(published)
    assert untagged_old, "the history should have unpublished versions to clean"

    report = cleanup(index_uri, "chunks", retention_days=0)

    after = _versions(index_uri, "chunks")
    assert after == tagged | {chunks_table.version}  # latest is never removed
    assert report.versions_removed["chunks"] == len(untagged_old)
    docs_after = _versions(index_uri, tb.documents_table_name("chunks"))
    assert {t.documents_version for t in tags} <= docs_after

    # Every tag still checks out with the rows it was published with, and can be
    # rolled back to (oldest first, so live really moves each time).
    for tag in tags:
        table = store.chunks_table()
        table.checkout(tag.tag)
        kit.assert_same_rows(kit.rows_of(table), published[tag.tag])
        assert rollback(index_uri, "chunks", tag.tag).version == tag.version
        kit.assert_same_rows(
            kit.rows_of(open_live(index_uri, "chunks")), published[tag.tag]
        )


def test_refresh_after_cleanup_and_rollback_restores_cleanly(
    history, kit, index_uri
) -> None:
    store, published, corpus = history
    first = list_tags(index_uri, "chunks")[0]
    cleanup(index_uri, "chunks", retention_days=0)
    rollback(index_uri, "chunks", first.tag)

    # The refresh starts from the rolled-back chunk and documents versions (both
    # kept by their tags) and brings the index forward again from the cache.
    stats, tag = kit.refresh_publish(store, corpus, "kb-3")

    assert stats.chunks_embedded == 0
    assert stats.changed == ["pricing/motor.md"]
    assert stats.removed == ["history/founding.md"]
    last = list(published)[-1]
    kit.assert_same_rows(kit.rows_of(open_live(index_uri, "chunks")), published[last])
    assert tag.tag not in published
