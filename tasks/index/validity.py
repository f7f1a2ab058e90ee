"""Validity in time: which text of the knowledge base is in force on which day.

A document applies from its ``effective_date`` through its ``valid_until`` (the
last day, inclusive; an open end when absent). Later documents close earlier
ones:

* ``supersedes: X``: all of X stops applying the day before the superseding
  document takes effect;
* ``amends: X`` with ``clauses: [2.3]``: only X's chunks of clause 2.3 stop
  applying then; the rest of X stays in force;
* a named clause X has no chunk of, but whose parent clause it has (``3.1(b)``
  inside clause 3.1), and an ``amends`` without clauses (errata, addenda), close
  nothing: which sentences changed is not machine-readable, and hiding the whole
  clause or document would hide what did not change. The amended chunks are
  marked instead ("amended by ... from ..."), so search and answers can say so.

Validity is derived from the knowledge base as it is on every refresh, never
stored as a fact of its own: removing (withdrawing) an amendment reopens what it
closed at the next refresh. A document's derived validity is part of its index
hash (``corpus.document_hash``), so a new amendment rewrites the amended
document's rows (restamped, never re-embedded).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from ragtune.tasks.index.clauses import clauses_in, parent_clause
from ragtune.tasks.ingest.models import Document


@dataclass(frozen=True)
class Closure:
    """Text that stopped applying: its last day in force and what replaced it."""

    until: date
    by: str


@dataclass(frozen=True)
class Amendment:
    """A change to text that stays in force (so it is marked, not closed)."""

    by: str
    effective: date | None
    clause: str = ""  # the clause the amendment names ("" for the whole document)

    def label(self) -> str:
        """``doc@YYYY-MM-DD`` (``doc@`` without a date), as the index stores it."""
        day = self.effective.isoformat() if self.effective else ""
        return f"{self.by}@{day}" + (f"#{self.clause}" if self.clause else "")

    @classmethod
    def parse(cls, mark: str) -> Amendment:
        """The amendment a stored ``label()`` names."""
        by, _, rest = mark.partition("@")
        day, _, clause = rest.partition("#")
        return cls(by, date.fromisoformat(day) if day else None, clause)


@dataclass(frozen=True)
class DocValidity:
    """What later documents did to one document."""

    whole: Closure | None = None
    clauses: dict[str, Closure] = field(default_factory=dict)
    amended: tuple[Amendment, ...] = ()

    def for_chunk(
        self, clause: str, own_until: date | None
    ) -> tuple[date | None, str | None, str]:
        """``(valid_until, superseded_by, amended_by)`` of a chunk of ``clause``.

        The earliest closure wins: a clause that an amendment closed in 2026 and a
        document its successor superseded in 2027 stopped applying in 2026.
        """
        closures = [c for c in (self.whole, self.clauses.get(clause)) if c]
        until, by = own_until, None
        for closure in closures:  # on a tie the replacing document is named
            if until is None or closure.until <= until:
                until, by = closure.until, closure.by
        marks = [
            a.label()
            for a in self.amended
            if not a.clause or a.clause == clause or _within(a.clause, clause)
        ]
        return until, by, ",".join(marks)

    def key(self) -> str:
        """A stable text of this validity, for the document's index hash."""
        parts = [f"whole={self.whole.by}@{self.whole.until}" if self.whole else ""]
        parts += [f"{c}={v.by}@{v.until}" for c, v in sorted(self.clauses.items())]
        parts += [a.label() for a in self.amended]
        return ";".join(p for p in parts if p)


NONE = DocValidity()


@dataclass(frozen=True)
class ValidityMap:
    """Every document's derived validity, and what could not be applied."""

    by_doc: dict[str, DocValidity]
    warnings: list[tuple[str, str]]  # (source_path, reason)

    def of(self, doc_id: str) -> DocValidity:
        return self.by_doc.get(doc_id, NONE)


def derive_validity(documents: Iterable[Document]) -> ValidityMap:
    """Apply every ``supersedes`` and ``amends`` of ``documents`` to its target.

    Documents without an ``effective_date`` close nothing (there is no day to
    close from); that, a target that is not in the knowledge base, and a named
    clause the target has no marker for are warnings, never errors: the rest of
    the refresh is unaffected.
    """
    docs = {d.doc_id: d for d in documents}
    whole: dict[str, Closure] = {}
    closed: dict[str, dict[str, Closure]] = {}
    amended: dict[str, list[Amendment]] = {}
    warnings: list[tuple[str, str]] = []
    clause_sets: dict[str, set[str]] = {}
    for doc in sorted(docs.values(), key=lambda d: d.doc_id):
        relations = (("supersedes", doc.supersedes), ("amends", doc.amends))
        for relation, target in relations:
            if target is None:
                continue
            if target == doc.doc_id:
                warnings.append((doc.source_path, f"{relation} itself: ignored"))
                continue
            if target not in docs:
                warnings.append(
                    (
                        doc.source_path,
                        f"{relation} {target}, which is not in the knowledge base "
                        "(or was quarantined): nothing closed",
                    )
                )
                continue
            if relation == "supersedes":
                if _needs_date(doc, relation, target, warnings):
                    _close(whole, target, doc)
                continue
            if not doc.clauses:
                amended.setdefault(target, []).append(
                    Amendment(doc.doc_id, doc.effective_date)
                )
                continue
            if not _needs_date(doc, relation, target, warnings):
                continue
            found = clause_sets.setdefault(target, clauses_in(docs[target].text))
            for clause in doc.clauses:
                if clause in found:
                    _close(closed.setdefault(target, {}), clause, doc)
                    continue
                amended.setdefault(target, []).append(
                    Amendment(doc.doc_id, doc.effective_date, clause)
                )
                if not _has_parent(clause, found):
                    warnings.append(
                        (
                            doc.source_path,
                            f"amends clause {clause} of {target}, which has no "
                            "clause marked so: nothing closed for it",
                        )
                    )
    by_doc = {
        d: DocValidity(
            whole=whole.get(d),
            clauses=closed.get(d, {}),
            amended=tuple(sorted(amended.get(d, []), key=Amendment.label)),
        )
        for d in set(whole) | set(closed) | set(amended)
    }
    return ValidityMap(by_doc, warnings)


def _needs_date(
    doc: Document, relation: str, target: str, warnings: list[tuple[str, str]]
) -> bool:
    if doc.effective_date is not None:
        return True
    warnings.append(
        (
            doc.source_path,
            f"{relation} {target} but has no effective_date: nothing closed",
        )
    )
    return False


def _close(closures: dict[str, Closure], key: str, doc: Document) -> None:
    """Close ``key`` the day before ``doc`` applies, unless an earlier document
    closed it already."""
    assert doc.effective_date is not None
    closure = Closure(doc.effective_date - timedelta(days=1), doc.doc_id)
    current = closures.get(key)
    if current is None or closure.until < current.until:
        closures[key] = closure


def _enclosing(clause: str) -> Iterator[str]:
    """The clauses ``clause`` lies inside, nearest first (``3.1(b)``: 3.1, 3)."""
    parent = parent_clause(clause)
    while parent is not None:
        yield parent
        parent = parent_clause(parent)


def _has_parent(clause: str, found: set[str]) -> bool:
    return any(parent in found for parent in _enclosing(clause))


def _within(named: str, chunk_clause: str) -> bool:
    """True when the clause an amendment names lies inside ``chunk_clause``."""
    return chunk_clause in _enclosing(named)
