"""The ``watch-report`` markdown and the JSON summary of one watch pass."""

from __future__ import annotations

from typing import Any

from ragtune.tasks.watch.versioning import DataVersion
from ragtune.tasks.watch.watcher import WatchPass


def summary_json(
    found: WatchPass, version: DataVersion | None, threshold: float, checked_at: str
) -> dict[str, Any]:
    """The pass as one JSON object (``ragtune watch --json``)."""
    return {
        "checked_at": checked_at,
        "changed": [c.to_json() for c in found.changes],
        "unchanged": list(found.unchanged),
        "errors": [{"source": e.source, "message": e.message} for e in found.errors],
        "significant": [c.source for c in found.changes if c.score >= threshold],
        "threshold": threshold,
        "data_hash": version.data_hash if version else None,
        "tracked_by": version.tracked_by if version else None,
    }


def render_markdown(
    found: WatchPass, version: DataVersion | None, threshold: float
) -> str:
    """Per changed file: status, score, and what the diff touched."""
    lines = ["# Regulatory watch", ""]
    if not found.changes:
        lines.append("No watched source changed.")
    if version is not None:
        lines.append(
            f"Knowledge base now at `{version.data_hash}` ({version.tracked_by})."
        )
    for change in found.changes:
        flag = "significant" if change.score >= threshold else "minor"
        lines += [
            "",
            f"## {change.source}: {flag} (score {change.score:.2f}, "
            f"threshold {threshold:.2f})",
            "",
            f"Documents: {', '.join(change.doc_ids) or '(none)'}",
            "",
            "| file | status | score | +lines | -lines | sections | effective |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in change.files:
            d = f.diff
            lines.append(
                f"| {f.kb_rel} | {f.status} | {f.significance.score:.2f} | "
                f"{d.lines_added} | {d.lines_removed} | "
                f"{'; '.join(d.sections_touched).replace('|', '/')} | "
                f"{f.effective_date or ''} |"
            )
    for error in found.errors:
        lines.append(f"\n**{error.source} could not be read:** {error.message}")
    if found.unchanged:
        lines.append(f"\nUnchanged: {', '.join(found.unchanged)}")
    return "\n".join(lines) + "\n"
