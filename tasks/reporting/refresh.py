"""The knowledge-refresh summary: one typed record, its JSON and its markdown story.

The JSON keys are a CLI contract (``ragtune refresh --json``): ``added``, ``changed``,
``removed``, ``unchanged``, ``quarantined``, ``chunks_embedded``, ``index_version``,
``published``; operators script against them, so they only ever gain keys.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RefreshSummary:
    """What one knowledge-refresh run did, with the evidence it used."""

    data_hash: str
    rev: str | None
    git_commit: str | None
    kb_path: str
    documents: int
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int
    quarantined: list[dict[str, Any]]
    chunks_total: int
    chunks_embedded: int
    cache_hits: int
    index_version: int | None
    published: bool
    tag: str | None
    checks: list[dict[str, Any]]
    metrics: dict[str, float]
    metrics_delta: dict[str, float] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)
    classes: dict[str, int] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)
    eval_set_problems: list[str] = field(default_factory=list)
    evaluation: str = ""  # measured now, or carried forward from the live tag
    warnings: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The contract: counts under the documented keys, detail beside them."""
        body = asdict(self)
        body["documents_added"] = body.pop("added")
        body["documents_changed"] = body.pop("changed")
        body["documents_removed"] = body.pop("removed")
        body["quarantined_files"] = body.pop("quarantined")
        return body | {
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
            "quarantined": len(self.quarantined),
        }


def _ids(ids: list[str], limit: int = 12) -> str:
    if not ids:
        return "none"
    shown = ", ".join(f"`{i}`" for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _metric_rows(s: RefreshSummary) -> list[str]:
    if not s.metrics:
        return ["Not evaluated: the eval set judges none of the indexed documents."]
    rows = ["| metric | value | change vs previous live |", "|---|---|---|"]
    for name, value in s.metrics.items():
        delta = s.metrics_delta.get(name)
        shown = "first publish" if delta is None else f"{delta:+.3f}"
        rows.append(f"| {name} | {value:.3f} | {shown} |")
    return rows


def render_markdown(s: RefreshSummary) -> str:
    """The refresh-summary artifact: what changed, what was held back, and why."""
    outcome = (
        f"published as `{s.tag}` (version {s.index_version})"
        if s.published
        else f"nothing new to publish; live version {s.index_version}"
    )
    lines = [
        "# Knowledge refresh",
        "",
        f"- data: `{s.kb_path}` at {s.rev or 'working tree'} "
        f"(commit `{(s.git_commit or '-')[:12]}`), DVC hash `{s.data_hash}`",
        f"- index: {outcome}",
        f"- documents: {s.documents} valid; added {len(s.added)}, changed "
        f"{len(s.changed)}, removed {len(s.removed)}, unchanged {s.unchanged}",
        f"- chunks: {s.chunks_total} in index, {s.chunks_embedded} embedded this run, "
        f"{s.cache_hits} reused from the embedding cache",
        f"- quarantined: {len(s.quarantined)}; kept with warnings: "
        f"{len(s.warnings)}; stale: {len(s.stale)}",
        "",
        "## Changes",
        f"- added: {_ids(s.added)}",
        f"- changed: {_ids(s.changed)}",
        f"- removed: {_ids(s.removed)}",
        "",
        "## Publish checks",
        *[f"- {c['status'].upper()} `{c['name']}`: {c['reason']}" for c in s.checks],
        "",
        "## Retrieval on the eval set",
        *_metric_rows(s),
        *(["", f"Evaluation: {s.evaluation}."] if s.evaluation else []),
    ]
    if s.quarantined:
        lines += ["", "## Quarantine", "| file | reasons |", "|---|---|"]
        lines += [
            f"| `{q['source_path']}` | {'; '.join(q['reasons'])} |"
            for q in s.quarantined
        ]
    if s.warnings:
        lines += ["", "## Kept with warnings", "| file | warning |", "|---|---|"]
        lines += [f"| `{w['source_path']}` | {w['reason']} |" for w in s.warnings]
    if s.eval_set_problems:
        lines += ["", "## Eval set problems", *[f"- {p}" for p in s.eval_set_problems]]
    if s.stale:
        lines += ["", "## Stale documents", _ids(s.stale, limit=40)]
    return "\n".join(lines) + "\n"
