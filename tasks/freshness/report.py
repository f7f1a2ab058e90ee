"""The freshness report: one classification per document, summaries per class,
accuracy against true labels, and its table and markdown renderings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ragtune.errors import InputError

Method = Literal["metadata", "rules", "centroid", "fallback"]
Placement = Literal["rag", "fine-tune-candidate"]


def placement_of(volatile: bool) -> Placement:
    """Volatile knowledge is served from RAG; stable knowledge may be fine-tuned in."""
    return "rag" if volatile else "fine-tune-candidate"


@dataclass(frozen=True)
class Classification:
    """One document's class, how sure we are, how it was decided and its age."""

    doc_id: str
    source_path: str
    label: str
    confidence: float
    method: Method
    needs_review: bool
    age_days: int | None
    stale: bool
    stale_reason: str | None
    placement: Placement
    evidence: str = ""
    next_step: str | None = None  # what to do about a stale document, and who


@dataclass(frozen=True)
class ClassSummary:
    """Counts for one class and where its knowledge belongs."""

    label: str
    count: int
    stale: int
    needs_review: int
    placement: Placement
    max_age_days: int | None


@dataclass(frozen=True)
class MethodAccuracy:
    """Correct over total for the documents one method decided."""

    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


@dataclass(frozen=True)
class Accuracy:
    """Accuracy against true labels, overall and per deciding method.

    ``missing`` are labelled doc_ids absent from the report; they are not counted,
    so a renamed file cannot silently raise or lower the score.
    """

    correct: int
    total: int
    by_method: dict[str, MethodAccuracy]
    errors: tuple[tuple[str, str, str], ...] = ()  # (doc_id, predicted, true)
    missing: tuple[str, ...] = ()

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def score(
    classifications: list[Classification],
    labels: Mapping[str, str],
    classes: tuple[str, ...],
) -> Accuracy:
    """Compare predictions with ``labels`` (doc_id -> class) on the labelled docs."""
    unknown = sorted({c for c in labels.values() if c not in classes})
    if unknown:
        raise InputError(
            f"labels name unknown freshness class(es) {unknown}; "
            f"configured classes are {list(classes)}"
        )
    seen = {c.doc_id for c in classifications}
    correct: Counter[str] = Counter()
    total: Counter[str] = Counter()
    errors = []
    for c in classifications:
        if c.doc_id not in labels:
            continue
        total[c.method] += 1
        if c.label == labels[c.doc_id]:
            correct[c.method] += 1
        else:
            errors.append((c.doc_id, c.label, labels[c.doc_id]))
    by_method = {m: MethodAccuracy(correct[m], total[m]) for m in total}
    missing = tuple(sorted(d for d in labels if d not in seen))
    return Accuracy(
        sum(correct.values()), sum(total.values()), by_method, tuple(errors), missing
    )


@dataclass(frozen=True)
class FreshnessReport:
    """Classifications in input order, one summary per configured class, and notes
    (e.g. classes the centroid model had to leave out)."""

    classifications: list[Classification]
    summaries: list[ClassSummary]
    notes: list[str] = field(default_factory=list)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(s.label for s in self.summaries)

    def by_doc(self) -> dict[str, Classification]:
        return {c.doc_id: c for c in self.classifications}

    def stale(self) -> list[Classification]:
        return [c for c in self.classifications if c.stale]

    def accuracy(self, labels: Mapping[str, str]) -> Accuracy:
        """Accuracy against ``labels`` (doc_id -> class), overall and per method."""
        return score(self.classifications, labels, self.classes)

    def to_rows(self) -> list[dict[str, Any]]:
        """One flat dict per document, for a table artifact or ``--json``."""
        return [asdict(c) for c in self.classifications]

    def to_markdown(self) -> str:
        """A class table, then the stale and needs-review documents."""
        from ragtune.tasks.freshness.render import render_markdown

        return render_markdown(self)


def summarise(
    classifications: list[Classification],
    policies: Mapping[str, tuple[bool, int | None]],
) -> list[ClassSummary]:
    """Per-class counts; ``policies`` maps class -> (volatile, max_age_days)."""
    out = []
    for label, (volatile, max_age) in policies.items():
        mine = [c for c in classifications if c.label == label]
        out.append(
            ClassSummary(
                label=label,
                count=len(mine),
                stale=sum(c.stale for c in mine),
                needs_review=sum(c.needs_review for c in mine),
                placement=placement_of(volatile),
                max_age_days=max_age,
            )
        )
    return out
