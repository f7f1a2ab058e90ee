"""Sources for an answer, from the live index only.

The server keeps one handle on the chunk table checked out at the ``live`` tag
and swaps it when a publish or rollback moves the tag (``refresh``, called on the
poll interval and by ``POST /admin/reload``), so answers never come from an
unpublished version and a new publish needs no restart.

Each source is a :class:`~ragtune.tasks.index.retrieval.RetrievedChunk`, found
the way evaluation finds it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from lancedb.table import Table

from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.publish import list_tags, open_live
from ragtune.tasks.index.retrieval import RetrievedChunk, retrieve
from ragtune.tasks.index.validity import Amendment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveState:
    """The table readers see and which published tag and version it is."""

    table: Table
    version: int
    tag: str | None


class LiveIndex:
    """The live chunk table of one index, reopened when ``live`` moves."""

    def __init__(
        self,
        uri: str,
        cfg: IndexConfig,
        embedder: Embedder,
        known_classes: Collection[str] | None = None,
    ) -> None:
        self.uri, self.cfg, self.embedder = uri, cfg, embedder
        self.known_classes = known_classes
        self._state: LiveState | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> LiveState | None:
        """What answers use now; None while nothing is published."""
        return self._state

    def refresh(self) -> bool:
        """Reopen at the live tag if it moved; True when the served version changed."""
        with self._lock:
            table = open_live(self.uri, self.cfg.table)
            if table is None:
                changed, self._state = self._state is not None, None
                return changed
            old = self._state
            if old is not None and old.version == table.version:
                return False
            tag = next(
                (t.tag for t in list_tags(self.uri, self.cfg.table) if t.live), None
            )
            self._state = LiveState(table=table, version=table.version, tag=tag)
            log.info("serving index version %d (%s)", table.version, tag)
            return True

    def retrieve(
        self, state: LiveState, question: str, k: int, as_of: date | None = None
    ) -> list[RetrievedChunk]:
        """The ``k`` best chunks of ``state``'s table for ``question``, best first,
        from the text in force on ``as_of`` (today when None)."""
        return retrieve(
            state.table,
            self.embedder,
            question,
            k,
            known_classes=self.known_classes,
            cfg=self.cfg,
            in_force_on=as_of or date.today(),
        )


def recent_changes(
    sources: list[RetrievedChunk], day: date, within_days: int
) -> list[dict[str, str]]:
    """The rule changes an answer should mention: a source that took effect, or
    was amended, within ``within_days`` before ``day`` (one entry per document)."""
    changes: dict[str, dict[str, str]] = {}
    for source in sources:
        started = source.effective_date
        if started and 0 <= (day - started).days <= within_days:
            changes.setdefault(
                source.doc_id,
                {"doc_id": source.doc_id, "title": source.title,
                 "in_force_from": started.isoformat()},
            )  # fmt: skip
        for mark in source.amended_by:
            amendment = Amendment.parse(mark)
            when = amendment.effective
            if when and 0 <= (day - when).days <= within_days:
                changes.setdefault(
                    amendment.by,
                    {"doc_id": amendment.by, "amends": source.doc_id,
                     "in_force_from": when.isoformat()},
                )  # fmt: skip
    return list(changes.values())
