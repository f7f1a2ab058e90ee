"""Staleness: has a volatile document gone unreviewed for longer than its class
allows?

Only volatile classes go stale. Stable knowledge (history, concepts) does not expire
with time, which is why it is the fine-tuning candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ragtune.tasks.freshness.config import ClassPolicy
from ragtune.tasks.ingest.models import Document

NO_DATE = "no review date"


@dataclass(frozen=True)
class Staleness:
    """Age in days since the last review (or effective date), the verdict, the
    rule that gave it and what to do about it."""

    age_days: int | None
    stale: bool
    reason: str | None
    next_step: str | None = None


def staleness(doc: Document, policy: ClassPolicy, today: date) -> Staleness:
    """Age and staleness of ``doc`` as a member of the class ``policy`` describes.

    ``age_days = today - (last_reviewed or effective_date)``. A document is stale
    when its class has ``max_age_days`` and the age exceeds it (the boundary day
    itself is still fresh), when it is past its ``valid_until`` day, or, for a
    volatile class, when it carries no date at all: nobody can vouch for it.
    """
    reviewed = doc.last_reviewed or doc.effective_date
    age = (today - reviewed).days if reviewed else None
    if not policy.volatile:
        return Staleness(age, False, None)
    owner = doc.metadata.get("owner") or "its owner (no owner in its metadata)"
    if doc.valid_until is not None and today > doc.valid_until:
        return Staleness(
            age,
            True,
            f"past valid_until {doc.valid_until.isoformat()}",
            f"{owner}: it no longer applies and searches as of today leave it out; "
            "archive it, or keep it for questions about the past",
        )
    if age is None:
        return Staleness(
            None, True, NO_DATE, f"{owner}: review it and set last_reviewed"
        )
    if policy.max_age_days is not None and age > policy.max_age_days:
        basis = "last review" if doc.last_reviewed else "effective date"
        reason = f"{age} days since {basis} > max_age_days {policy.max_age_days}"
        due = reviewed + timedelta(days=policy.max_age_days)
        step = (
            f"{owner}: review was due {due.isoformat()}; confirm or update it, then "
            f"set last_reviewed: {today.isoformat()}"
        )
        return Staleness(age, True, reason, step)
    return Staleness(age, False, None)
