"""What the detectors look at: the two time windows of the query log, the
current window's feedback and the retrieval figures of every published tag."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ragtune.tasks.monitoring.config import WindowConfig
from ragtune.tasks.monitoring.logs import feedback_record, query_record, read_log
from ragtune.tasks.monitoring.models import (
    FeedbackRecord,
    QueryRecord,
    Span,
    TagMetrics,
)


@dataclass(frozen=True)
class DriftInputs:
    """The detectors' inputs for one check, already cut into windows."""

    reference: Span
    current: Span
    reference_queries: tuple[QueryRecord, ...]
    current_queries: tuple[QueryRecord, ...]
    feedback: tuple[FeedbackRecord, ...]
    tags: tuple[TagMetrics, ...]
    skipped_lines: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Window bounds and counts, for reports and JSON output."""
        return {
            "reference": self.reference.to_json(),
            "current": self.current.to_json(),
            "reference_queries": len(self.reference_queries),
            "current_queries": len(self.current_queries),
            "feedback": len(self.feedback),
            "published_tags": len(self.tags),
            "skipped_lines": dict(self.skipped_lines),
        }


def windows(now: datetime, cfg: WindowConfig) -> tuple[Span, Span]:
    """``(reference, current)``: current ends now; reference ends where current
    starts, or is the pinned period when one is configured."""
    current = Span(now - timedelta(hours=cfg.current_hours), now)
    if cfg.reference_start is not None and cfg.reference_end is not None:
        return Span(_utc(cfg.reference_start), _utc(cfg.reference_end)), current
    start = current.start - timedelta(hours=cfg.reference_hours)
    return Span(start, current.start), current


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def gather_inputs(
    query_log: Path,
    feedback_log: Path,
    tags: Iterable[TagMetrics],
    now: datetime,
    cfg: WindowConfig,
) -> DriftInputs:
    """Read both logs and cut them into the reference and current windows.

    Records after ``now`` are left out, so a check at a past ``now`` (a test, a
    replay) sees exactly what it would have seen then.
    """
    reference, current = windows(now, cfg)
    queries = read_log(query_log, query_record)
    feedback = read_log(feedback_log, feedback_record)
    return DriftInputs(
        reference=reference,
        current=current,
        reference_queries=tuple(q for q in queries.records if q.ts in reference),
        current_queries=tuple(q for q in queries.records if q.ts in current),
        feedback=tuple(f for f in feedback.records if f.ts in current),
        tags=tuple(tags),
        skipped_lines={"query_log": queries.skipped, "feedback_log": feedback.skipped},
    )


def tag_metrics(published: Iterable[Any]) -> list[TagMetrics]:
    """Retrieval figures from ``tasks.index.publish.PublishedTag`` entries (their
    ``metrics["retrieval"]``, as the knowledge-refresh flow records them)."""
    out = []
    for tag in published:
        retrieval = (tag.metrics or {}).get("retrieval", {})
        figures = {
            k: float(v)
            for k, v in retrieval.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        out.append(TagMetrics(tag.tag, _utc(tag.created_at), figures, tag.live))
    return out
