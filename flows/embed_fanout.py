"""embed-fanout: embed a large refresh's new texts on a Dask cluster.

Steps:
1. plan (parent flow, ``plan-embeddings``): the distinct texts the refresh would
   embed that the store's embedding cache does not hold yet;
2. if there are more than ``index.fanout_min_chunks``, this subflow runs with
   ``prefect_dask.DaskTaskRunner``: ``embed-batch`` tasks, mapped over batches of
   ``index.fanout_batch`` texts, run on the workers of a local
   ``distributed.LocalCluster`` (``index.dask_workers``) or of the cluster at
   ``index.dask_address``; each worker rebuilds the embedder from
   ``EmbeddingConfig``;
3. the subflow (in the parent process, the only writer) stores each batch's
   vectors in the embedding cache as it arrives, so a crash loses at most the
   batches in flight.
The refresh that follows finds every vector in the cache. If the fan-out fails,
the refresh embeds whatever is still missing itself: slower, never different.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed

from ragtune.app.settings import Settings
from ragtune.errors import ConfigError
from ragtune.flows._wiring import step
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.fanout import (
    EmbeddingJob,
    embed_texts,
    open_cache,
    plan_job,
    should_fan_out,
    write_vectors,
)
from ragtune.tasks.index.schema import Chunk
from ragtune.tasks.index.store import IndexStore


def _transient(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect hook
    """Retry a lost worker or an I/O hiccup, not a config error: it would only fail
    the same way again."""
    try:
        state.result()
    except ConfigError:
        return False
    except Exception:  # noqa: BLE001 - anything else may be transient
        return True
    return True


plan_task = step(plan_job, "plan-embeddings")
# A batch lost with its worker is simply embedded again.
embed_batch_task = task(
    name="embed-batch",
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=_transient,
    cache_policy=NO_CACHE,
)(embed_texts)


@dataclass(frozen=True)
class FanoutStats:
    """What the fan-out did."""

    texts: int  # distinct texts it was asked to embed
    batches: int
    cached: int  # vectors written to the embedding cache


def dask_task_runner(cfg: IndexConfig, **cluster_kwargs):  # noqa: ANN201 - optional dep
    """The Dask task runner params.yaml asks for.

    ``prefect-dask`` is imported here, not at module level, so flows that never
    fan out do not need it installed. ``cluster_kwargs`` override the local
    cluster's settings (e.g. ``processes=False`` where worker processes cannot
    start); they are ignored with ``dask_address``.
    """
    from prefect_dask import DaskTaskRunner

    if cfg.dask_address:
        return DaskTaskRunner(address=cfg.dask_address)
    local = {
        "n_workers": cfg.dask_workers,
        "threads_per_worker": 1,  # torch already uses every core it is given
        "dashboard_address": None,  # no fixed port to collide on
        **cluster_kwargs,
    }
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster", cluster_kwargs=local
    )


@flow(name="embed-fanout", log_prints=False)
def embed_fanout(job: EmbeddingJob, batch: int) -> FanoutStats:
    """Embed ``job.texts`` in mapped tasks and cache the vectors (see module doc)."""
    logger = get_run_logger()
    batches = job.batches(batch)
    futures = embed_batch_task.map(
        embedding=unmapped(job.embedding),
        texts=batches,
        embedder=unmapped(job.embedder),
        dim=unmapped(job.dim),
    )
    texts_of = {
        future.task_run_id: texts
        for future, texts in zip(futures, batches, strict=True)
    }
    cache = open_cache(job)
    cached, failed = 0, 0
    for future in as_completed(futures):
        future.wait()  # settles the final state from the Dask result, not the API
        if future.state.is_completed():
            cached += write_vectors(
                cache, texts_of[future.task_run_id], future.result()
            )
        else:  # keep caching the batches that did arrive
            failed += 1
    logger.info(
        "fanned out %d texts in %d batches; %d vectors cached, %d batches failed",
        job.text_count,
        len(batches),
        cached,
        failed,
    )
    if failed:
        raise RuntimeError(f"{failed} of {len(batches)} embedding batches failed")
    return FanoutStats(texts=job.text_count, batches=len(batches), cached=cached)


def fan_out_embeddings(
    store: IndexStore,
    chunks: Sequence[Chunk],
    settings: Settings,
    **cluster_kwargs,
) -> FanoutStats | None:
    """Called from a parent flow before the refresh: plan, and run the subflow
    when the refresh is large enough.

    Returns:
        The subflow's stats, or None when it did not run or failed (a failure is
        logged; the refresh then embeds what is missing itself).
    """
    logger = get_run_logger()
    job = plan_task(store, chunks, settings.embedding)
    if not should_fan_out(job, settings.index):
        logger.info(
            "%d texts to embed: at most %d, embedding in the refresh itself",
            job.text_count,
            settings.index.fanout_min_chunks,
        )
        return None
    runner = dask_task_runner(settings.index, **cluster_kwargs)
    state = embed_fanout.with_options(task_runner=runner)(
        job, settings.index.fanout_batch, return_state=True
    )
    if not state.is_completed():
        logger.warning(
            "embedding fan-out %s (%s); the refresh embeds the missing texts itself",
            state.name,
            state.message,
        )
        return None
    return state.result()
