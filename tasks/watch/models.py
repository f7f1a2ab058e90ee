"""Records of a watch pass: what each source held, what changed and how much."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Snapshot:
    """A source's current content, or ``not_modified`` when the source said so
    (HTTP 304, or a git branch still at the commit seen last time)."""

    files: dict[str, bytes] = field(default_factory=dict)
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    commit: str | None = None


@dataclass(frozen=True)
class DiffSummary:
    """What a change did to a document's text (difflib over its lines)."""

    lines_added: int
    lines_removed: int
    sections_touched: tuple[str, ...]
    numbers_changed: int
    dates_changed: int
    amendment_terms: tuple[str, ...]  # terms whose count changed
    amendment_changes: int  # total change in their counts
    effective_language: bool  # a changed line announces when something applies
    effective_date: date | None
    preview: tuple[str, ...] = ()  # a few changed lines, prefixed + or -

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["effective_date"] = self.effective_date and self.effective_date.isoformat()
        return out


@dataclass(frozen=True)
class Significance:
    """A score in [0, 1] and the components (each in [0, 1]) it was weighed from."""

    score: float
    components: dict[str, float]


@dataclass(frozen=True)
class FileChange:
    """One file of a source that is new, changed or gone since the last pass."""

    source: str
    source_rel: str  # path inside the source
    kb_rel: str  # path under the knowledge-base root
    status: str  # "added" | "modified" | "removed"
    old_sha256: str | None
    new_sha256: str | None
    diff: DiffSummary
    significance: Significance
    content: bytes = field(default=b"", repr=False)  # new bytes, to write
    doc_id: str | None = None
    effective_date: date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "source_rel": self.source_rel,
            "kb_rel": self.kb_rel,
            "status": self.status,
            "doc_id": self.doc_id,
            "old_sha256": self.old_sha256,
            "new_sha256": self.new_sha256,
            "diff": self.diff.to_json(),
            "score": self.significance.score,
            "components": self.significance.components,
            "effective_date": self.effective_date and self.effective_date.isoformat(),
        }


@dataclass(frozen=True)
class SourceChange:
    """Every changed file of one source in one pass."""

    source: str
    files: tuple[FileChange, ...]
    doc_ids: tuple[str, ...]

    @property
    def score(self) -> float:
        return max((f.significance.score for f in self.files), default=0.0)

    @property
    def effective_date(self) -> date | None:
        found = [f.effective_date for f in self.files if f.effective_date]
        return min(found) if found else None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "doc_ids": list(self.doc_ids),
            "score": self.score,
            "effective_date": self.effective_date and self.effective_date.isoformat(),
            "files": [f.to_json() for f in self.files],
        }


@dataclass(frozen=True)
class SourceError:
    """A source that could not be read this pass; its state is kept as it was."""

    source: str
    message: str
