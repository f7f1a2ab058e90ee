"""Physical upkeep of the chunk table, done inside a refresh, before publishing.

Compaction and index updates each write a table version. Doing them here, after a
refresh's merge and before its checks, means nothing writes a version behind the
back of the publish gate (a version written outside a refresh would never be live).

Index updates wait until ``index_lag_rows`` rows are unindexed. Lance searches
unindexed rows by brute force and never returns a replaced row's old text, so the
lag changes no result; it saves a small refresh the 10-30 ms per index an update
costs, which on a 1% change is most of the refresh's own work.
"""

from __future__ import annotations

import logging

from lancedb.index import Bitmap, BTree
from lancedb.table import Table

from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.search_indexes import ensure_search_indexes

log = logging.getLogger(__name__)

KEY_COLUMN = "chunk_id"
KEY_INDEX_NAME = "chunk_id_idx"
# The columns every search prefilters on (class, date in force): without an
# index Lance scans them for each query, which grows with the table.
FILTER_INDEXES: dict[str, type[BTree] | type[Bitmap]] = {
    "category": Bitmap,  # a handful of classes: one bitmap each
    "effective_date": BTree,
    "valid_until": BTree,
}


def maintain(table: Table, cfg: IndexConfig) -> list[str]:
    """Compact when fragmented, then bring every index up to date.

    Args:
        table: The chunk table at its latest version.
        cfg: Compaction threshold and search-index settings.

    Returns:
        One line per action taken (empty when the table needed nothing).
    """
    actions = compact_if_fragmented(table, cfg.compact_min_fragments)
    actions += ensure_key_index(table, cfg.index_lag_rows)
    actions += ensure_filter_indexes(table, cfg.index_lag_rows)
    actions += ensure_search_indexes(table, cfg)
    return actions


def compact_if_fragmented(table: Table, min_fragments: int) -> list[str]:
    """Merge small fragments once there are ``min_fragments`` of them.

    Every merge-insert adds a fragment; compacting each time would rewrite the
    whole table per refresh, so it waits for a threshold.
    """
    fragments = len(table.to_lance().get_fragments())
    if fragments < min_fragments:
        return []
    metrics = table.to_lance().optimize.compact_files()
    table.checkout_latest()
    return [
        f"compacted {metrics.fragments_removed} fragments "
        f"into {metrics.fragments_added}"
    ]


def ensure_key_index(table: Table, lag_rows: int = 0) -> list[str]:
    """A BTREE index on ``chunk_id`` so merge-insert joins stay fast as rows grow.

    Created once; once more than ``lag_rows`` rows were written since, they are
    folded in with ``optimize_indices`` (incremental, no rebuild).
    """
    indices = {ix.name: ix for ix in table.list_indices()}
    current = next(
        (ix for ix in indices.values() if list(ix.columns) == [KEY_COLUMN]), None
    )
    if current is None:
        table.create_index(KEY_COLUMN, config=BTree(), name=KEY_INDEX_NAME)
        return [f"created key index {KEY_INDEX_NAME}"]
    pending = table.index_stats(current.name).num_unindexed_rows
    if pending <= lag_rows:
        return []
    table.to_lance().optimize.optimize_indices(index_names=[current.name])
    table.checkout_latest()
    return [f"updated key index {current.name} (+{pending} rows)"]


def ensure_filter_indexes(table: Table, lag_rows: int = 0) -> list[str]:
    """Scalar indexes on the prefilter columns (``FILTER_INDEXES``) the table has.

    A prefilter is evaluated before ranking on every search; with these indexes
    Lance answers it from the index instead of reading the columns of every row.
    Rows written since an index was built are scanned meanwhile, so results never
    depend on the lag; once more than ``lag_rows`` are, the indexes are updated.
    """
    names = set(table.schema.names)
    indices = {tuple(ix.columns): ix for ix in table.list_indices()}
    actions, stale = [], []
    for column, kind in FILTER_INDEXES.items():
        if column not in names:  # a table from before the validity columns
            continue
        current = indices.get((column,))
        if current is None:
            table.create_index(column, config=kind(), name=f"{column}_idx")
            actions.append(f"created filter index {column}_idx")
            continue
        pending = table.index_stats(current.name).num_unindexed_rows
        if pending > lag_rows:
            stale.append(current.name)
            actions.append(f"updated filter index {current.name} (+{pending} rows)")
    if stale:
        table.to_lance().optimize.optimize_indices(index_names=stale)
        table.checkout_latest()
    return actions
