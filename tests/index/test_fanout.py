"""Scale-out embedding: the plan, the cache hand-over, and a real Dask fan-out whose
result must equal the single-process refresh while the store embeds nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ragtune.app.settings import Settings
from ragtune.errors import ConfigError
from ragtune.tasks.embedding.config import EmbeddingConfig
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.embed_cache import text_hash
from ragtune.tasks.index.fanout import (
    EmbeddingJob,
    embed_texts,
    open_cache,
    plan_job,
    plan_missing_texts,
    should_fan_out,
    write_vectors,
)
from ragtune.tasks.index.store import IndexStore


def _distinct_texts(chunks) -> list[str]:  # noqa: ANN001
    return list({c.content_hash: c.text for c in chunks}.values())


def _generated_corpus(docs: int = 20) -> dict[str, str]:
    """~3 chunks per document at the test chunk size (200 characters)."""
    corpus = {}
    for i in range(docs):
        sections = "\n\n".join(
            f"## Clause {i}.{s}\n\nPolicy {i} clause {s} sets a limit of {i * 97 + s} "
            f"EUR for claim type {chr(65 + s)}; payment follows within {s + 2} weeks "
            f"of the adjuster's report, unless fraud is suspected in file {i}-{s}."
            for s in range(3)
        )
        corpus[f"policies/p{i:02d}.md"] = f"# Policy {i}\n\n{sections}"
    return corpus


# -- the plan ----------------------------------------------------------------------


def test_plan_lists_each_new_text_once_and_nothing_cached(
    kit, corpus, hash_embedder, index_uri
) -> None:
    corpus["pricing/copy.md"] = corpus["pricing/home.md"]  # same texts, new doc
    chunks, _ = kit.manifest(corpus)
    store = IndexStore(index_uri, "chunks", hash_embedder, cfg=kit.INDEX_CFG)

    missing = plan_missing_texts(store, chunks)

    assert missing == _distinct_texts(chunks)
    assert len(missing) < len(chunks)  # the copied document adds no text
    assert store.chunks_table() is None  # planning created nothing

    kit.refresh_publish(store, corpus)
    assert plan_missing_texts(store, chunks) == []

    corpus["pricing/motor.md"] += "\n\nYoung drivers pay a 30 percent surcharge."
    edited, _ = kit.manifest(corpus)
    new = set(_distinct_texts(edited)) - set(_distinct_texts(chunks))
    assert new and set(plan_missing_texts(store, edited)) == new


def test_plan_starts_from_live_like_the_refresh(
    kit, corpus, hash_embedder, index_uri
) -> None:
    # Built with the cache off, so only the table knows which texts are embedded.
    uncached = IndexStore(index_uri, "chunks", hash_embedder, cache=False)
    kit.refresh_publish(uncached, corpus)
    corpus["concepts/excess.md"] = "# Excess\n\nAn excess is a fixed deductible."
    with_new, documents = kit.manifest(corpus)
    uncached.refresh(with_new, documents)  # a candidate that never goes live
    store = IndexStore(index_uri, "chunks", hash_embedder, cfg=kit.INDEX_CFG)

    missing = plan_missing_texts(store, with_new)

    # The refresh restores live first and so embeds the new document again; the
    # plan must say so, though the latest (unpublished) version already has it.
    new_doc = [c.text for c in with_new if c.doc_id == "concepts/excess.md"]
    assert missing == new_doc
    stats = store.refresh(with_new, documents)
    assert stats.restored_to_live and stats.chunks_embedded == len(new_doc)


def test_no_fanout_when_the_refresh_would_not_read_the_cache(
    kit, corpus, hash_embedder, index_uri
) -> None:
    chunks, _ = kit.manifest(corpus)
    no_cache = IndexStore(index_uri, "chunks", hash_embedder, cache=False)
    rebuild = IndexStore(index_uri, "chunks", hash_embedder, rebuild=True)
    assert plan_missing_texts(no_cache, chunks) == []
    assert plan_missing_texts(rebuild, chunks) == []


def test_written_vectors_are_what_the_refresh_uses(
    kit, corpus, hash_embedder, index_uri
) -> None:
    chunks, documents = kit.manifest(corpus)
    store = IndexStore(index_uri, "chunks", hash_embedder, cfg=kit.INDEX_CFG)
    job = plan_job(store, chunks, EmbeddingConfig())
    # Vectors as a worker would return them (another instance, same model).
    vectors = kit.HashEmbedder().embed(job.texts)

    assert write_vectors(open_cache(job), job.texts, vectors) == job.text_count
    assert plan_missing_texts(store, chunks) == []
    stats = store.refresh(chunks, documents)

    assert stats.chunks_embedded == 0 and store.embedder.texts == 0
    assert stats.cache_hits == job.text_count
    stored = kit.rows_of(store.candidate())
    by_hash = dict(zip(map(text_hash, job.texts), vectors, strict=True))
    for row in stored.values():
        np.testing.assert_allclose(row["vector"], by_hash[row["content_hash"]])


def test_write_vectors_refuses_vectors_that_do_not_fit(
    kit, hash_embedder, index_uri
) -> None:
    store = IndexStore(index_uri, "chunks", hash_embedder)
    cache = open_cache(plan_job(store, [], EmbeddingConfig()))
    with pytest.raises(ConfigError, match="16-d"):
        write_vectors(cache, ["a", "b"], np.zeros((2, 8), np.float32))
    with pytest.raises(ConfigError, match="NaN"):
        write_vectors(cache, ["a"], np.full((1, 16), np.nan, np.float32))
    assert cache.count() == 0


def test_worker_refuses_a_config_for_another_embedder(embedder) -> None:
    with pytest.raises(ConfigError, match="hash-test-16"):
        embed_texts(EmbeddingConfig(), ["a text"], "hash-test-16", 16)
    vectors = embed_texts(EmbeddingConfig(), ["a text"], embedder.name, embedder.dim)
    np.testing.assert_allclose(vectors, embedder.embed(["a text"]), atol=1e-6)


@pytest.mark.parametrize(
    ("missing", "threshold", "fans_out"),
    [(3, 2, True), (2, 2, False), (0, 0, False), (1, 0, True)],
)
def test_fan_out_only_past_the_threshold(missing, threshold, fans_out) -> None:
    job = EmbeddingJob(
        uri="mem",
        embedder="e",
        dim=4,
        embedding=EmbeddingConfig(),
        texts=["t"] * missing,
    )
    assert should_fan_out(job, IndexConfig(fanout_min_chunks=threshold)) is fans_out


def test_job_parameters_stay_small_in_prefect() -> None:
    from ragtune.flows.embed_fanout import embed_fanout

    texts = [f"text {i} " * 60 for i in range(3000)]  # ~1.6 MB of text
    job = EmbeddingJob(
        uri="s3://b/idx", embedder="e", dim=4, embedding=EmbeddingConfig(), texts=texts
    )
    stored = embed_fanout.serialize_parameters({"job": job, "batch": 256})
    assert stored["job"]["text_count"] == 3000
    assert "texts" not in stored["job"] and len(str(stored)) < 2000
    assert job.batches(256)[-1] == texts[2816:] and len(job.batches(256)) == 12


# -- a real Dask fan-out -----------------------------------------------------------


@pytest.mark.slow
def test_fanned_out_refresh_equals_single_process(
    kit, embedder, tmp_path, prefect_harness
) -> None:
    from prefect import flow

    from ragtune.flows.embed_fanout import fan_out_embeddings
    from ragtune.flows.knowledge_refresh import embedded
    from ragtune.tasks.index.publish import open_live

    corpus = _generated_corpus()
    chunks, _ = kit.manifest(corpus)
    distinct = len(_distinct_texts(chunks))
    assert 50 <= len(chunks) <= 80
    index = kit.INDEX_CFG.model_copy(
        update={"fanout_min_chunks": 10, "fanout_batch": 16, "dask_workers": 2}
    )
    settings = Settings(root=tmp_path, index=index, embedding=EmbeddingConfig())

    single = IndexStore(str(tmp_path / "single"), "chunks", embedder, cfg=index)
    single_stats, _ = kit.refresh_publish(single, corpus)
    assert single_stats.chunks_embedded == distinct

    store = IndexStore(str(tmp_path / "fanout"), "chunks", embedder, cfg=index)

    @flow(name="fanout-test-parent")
    def parent():  # noqa: ANN202
        fan = fan_out_embeddings(store, chunks, settings)
        stats, _ = kit.refresh_publish(store, corpus)
        return fan, stats

    fan, stats = parent()

    assert fan is not None, "the fan-out did not run or failed"
    assert (fan.texts, fan.cached) == (distinct, distinct)
    assert fan.batches == math.ceil(distinct / 16)
    assert stats.chunks_embedded == 0 and store.embedder.texts == 0
    assert stats.cache_hits == distinct
    # the run's summary counts what the fan-out embedded as embedded by this run
    assert embedded(stats, fan) == (distinct, 0)
    assert embedded(single_stats, None) == (distinct, single_stats.cache_hits)
    kit.assert_same_rows(
        kit.rows_of(open_live(store.uri, "chunks")),
        kit.rows_of(open_live(single.uri, "chunks")),
    )


@pytest.mark.slow
def test_failed_fanout_leaves_the_refresh_to_embed(
    kit, corpus, hash_embedder, tmp_path, prefect_harness
) -> None:
    from prefect import flow

    from ragtune.flows.embed_fanout import fan_out_embeddings

    chunks, documents = kit.manifest(corpus)
    distinct = len(_distinct_texts(chunks))
    index = kit.INDEX_CFG.model_copy(update={"fanout_min_chunks": 1, "fanout_batch": 4})
    # Workers build MiniLM, but the index uses the hash embedder: every batch is
    # refused (a config error, not retried) and nothing wrong reaches the cache.
    settings = Settings(root=tmp_path, index=index, embedding=EmbeddingConfig())
    store = IndexStore(str(tmp_path / "idx"), "chunks", hash_embedder, cfg=index)

    @flow(name="fanout-failure-parent")
    def parent():  # noqa: ANN202
        # Thread workers: this test is about the failure path, not processes.
        fan = fan_out_embeddings(store, chunks, settings, processes=False)
        return fan, store.refresh(chunks, documents)

    fan, stats = parent()

    assert fan is None
    assert stats.chunks_embedded == distinct and stats.cache_hits == 0
    expected = dict(
        zip(
            _distinct_texts(chunks),
            kit.HashEmbedder().embed(_distinct_texts(chunks)),
            strict=True,
        )
    )
    for row in kit.rows_of(store.candidate()).values():
        np.testing.assert_allclose(row["vector"], expected[row["text"]], atol=1e-6)
