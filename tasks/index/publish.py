"""Atomic publish, rollback and cleanup of index versions.

Readers only ever read the version the ``live`` tag names (``open_live``). A
refresh writes new versions freely; ``publish`` moves ``live`` to the latest one
only when every error-severity check passed on exactly that version, so a failed
gate, a crash or an abandoned run leaves readers where they were. The next refresh
starts from the live versions again (see ``store.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from lancedb.table import Table

from ragtune.errors import GateFailed, InputError
from ragtune.gates import GateResult
from ragtune.tasks.index import ledger as lg
from ragtune.tasks.index import tables as tb
from ragtune.tasks.index.checks import (
    row_count_check,
    self_retrieval_check,
    standard_checks,
)
from ragtune.tasks.index.embed_cache import CACHE_PREFIX
from ragtune.tasks.index.maintenance import compact_if_fragmented
from ragtune.tasks.index.store import IndexStore

log = logging.getLogger(__name__)

__all__ = [
    "PublishedTag",
    "cleanup",
    "list_tags",
    "open_live",
    "publish",
    "rollback",
    "row_count_check",
    "self_retrieval_check",
    "standard_checks",
]


@dataclass(frozen=True)
class PublishedTag:
    """A published index version readers can be pointed at."""

    tag: str
    version: int
    created_at: datetime
    data_hash: str
    metrics: dict[str, Any]
    documents_version: int
    live: bool = False

    def to_json(self) -> dict[str, Any]:
        """What ``index tags`` and ``index rollback`` print for a tag."""
        return {
            "tag": self.tag,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "data_hash": self.data_hash,
            "metrics": self.metrics,
            "live": self.live,
        }


def open_live(uri: str, table: str) -> Table | None:
    """The chunk table checked out at the live version; None before any publish."""
    chunks = tb.open_table(tb.connect(uri), table)
    if chunks is None or lg.live_version(chunks) is None:
        return None
    chunks.checkout(lg.LIVE_TAG)
    return chunks


def publish(
    store: IndexStore,
    checks: Sequence[GateResult],
    metrics: dict[str, Any],
    data_hash: str,
) -> PublishedTag:
    """Make the store's latest version live if every error check passed on it.

    Idempotent: publishing what is already live returns the live tag unchanged.

    Raises:
        GateFailed: an error-severity check failed; live is unchanged.
        InputError: no checks, checks from another version, or nothing to publish.
    """
    chunks, docs = store.chunks_table(), store.documents_table()
    if chunks is None or docs is None:
        raise InputError(f"index {store.name} has no versions yet: refresh it first")
    candidate, docs_version = chunks.version, docs.version
    live = lg.resolve_live(store.db, store.name, chunks)
    _gate(store.name, checks, candidate, live)
    if (
        live
        and live.entry
        and (live.version, live.documents_version)
        == (
            candidate,
            docs_version,
        )
    ):
        log.info("index %s version %d is already live", store.name, candidate)
        return _as_tag(live.entry, live=True)
    now = lg.now_utc()
    tag = lg.new_tag_name(set(chunks.tags.list()) | set(docs.tags.list()), now)
    chunks.tags.create(tag, candidate)  # immutable: survives cleanup for rollback
    docs.tags.create(tag, docs_version)
    entry = lg.LedgerEntry(
        action="publish",
        tag=tag,
        version=candidate,
        documents_version=docs_version,
        created_at=now,
        data_hash=data_hash,
        metrics={**metrics, "checks": _check_summary(checks)},
        embedder=store.info.name,
    )
    lg.append_entry(store.db, store.name, entry)
    lg.move_live(chunks, candidate)
    store.published(lg.LiveState(candidate, docs_version, lg.as_stored(entry)))
    log.info("index %s published version %d as %s", store.name, candidate, tag)
    return _as_tag(entry, live=True)


def _gate(
    name: str, checks: Sequence[GateResult], candidate: int, live: lg.LiveState | None
) -> None:
    if not checks:
        raise InputError("publish needs at least one check (e.g. row_count_check)")
    stale = [c.name for c in checks if c.subject != candidate]
    if stale:
        raise InputError(
            f"checks {', '.join(stale)} ran on another version than the candidate "
            f"{candidate}; run them on store.candidate()"
        )
    for check in checks:
        if check.status == "warn":
            log.warning("index %s check %s: %s", name, check.name, check.reason)
    failed = [c for c in checks if c.blocks]
    if failed:
        where = "nothing is live yet" if live is None else f"live stays {live.version}"
        reasons = "; ".join(f"{c.name}: {c.reason}" for c in failed)
        raise GateFailed(
            f"index {name} version {candidate} not published ({where}): {reasons}"
        )


def list_tags(uri: str, table: str) -> list[PublishedTag]:
    """Every published version still tagged, oldest first; ``live`` marks one."""
    db = tb.connect(uri)
    chunks = tb.open_table(db, table)
    if chunks is None:
        return []
    live = lg.resolve_live(db, table, chunks)
    live_tag = live.entry.tag if live and live.entry else None
    existing = set(chunks.tags.list())
    return [
        _as_tag(e, live=e.tag == live_tag)
        for e in lg.read_entries(db, table)
        if e.action == "publish" and e.tag in existing
    ]


def live_tag(uri: str, table: str) -> PublishedTag | None:
    """The published version readers see now; None before any publish."""
    return next((t for t in list_tags(uri, table) if t.live), None)


def rollback(uri: str, table: str, tag: str) -> PublishedTag:
    """Point ``live`` back at a published tag's version, and record it.

    The next refresh starts from this version; if the documents still hold what
    was rolled back, that refresh reintroduces it, so revert the data as well.

    Raises:
        InputError: the tag is unknown (the message lists the known ones).
    """
    db = tb.connect(uri)
    chunks = tb.open_table(db, table)
    entries = lg.read_entries(db, table)
    target = next(
        (e for e in reversed(entries) if e.tag == tag and e.action == "publish"), None
    )
    if chunks is None or target is None or tag not in chunks.tags.list():
        known = ", ".join(t.tag for t in list_tags(uri, table)) or "none"
        raise InputError(f"index {table}: no published tag {tag!r} (known: {known})")
    live = lg.resolve_live(db, table, chunks)
    if live and live.entry and live.entry.tag == tag:
        return _as_tag(live.entry, live=True)
    entry = replace(target, action="rollback", created_at=lg.now_utc())
    lg.append_entry(db, table, entry)
    lg.move_live(chunks, target.version)
    log.info("index %s rolled back to %s (version %d)", table, tag, target.version)
    return _as_tag(target, live=True)


@dataclass(frozen=True)
class CleanupReport:
    """Versions and bytes freed per table."""

    versions_removed: dict[str, int]
    bytes_removed: int


def cleanup(uri: str, table: str, retention_days: int) -> CleanupReport:
    """Remove untagged versions older than ``retention_days``; never a tagged one.

    The chunk table is compacted by refreshes (a compaction here would write a
    version that is not live); the ledger and embedding caches are compacted here.
    """
    db = tb.connect(uri)
    older_than = timedelta(days=retention_days)
    side = [tb.ledger_table_name(table), *_cache_tables(db)]
    removed: dict[str, int] = {}
    freed = 0
    for name in [table, tb.documents_table_name(table), *side]:
        handle = tb.open_table(db, name)
        if handle is None:
            continue
        if name in side:  # unpublished tables: compacting them here is safe
            compact_if_fragmented(handle, 2)
            handle.to_lance().optimize.optimize_indices()
        stats = handle.to_lance().cleanup_old_versions(
            older_than=older_than, error_if_tagged_old_versions=False
        )
        removed[name] = stats.old_versions
        freed += stats.bytes_removed
    log.info("index %s cleanup: %s, %d bytes", table, removed, freed)
    return CleanupReport(versions_removed=removed, bytes_removed=freed)


def _cache_tables(db) -> list[str]:  # noqa: ANN001 - lancedb connection
    names: list[str] = []
    token = None
    while True:
        page = db.list_tables(page_token=token)
        names += [n for n in page.tables if n.startswith(CACHE_PREFIX)]
        token = page.page_token
        if not token:
            return names


def _check_summary(checks: Sequence[GateResult]) -> dict[str, Any]:
    return {
        c.name: {"passed": c.met, "status": c.status, "reason": c.reason, **c.measured}
        for c in checks
    }


def _as_tag(entry: lg.LedgerEntry, *, live: bool) -> PublishedTag:
    return PublishedTag(
        tag=entry.tag,
        version=entry.version,
        created_at=entry.created_at,
        data_hash=entry.data_hash,
        metrics=entry.metrics,
        documents_version=entry.documents_version,
        live=live,
    )
