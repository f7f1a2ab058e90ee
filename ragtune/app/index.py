"""The LanceDB store as params.yaml configures it (``index`` and ``embedding``)."""

from __future__ import annotations

from pathlib import Path

from ragtune.app.catalog import Catalog
from ragtune.app.settings import Settings
from ragtune.errors import InputError
from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.index.ledger import LedgerEntry, read_entries
from ragtune.tasks.index.store import IndexStore
from ragtune.tasks.index.tables import connect


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


def unrecorded_publish(catalog: Catalog) -> LedgerEntry | None:
    """The index's last publish if the audit log has no record of it.

    Publishing moves ``live`` and then writes ``index.published``; a run killed
    between the two leaves a version serving queries that the log cannot show,
    and the next refresh, with nothing new to publish, would never record it.
    The next writer of the index (which holds the index lock, so no publish is in
    flight) calls this and records what the ledger says happened. Only the last
    publish is checked: every earlier one was checked by the run after it. A
    file log is scanned as text, parsing nothing, so a long log costs one read.
    """
    index = catalog.index
    entries = read_entries(connect(index.uri), index.table)
    publishes = [e for e in entries if e.action == "publish"]
    if not publishes:
        return None
    last = publishes[-1]
    if catalog.audit_backend != "file":
        recorded = any(
            r["action"] == "index.published" and r["details"].get("tag") == last.tag
            for r in catalog.audit().records()
        )
        return None if recorded else last
    if not catalog.audit_path.exists():
        return last
    action, tag = '"action": "index.published"', f'"tag": "{last.tag}"'
    with catalog.audit_path.open(encoding="utf-8", errors="replace") as fh:
        if any(action in line and tag in line for line in fh):
            return None
    return last
