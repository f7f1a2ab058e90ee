"""The search indexes on the ``chunks`` table: a native full-text (BM25) index on
``text`` and, once the table is large enough, an IVF_PQ vector index (cosine).

How new rows stay searchable: LanceDB records, per index, how many rows of the
current version it has not indexed yet (``num_unindexed_rows``). Rows added or
rewritten since an index was built (a ``merge_insert`` update writes new rows) are
counted there. ``ensure_search_indexes`` folds them into the existing index with
Lance's ``optimize_indices`` (no retraining, no compaction, no version pruning), so
after it runs every row is served by the index. Until it runs, LanceDB still answers
by scanning the unindexed rows flat, so a query never misses a row; it is only slower.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from lancedb.index import FTS, IvfPq
from lancedb.table import Table

from ragtune.errors import InputError
from ragtune.tasks.index.config import IndexConfig

log = logging.getLogger(__name__)

TEXT_COLUMN = "text"
VECTOR_COLUMN = "vector"
FTS_INDEX_NAME = "text_idx"
VECTOR_INDEX_NAME = "vector_idx"
DISTANCE = "cosine"
# k-means needs enough vectors per partition; Lance trains fewer partitions than
# asked (with a warning) below about 256 vectors each.
MIN_ROWS_PER_PARTITION = 256


@dataclass(frozen=True)
class VectorIndexPlan:
    """IVF_PQ parameters chosen for a table of a given size and dimension.

    IVF_PQ rather than HNSW: ragtune searches always carry a prefilter (class,
    date in force), and LanceDB's index guide recommends IVF_PQ/IVF_RQ for
    filtered workloads because HNSW-backed indexes show high latency variance there.
    PQ's loss is won back at query time by re-scoring on full vectors
    (``IndexConfig.vector_refine_factor``).
    """

    num_partitions: int
    num_sub_vectors: int

    def config(self) -> IvfPq:
        """The LanceDB index configuration for this plan."""
        return IvfPq(
            distance_type=DISTANCE,
            num_partitions=self.num_partitions,
            num_sub_vectors=self.num_sub_vectors,
        )

    def describe(self) -> str:
        return (
            f"IVF_PQ {DISTANCE}, partitions={self.num_partitions}, "
            f"sub_vectors={self.num_sub_vectors}"
        )


def plan_vector_index(rows: int, dim: int) -> VectorIndexPlan:
    """Pick IVF_PQ parameters from the row count and vector dimension.

    Partitions follow LanceDB's default of sqrt(rows), capped so each partition
    keeps at least ``MIN_ROWS_PER_PARTITION`` training vectors. Sub-vectors follow
    LanceDB's rule: dim/16 when it divides evenly, else dim/8 (both SIMD friendly),
    else 1.

    Args:
        rows: Rows in the table now.
        dim: Embedding dimension.

    Returns:
        The plan; raises InputError for non-positive sizes.
    """
    if rows < 1 or dim < 1:
        raise InputError(f"cannot plan a vector index for {rows} rows of dim {dim}")
    partitions = max(1, min(round(math.sqrt(rows)), rows // MIN_ROWS_PER_PARTITION))
    if dim % 16 == 0:
        sub_vectors = dim // 16
    elif dim % 8 == 0:
        sub_vectors = dim // 8
    else:
        sub_vectors = 1
    return VectorIndexPlan(num_partitions=partitions, num_sub_vectors=sub_vectors)


def ensure_search_indexes(table: Table, cfg: IndexConfig) -> list[str]:
    """Create the search indexes, and catch them up once they lag too far.

    Idempotent: a second call with no row changes in between does nothing and
    returns an empty list. An existing index is updated only once more than
    ``cfg.index_lag_rows`` rows are unindexed (searches scan those meanwhile).
    The vector index is created only once ``count_rows() >=
    cfg.vector_index_min_rows``; below that, flat (exact) search is both exact
    and fast enough. An existing vector index trained with another
    distance than cosine is replaced, since queries must use the training metric.

    Args:
        table: The ``chunks`` table at its latest version (indexes are written).
        cfg: Index settings (threshold for the ANN index).

    Returns:
        One line per action taken, e.g. ``"created fts index text_idx"``,
        ``"updated vector index vector_idx (+12 rows)"``.
    """
    _require_latest(table)
    existing = {ix.name: ix for ix in table.list_indices()}
    actions: list[str] = []
    stale: list[str] = []
    fts = _index_on(existing, TEXT_COLUMN, fts=True)
    if fts is None:
        table.create_index(TEXT_COLUMN, config=FTS(), name=FTS_INDEX_NAME)
        actions.append(f"created fts index {FTS_INDEX_NAME}")
    elif fts.num_unindexed_rows > cfg.index_lag_rows:
        stale.append(fts.name)
        actions.append(f"updated fts index {fts.name} (+{fts.num_unindexed_rows} rows)")
    actions += _ensure_vector(table, cfg, existing, stale)
    if stale:
        table.to_lance().optimize.optimize_indices(index_names=stale)
        table.checkout_latest()  # the handle must see the version Lance just wrote
    for line in actions:
        log.info("search index: %s", line)
    return actions


def _ensure_vector(
    table: Table, cfg: IndexConfig, existing: dict, stale: list[str]
) -> list[str]:
    """Create, replace or mark for update the vector index; returns actions."""
    rows = table.count_rows()
    current = _index_on(existing, VECTOR_COLUMN, fts=False)
    if current is None and rows < cfg.vector_index_min_rows:
        return []
    replaced = ""
    if current is not None:
        distance = table.index_stats(current.name).distance_type
        if distance != DISTANCE:
            table.drop_index(current.name)
            replaced = f" replacing {current.name} ({distance})"
        elif current.num_unindexed_rows <= cfg.index_lag_rows:
            return []
        else:
            stale.append(current.name)
            n = current.num_unindexed_rows
            return [f"updated vector index {current.name} (+{n} rows)"]
    plan = plan_vector_index(rows, _vector_dim(table))
    table.create_index(VECTOR_COLUMN, config=plan.config(), name=VECTOR_INDEX_NAME)
    return [f"created vector index {VECTOR_INDEX_NAME} ({plan.describe()}){replaced}"]


def _index_on(existing: dict, column: str, *, fts: bool):  # noqa: ANN202
    """The index on ``column`` (full-text or vector), whatever its name."""
    for ix in existing.values():
        if list(ix.columns) == [column] and (ix.index_type == "FTS") == fts:
            return ix
    return None


def _vector_dim(table: Table) -> int:
    return table.schema.field(VECTOR_COLUMN).type.list_size


def _require_latest(table: Table) -> None:
    """Indexes are written to the newest version; a checked-out old version is
    read-only, and indexing it would silently index a different version."""
    latest = max(v["version"] for v in table.list_versions())
    if table.version != latest:
        raise InputError(
            f"table {table.name} is checked out at version {table.version}, "
            f"latest is {latest}: search indexes are only built on the latest"
        )
