"""Publish checks on a candidate index version.

Each check is a ``GateResult`` whose ``subject`` is the version it ran on, so
``publish`` can refuse results computed on a different version than the one it
would make live. A ``fail`` blocks the publish, a ``warn`` is logged.
"""

from __future__ import annotations

import logging
import random

from lancedb.table import Table

from ragtune.gates import GateResult
from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.embed_cache import checked_embed, in_filter

log = logging.getLogger(__name__)


def row_count_check(table: Table, expected: int) -> GateResult:
    """The candidate holds exactly the chunks the manifest has.

    Catches lost deletes, duplicate upserts and half-applied refreshes.
    """
    rows = table.count_rows()
    passed = rows == expected
    reason = f"{rows} rows, manifest has {expected} chunks"
    return GateResult.judged(
        "row_count",
        passed,
        reason if passed else f"row count mismatch: {reason}",
        measured={"rows": rows, "expected": expected},
        subject=table.version,
    )


def self_retrieval_check(
    table: Table,
    embedder: Embedder,
    *,
    sample: int,
    top_k: int,
    seed: int,
    refine_factor: int = 1,
) -> GateResult:
    """A seeded sample of chunks, re-embedded from their text, must find themselves.

    Re-embedding (rather than querying with the stored vector) also catches vectors
    that do not belong to their text or to this embedder. A hit with the same text
    (the same passage in two documents) counts as finding itself. Once the table
    has an IVF_PQ index, ``refine_factor`` re-scores candidates on full vectors,
    as search does, so the check measures the index readers will use.
    """
    dataset = table.to_lance()
    ids = sorted(dataset.to_table(columns=["chunk_id"])["chunk_id"].to_pylist())
    picked = random.Random(seed).sample(ids, min(sample, len(ids)))
    if not picked:
        return GateResult(
            "self_retrieval", "pass", "nothing to sample", {}, table.version
        )
    rows = dataset.to_table(
        columns=["chunk_id", "text", "content_hash"],
        filter=in_filter("chunk_id", picked),
    ).to_pylist()
    vectors = checked_embed(embedder, [r["text"] for r in rows])
    misses = [
        row["chunk_id"]
        for row, vector in zip(rows, vectors, strict=True)
        if not _finds(table, vector, row, top_k, refine_factor)
    ]
    found = len(rows) - len(misses)
    reason = f"{found}/{len(rows)} sampled chunks in their own top {top_k}"
    if misses:
        reason += f"; missed: {', '.join(misses[:5])}"
    return GateResult.judged(
        "self_retrieval",
        not misses,
        reason,
        measured={"sampled": len(rows), "found": found, "top_k": top_k},
        subject=table.version,
    )


def _finds(table: Table, vector, row: dict, top_k: int, refine: int) -> bool:  # noqa: ANN001
    hits = (
        table.search(vector.tolist())
        .distance_type("cosine")
        .limit(top_k)
        .refine_factor(refine)
        .select(["chunk_id", "content_hash", "_distance"])
        .to_arrow()
    )
    return (
        row["chunk_id"] in hits["chunk_id"].to_pylist()
        or row["content_hash"] in hits["content_hash"].to_pylist()
    )


def standard_checks(
    table: Table, embedder: Embedder, expected_rows: int, cfg: IndexConfig, seed: int
) -> list[GateResult]:
    """Row count and self-retrieval with the configured sample and top-k."""
    return [
        row_count_check(table, expected_rows),
        self_retrieval_check(
            table,
            embedder,
            sample=cfg.smoke_sample,
            top_k=cfg.smoke_top_k,
            seed=seed,
            refine_factor=cfg.vector_refine_factor,
        ),
    ]
