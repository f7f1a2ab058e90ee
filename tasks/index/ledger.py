"""Which chunk-table version readers see, and the record of how it got there.

The pointer is the LanceDB tag ``live`` on the chunk table. It is the single
source of truth: moving it (``tags.update``) is one atomic write, and LanceDB
never cleans up a tagged version. Each publish also leaves an immutable tag
``live-<UTC timestamp>`` on the chunk and documents tables, so a rollback target
and the document state that goes with it survive cleanup.

Tags carry no metadata, so the ``<table>__publishes`` table keeps one row per
publish or rollback: tag, versions, time, data hash, metrics. A row is appended
*before* ``live`` moves, so a live version always has its row; a crash in between
leaves an extra row for a version that never went live, which readers ignore.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from lancedb.db import DBConnection
from lancedb.table import Table

from ragtune.tasks.index.tables import ledger_table_name, open_table, read_documents

log = logging.getLogger(__name__)

LIVE_TAG = "live"
TAG_PREFIX = "live-"

LEDGER_SCHEMA = pa.schema(
    [
        pa.field("action", pa.string(), nullable=False),  # "publish" | "rollback"
        pa.field("tag", pa.string(), nullable=False),
        pa.field("version", pa.int64(), nullable=False),
        pa.field("documents_version", pa.int64(), nullable=False),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("data_hash", pa.string(), nullable=False),
        pa.field("metrics", pa.string(), nullable=False),  # JSON object
        pa.field("embedder", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class LedgerEntry:
    """One publish or rollback, as recorded."""

    action: str
    tag: str
    version: int
    documents_version: int
    created_at: datetime
    data_hash: str
    metrics: dict[str, Any]
    embedder: str


def live_version(chunks: Table) -> int | None:
    """The version the ``live`` tag names, or None before the first publish."""
    tag = chunks.tags.list().get(LIVE_TAG)
    return None if tag is None else int(tag["version"])


def move_live(chunks: Table, version: int) -> None:
    """Point ``live`` at ``version``: the commit point of a publish or rollback."""
    if LIVE_TAG in chunks.tags.list():
        chunks.tags.update(LIVE_TAG, version)
    else:
        chunks.tags.create(LIVE_TAG, version)


def new_tag_name(existing: set[str], now: datetime) -> str:
    """``live-20250101T120000Z``; a suffix keeps two publishes in one second apart."""
    base = f"{TAG_PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    name, n = base, 1
    while name in existing:
        n += 1
        name = f"{base}-{n}"
    return name


def read_entries(db: DBConnection, table: str) -> list[LedgerEntry]:
    """Every ledger row, oldest first."""
    ledger = open_table(db, ledger_table_name(table))
    if ledger is None:
        return []
    rows = ledger.to_arrow().sort_by("created_at").to_pylist()
    return [
        LedgerEntry(**{**row, "metrics": json.loads(row["metrics"] or "{}")})
        for row in rows
    ]


def append_entry(db: DBConnection, table: str, entry: LedgerEntry) -> None:
    """Add one row to the ledger (one atomic LanceDB commit)."""
    name = ledger_table_name(table)
    ledger = open_table(db, name)
    if ledger is None:
        ledger = db.create_table(name, schema=LEDGER_SCHEMA, exist_ok=True)
    row = {**entry.__dict__, "metrics": json.dumps(entry.metrics, default=str)}
    ledger.add(pa.Table.from_pylist([row], schema=LEDGER_SCHEMA))


def as_stored(entry: LedgerEntry) -> LedgerEntry:
    """The entry as ``read_entries`` will give it back (metrics through JSON)."""
    metrics = json.loads(json.dumps(entry.metrics, default=str))
    return LedgerEntry(**{**entry.__dict__, "metrics": metrics})


def entry_for_version(entries: list[LedgerEntry], version: int) -> LedgerEntry | None:
    """The newest entry that put ``version`` live (its documents version is the
    document state that belongs with that chunk version)."""
    matches = [e for e in entries if e.version == version]
    return matches[-1] if matches else None


@dataclass(frozen=True)
class LiveState:
    """The chunk and documents versions readers see, and the entry that set them."""

    version: int
    documents_version: int | None
    entry: LedgerEntry | None


def resolve_live(
    db: DBConnection, table: str, chunks: Table, version: int | None = None
) -> LiveState | None:
    """Live state from the ``live`` tag plus the newest ledger row for its version.

    None before the first publish. ``documents_version`` is None only when the
    ledger lost its row (then the documents table is used as it is). ``version``:
    the live tag's version when the caller has already read it.
    """
    version = live_version(chunks) if version is None else version
    if version is None:
        return None
    entry = entry_for_version(read_entries(db, table), version)
    if entry is None:
        log.warning("index %s: live version %d has no ledger row", table, version)
    docs = None if entry is None else entry.documents_version
    return LiveState(version=version, documents_version=docs, entry=entry)


class LiveResolver:
    """Live state of one index, and its document hashes, read once per live move.

    A refresh needs both twice: the flow plans against the live document hashes,
    then the store diffs against them. Reading the ledger and the documents table
    again cost as much as the rest of a no-change refresh, so the answer is kept
    while neither the live tag nor the ledger has moved (every publish and rollback
    moves both; versions are immutable, so nothing else can change the answer).
    """

    def __init__(self, db: DBConnection, table: str) -> None:
        self.db, self.table = db, table
        self._ledger: Table | None = None  # reused: moving it to latest is cheaper
        self._key: tuple[int | None, int | None] | None = None
        self._live: LiveState | None = None
        self._documents: dict[str, str] | None = None

    def state(self, chunks: Table) -> LiveState | None:
        """``resolve_live``, answered from memory while the key stands."""
        key = (live_version(chunks), self._ledger_version())
        if key != self._key:
            version = key[0]
            live = None
            if version is not None:
                live = resolve_live(self.db, self.table, chunks, version)
            self._key, self._live, self._documents = key, live, None
        return self._live

    def moved(self, live: LiveState, documents: dict[str, str] | None) -> None:
        """Remember the live state a publish just set (and, when the publisher
        knows them, the document hashes of its documents version), so the next
        refresh in this process does not read back what was just written."""
        self._key = (live.version, self._ledger_version())
        self._live, self._documents = live, documents

    def _ledger_version(self) -> int | None:
        if self._ledger is None:
            self._ledger = open_table(self.db, ledger_table_name(self.table))
            return None if self._ledger is None else self._ledger.version
        self._ledger.checkout_latest()
        return self._ledger.version

    def documents(self, live: LiveState | None, docs: Table | None) -> dict[str, str]:
        """``doc_id -> hash`` at ``live``'s documents version ({} before any).

        ``docs`` is checked out at that version when it has to be read and is at
        another one (a handle already there stays writable).
        """
        if live is None or docs is None or live.documents_version is None:
            return {}
        if live is not self._live or self._documents is None:
            if docs.version != live.documents_version:
                docs.checkout(live.documents_version)
            hashes = read_documents(docs)
            if live is not self._live:
                return hashes
            self._documents = hashes
        return dict(self._documents)


def now_utc() -> datetime:
    return datetime.now(UTC)
