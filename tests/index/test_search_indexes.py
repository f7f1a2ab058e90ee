"""Search index creation, thresholds and catch-up on real LanceDB tables."""

from __future__ import annotations

import hashlib
from dataclasses import asdict

import lancedb
import numpy as np
import pytest
from lancedb.index import IvfPq
from lancedb.query import MatchQuery

from ragtune.errors import InputError
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.schema import Chunk, chunk_schema
from ragtune.tasks.index.search import hybrid_search
from ragtune.tasks.index.search_indexes import (
    ensure_search_indexes,
    plan_vector_index,
)

DIM = 384  # MiniLM, so the embedder can query tables with random filler rows
REAL_TEXTS = {
    "reg-theft": "Theft of a motor vehicle must be reported to the insurer within "
    "48 hours of discovery.",
    "price-car": "Comprehensive car cover costs 42 euros per month.",
    "hist-founding": "Northwind Mutual was founded in 1921 by fishermen in Bergen.",
}


def row(doc_id: str, text: str, vector) -> dict:
    digest = hashlib.sha256(text.encode()).hexdigest()
    chunk = Chunk(
        chunk_id=f"{doc_id}#{digest[:16]}",
        doc_id=doc_id,
        ordinal=0,
        text=text,
        content_hash=digest,
        source_path=f"kb/{doc_id}.md",
        title=doc_id,
        section="",
        category="regulatory",
        effective_date=None,
        valid_until=None,
        data_hash="md5-test",
    )
    return asdict(chunk) | {"vector": [float(x) for x in vector]}


def filler_rows(start: int, n: int, seed: int) -> list[dict]:
    """Rows with random unit vectors: enough to train an index, cheap to make."""
    vectors = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        row(f"filler-{i}", f"filler note {i} on topic {i % 7}", vectors[i - start])
        for i in range(start, start + n)
    ]


@pytest.fixture
def real_rows(embedder) -> list[dict]:
    vectors = embedder.embed(list(REAL_TEXTS.values()))
    return [row(d, t, v) for (d, t), v in zip(REAL_TEXTS.items(), vectors, strict=True)]


def fts_ids(table, term: str, *, index_only: bool) -> set[str]:
    search = table.search(MatchQuery(term, "text"), query_type="fts")
    if index_only:
        search = search.fast_search()  # skip the flat scan of unindexed rows
    return {r["doc_id"] for r in search.limit(50).to_list()}


def unindexed(table) -> dict[str, int]:
    return {ix.name: ix.num_unindexed_rows for ix in table.list_indices()}


@pytest.mark.parametrize(
    ("rows", "dim", "partitions", "sub_vectors"),
    [
        (300, 384, 1, 24),  # k-means needs >= 256 vectors per partition
        (10_000, 384, 39, 24),
        (1_000_000, 384, 1000, 24),  # sqrt(rows) once rows are plentiful
        (5_000, 1000, 19, 125),  # 1000 = 8 * 125, not a multiple of 16
        (5_000, 100, 19, 1),
    ],
)
def test_vector_index_plan_follows_row_count(rows, dim, partitions, sub_vectors):
    plan = plan_vector_index(rows, dim)
    assert (plan.num_partitions, plan.num_sub_vectors) == (partitions, sub_vectors)
    assert plan.config().distance_type == "cosine"


def test_plan_rejects_empty_table() -> None:
    with pytest.raises(InputError, match="0 rows"):
        plan_vector_index(0, 384)


def test_fts_catches_up_with_added_and_changed_rows(tmp_path, embedder, real_rows):
    table = lancedb.connect(tmp_path).create_table(
        "chunks", data=real_rows, schema=chunk_schema(DIM)
    )
    cfg = IndexConfig(index_lag_rows=0)
    assert ensure_search_indexes(table, cfg) == ["created fts index text_idx"]
    assert ensure_search_indexes(table, cfg) == []  # idempotent

    vec = embedder.embed(["Zeppelin hangar flooding claims"])[0]
    table.add([row("reg-zeppelin", "Zeppelin hangar flooding claims", vec)])
    table.update(where="doc_id = 'price-car'", values={"text": "Car cover: 44 euros"})
    assert fts_ids(table, "zeppelin", index_only=True) == set()
    # Before the catch-up the rows are still found, by a flat scan of new rows.
    assert fts_ids(table, "zeppelin", index_only=False) == {"reg-zeppelin"}

    actions = ensure_search_indexes(table, cfg)
    assert actions == ["updated fts index text_idx (+2 rows)"]
    assert unindexed(table) == {"text_idx": 0}
    assert fts_ids(table, "zeppelin", index_only=True) == {"reg-zeppelin"}
    assert fts_ids(table, "44", index_only=True) == {"price-car"}
    assert fts_ids(table, "42", index_only=True) == set()  # old text is gone
    hit = hybrid_search(table, embedder, "zeppelin", k=1)[0]
    assert (hit.doc_id, hit.text_rank) == ("reg-zeppelin", 1)
    assert ensure_search_indexes(table, cfg) == []


def test_ann_index_created_at_threshold_and_search_still_works(
    tmp_path, embedder, real_rows
):
    cfg = IndexConfig(vector_index_min_rows=256, index_lag_rows=0)
    table = lancedb.connect(tmp_path).create_table(
        "chunks", data=real_rows + filler_rows(0, 247, seed=1), schema=chunk_schema(DIM)
    )
    assert table.count_rows() == 250
    assert ensure_search_indexes(table, cfg) == ["created fts index text_idx"]

    table.add(filler_rows(247, 50, seed=2))  # 300 rows: over the threshold
    actions = ensure_search_indexes(table, cfg)
    assert actions == [
        "updated fts index text_idx (+50 rows)",
        "created vector index vector_idx (IVF_PQ cosine, partitions=1, sub_vectors=24)",
    ]
    stats = table.index_stats("vector_idx")
    assert (stats.index_type, stats.distance_type) == ("IVF_PQ", "cosine")
    assert stats.num_indexed_rows == 300 and stats.num_unindexed_rows == 0

    query = "how soon must a stolen car be reported"
    hits = hybrid_search(table, embedder, query, k=3)
    assert hits[0].doc_id == "reg-theft" and hits[0].vector_rank == 1
    own = np.asarray(table.search().where("doc_id = 'filler-5'").to_list()[0]["vector"])
    found = table.search(own).distance_type("cosine").fast_search().limit(1).to_list()
    assert found[0]["doc_id"] == "filler-5"  # served by the index alone

    table.add(filler_rows(297, 10, seed=3))
    assert ensure_search_indexes(table, cfg) == [
        "updated fts index text_idx (+10 rows)",
        "updated vector index vector_idx (+10 rows)",
    ]
    assert unindexed(table) == {"text_idx": 0, "vector_idx": 0}
    assert ensure_search_indexes(table, cfg) == []


def test_vector_index_with_another_metric_is_replaced(tmp_path):
    table = lancedb.connect(tmp_path).create_table(
        "chunks", data=filler_rows(0, 300, seed=4), schema=chunk_schema(DIM)
    )
    table.create_index("vector", config=IvfPq(distance_type="l2"), name="l2_idx")
    actions = ensure_search_indexes(table, IndexConfig(vector_index_min_rows=256))
    assert actions[1].startswith("created vector index vector_idx (IVF_PQ cosine")
    assert actions[1].endswith("replacing l2_idx (l2)")
    assert {ix.name for ix in table.list_indices()} == {"text_idx", "vector_idx"}


def test_refuses_a_checked_out_old_version(tmp_path, real_rows) -> None:
    table = lancedb.connect(tmp_path).create_table(
        "chunks", data=real_rows, schema=chunk_schema(DIM)
    )
    table.add(filler_rows(0, 2, seed=5))
    table.checkout(1)
    with pytest.raises(InputError, match="checked out at version 1, latest is 2"):
        ensure_search_indexes(table, IndexConfig())


def test_updates_wait_for_the_lag_and_search_still_sees_every_row(
    tmp_path, embedder, real_rows
):
    cfg = IndexConfig(vector_index_min_rows=256, index_lag_rows=20)
    table = lancedb.connect(tmp_path).create_table(
        "chunks", data=real_rows + filler_rows(0, 297, seed=1), schema=chunk_schema(DIM)
    )
    assert len(ensure_search_indexes(table, cfg)) == 2  # fts and vector created

    text = "Zeppelin hangar flooding claims"
    table.add([row("reg-zeppelin", text, embedder.embed([text])[0])])
    table.update(where="doc_id = 'price-car'", values={"text": "Car cover: 44 euros"})
    table.add(filler_rows(297, 10, seed=2))
    assert ensure_search_indexes(table, cfg) == []  # 12 unindexed rows <= 20
    assert unindexed(table) == {"text_idx": 12, "vector_idx": 12}
    # the lagging rows are found, by text and by vector; the replaced text is not
    assert fts_ids(table, "zeppelin", index_only=False) == {"reg-zeppelin"}
    assert "price-car" in fts_ids(table, "44", index_only=False)
    assert fts_ids(table, "comprehensive", index_only=False) == set()
    hit = hybrid_search(table, embedder, "zeppelin hangar flooding", k=1)[0]
    assert (hit.doc_id, hit.text_rank, hit.vector_rank) == ("reg-zeppelin", 1, 1)

    table.add(filler_rows(307, 10, seed=3))  # 22 unindexed: past the lag
    assert ensure_search_indexes(table, cfg) == [
        "updated fts index text_idx (+22 rows)",
        "updated vector index vector_idx (+22 rows)",
    ]
    assert unindexed(table) == {"text_idx": 0, "vector_idx": 0}
