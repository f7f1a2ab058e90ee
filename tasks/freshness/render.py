"""Markdown for the ``freshness-report`` artifact: the story an operator reads in
the Prefect UI (which classes go to RAG, which documents need a review)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ragtune.tasks.freshness.report import Classification, FreshnessReport


def _cell(value: object) -> str:
    """Table cells must not break the row: escape pipes, flatten newlines."""
    if value is None:
        return "-"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _class_table(report: FreshnessReport) -> list[str]:
    rows = [
        [s.label, s.count, s.stale, s.needs_review, s.placement, s.max_age_days]
        for s in report.summaries
    ]
    header = ["class", "documents", "stale", "needs review", "placement", "max age"]
    return _table(header, rows)


def _doc_rows(docs: list[Classification], reason: bool) -> list[list[object]]:
    return [
        [
            c.source_path,
            c.label,
            f"{c.confidence:.2f}",
            c.method,
            c.age_days,
            c.stale_reason if reason else c.evidence,
            *([c.next_step] if reason else []),
        ]
        for c in docs
    ]


def render_markdown(report: FreshnessReport) -> str:
    """Freshness table per class, the staleness list and the review list."""
    n = len(report.classifications)
    lines = ["# Freshness report", "", f"{n} documents classified.", ""]
    lines += _class_table(report)
    header = ["document", "class", "confidence", "method", "age (days)"]
    stale = report.stale()
    lines += ["", f"## Stale documents ({len(stale)})", ""]
    if stale:
        lines += _table([*header, "reason", "next step"], _doc_rows(stale, reason=True))
    else:
        lines.append("None: every volatile document was reviewed in time.")
    review = [c for c in report.classifications if c.needs_review]
    lines += ["", f"## Needs review ({len(review)})", ""]
    if review:
        lines += _table([*header, "evidence"], _doc_rows(review, reason=False))
    else:
        lines.append("None: every classification met min_confidence.")
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in report.notes]
    return "\n".join(lines) + "\n"
