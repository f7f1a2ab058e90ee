"""What a refresh starts from: the tables opened, created or rebuilt, the embedder
checked, and both tables aligned with the live version.

Starting from live (rather than from whatever the latest version holds) is the
recovery rule: after a crash, a failed publish gate or a rollback, the latest
version is not what readers see, and restoring live first makes the next diff
report and redo exactly the changes that are not live yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lancedb.db import DBConnection
from lancedb.table import Table

from ragtune.errors import ConfigError
from ragtune.tasks.index import tables as tb
from ragtune.tasks.index.ledger import LiveResolver, LiveState, resolve_live

log = logging.getLogger(__name__)


@dataclass
class Baseline:
    """The tables a refresh writes to and the state it started from."""

    chunks: Table
    documents: Table
    version_before: int  # latest chunk version before this refresh (0: none)
    live: LiveState | None
    restored: bool  # the tables were moved back to live first
    created: bool  # the chunk table was created or rebuilt by this refresh


def check_embedder(db: DBConnection, name: str, info: tb.EmbedderInfo) -> None:
    """Refuse to add vectors of one model to an index built with another.

    Compares with the live version when there is one, since that is what a refresh
    builds on (a rebuild that never went live does not count).

    Raises:
        ConfigError: the embedders differ; the message says how to rebuild.
    """
    chunks = tb.open_table(db, name)
    if chunks is None:
        return
    live = resolve_live(db, name, chunks)
    if live is not None:
        chunks.checkout(live.version)
    stored = tb.embedder_info(chunks.schema)
    if stored != info:
        was = f"{stored.name} (dim {stored.dim})" if stored else "an unknown embedder"
        raise ConfigError(
            f"index {name} holds vectors from {was}, but this run uses {info.name} "
            f"(dim {info.dim}); vectors of two models cannot be mixed. Run a full "
            "rebuild explicitly (IndexStore(..., rebuild=True), or "
            "`ragtune refresh --rebuild`)."
        )


def prepare(
    db: DBConnection,
    name: str,
    info: tb.EmbedderInfo,
    *,
    rebuild: bool,
    resolver: LiveResolver | None = None,
) -> Baseline:
    """Open (or create, or rebuild) both tables, aligned with the live version.

    A rebuild overwrites the tables with empty new versions (new schema, new
    embedder metadata); LanceDB keeps the old versions and their tags, so readers
    stay on the old live version until the rebuilt one is published.
    ``resolver``: the store's, so live state read while planning is not read again.
    """
    chunks = tb.open_table(db, name)
    docs = tb.open_table(db, tb.documents_table_name(name))
    before = 0 if chunks is None else chunks.version
    resolver = resolver or LiveResolver(db, name)
    live = None if chunks is None else resolver.state(chunks)
    created = rebuild or chunks is None
    if created:
        schema = tb.indexed_schema(info)
        chunks = db.create_table(name, schema=schema, mode="overwrite")
    if created or docs is None:
        docs = db.create_table(
            tb.documents_table_name(name), schema=tb.DOCUMENTS_SCHEMA, mode="overwrite"
        )
    restored = not created and _align(chunks, docs, live)
    if not created:
        tb.add_missing_columns(chunks)
    return Baseline(chunks, docs, before, live, restored, created)


def _align(chunks: Table, docs: Table, live: LiveState | None) -> bool:
    """Restore both tables to the live versions if either moved past them."""
    if live is None:
        return False
    restored = False
    if chunks.version != live.version:
        log.warning(
            "index %s: latest version %d is not live (%d); restoring live first",
            chunks.name,
            chunks.version,
            live.version,
        )
        chunks.restore(live.version)
        restored = True
    if live.documents_version is not None and docs.version != live.documents_version:
        docs.restore(live.documents_version)
        restored = True
    return restored
