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

from ragtune.tasks.index.tables import ledger_table_name, open_table

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


def resolve_live(db: DBConnection, table: str, chunks: Table) -> LiveState | None:
    """Live state from the ``live`` tag plus the newest ledger row for its version.

    None before the first publish. ``documents_version`` is None only when the
    ledger lost its row (then the documents table is used as it is).
    """
    version = live_version(chunks)
    if version is None:
        return None
    entry = entry_for_version(read_entries(db, table), version)
    if entry is None:
        log.warning("index %s: live version %d has no ledger row", table, version)
    docs = None if entry is None else entry.documents_version
    return LiveState(version=version, documents_version=docs, entry=entry)


def now_utc() -> datetime:
    return datetime.now(UTC)
