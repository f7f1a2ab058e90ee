"""The LanceDB store as params.yaml configures it (``index`` and ``embedding``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ragtune.app.catalog import Catalog
from ragtune.app.settings import Settings
from ragtune.errors import InputError
from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.index.ledger import LedgerEntry, resolve_live
from ragtune.tasks.index.store import IndexStore
from ragtune.tasks.index.tables import connect, open_table


def open_store(
    settings: Settings, embedder: Embedder, *, rebuild: bool = False
) -> IndexStore:
    """The chunk store at the catalog's index location, with its embedding cache."""
    index = Catalog.from_settings(settings).index
    return IndexStore(
        index.uri,
        index.table,
        embedder,
        cfg=settings.index,
        rebuild=rebuild,
        cache=settings.embedding.cache,
    )


def check_refresh_request(
    settings: Settings,
    kb: str | Path | None,
    classes: list[str] | None,
    rebuild: bool,
    rev: str | None = None,
) -> None:
    """The checks that need no data, run before any refresh work (the CLI runs them
    before Prefect starts, the flow again for runs started elsewhere).

    Raises:
        InputError: an unknown class, a missing ``kb`` folder, a revision that
            names no commit, or a rebuild limited to some classes.
    """
    from ragtune.tasks.versioning.revisions import repository_of

    if rebuild and classes:
        raise InputError("a rebuild replaces the whole index: drop the class filter")
    settings.freshness.check_classes(classes)
    if kb is not None and not Path(kb).is_dir() and rev is None:
        raise InputError(f"--kb {kb}: no such knowledge-base folder")
    if rev is not None:
        repository_of(Path(kb) if kb else settings.path(settings.data.kb_path), rev)


def check_rollback_tag(settings: Settings, tag: str) -> None:
    """Refuse a tag that was never published, before the index-rollback flow
    starts (a flow run costs seconds before its first step; the flow checks
    again under the index lock).

    Raises:
        InputError: no published tag has that name (the message lists them).
    """
    index = Catalog.from_settings(settings).index
    tags = [t.tag for t in index.tags()]
    if tag not in tags:
        known = ", ".join(tags) or "none"
        raise InputError(
            f"index {index.table}: no published tag {tag!r} (known: {known})"
        )


# the audit action that records each kind of ledger row (a move of ``live``)
AUDITED_AS = {"publish": "index.published", "rollback": "index.rolled-back"}


def unrecorded_move(catalog: Catalog) -> LedgerEntry | None:
    """The ledger row of what is live now, if the audit log has no record of it.

    Publishing and rolling back each append a ledger row, move ``live``, then
    write their audit record; a run killed between the move and the record
    leaves a version serving queries that the log cannot show, and nothing later
    would record it. The next writer of the index (it holds the index lock, so no
    move is in flight) calls this and records what the ledger says happened.
    Only the live row is checked: a row whose move never happened (a kill before
    it) is not live, and every earlier live row was checked by the writer after
    it. The record must be written after the row (same tag and action), so an
    older record of the same tag does not count for a later rollback to it.
    """
    index = catalog.index
    db = connect(index.uri)
    chunks = open_table(db, index.table)
    live = None if chunks is None else resolve_live(db, index.table, chunks)
    entry = None if live is None else live.entry
    if entry is None or entry.action not in AUDITED_AS:
        return None
    action = AUDITED_AS[entry.action]
    for r in catalog.audit().records():
        if r["action"] != action or r["details"].get("tag") != entry.tag:
            continue
        if datetime.fromisoformat(r["ts"]) >= entry.created_at:
            return None
    return entry
