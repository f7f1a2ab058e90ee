"""The quarantine report (JSON for machines, Markdown for people) and its gate.

Quarantined files are never moved or deleted; the report lists each with its
reasons so an owner can fix the source, and the gate stops a run when too
large a share of the knowledge base would silently drop out of the index.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ragtune.errors import GateFailed, InputError
from ragtune.tasks.validation.config import ValidationConfig
from ragtune.tasks.validation.models import ValidationReport

log = logging.getLogger(__name__)

REPORT_NAME = "quarantine"


def quarantine_payload(report: ValidationReport) -> dict[str, Any]:
    """The report as plain JSON-ready data, in a stable order."""
    return {
        "passed": report.passed,
        "n_files": report.n_files,
        "n_valid": len(report.documents),
        "n_quarantined": len(report.rejected),
        "quarantine_share": round(report.quarantine_share, 6),
        "max_quarantine_share": report.max_quarantine_share,
        "data_docs_path": report.data_docs_path,
        "expectations": [
            {
                "name": e.name,
                "expectation": e.expectation,
                "column": e.column,
                "success": e.success,
                "unexpected_count": e.unexpected_count,
                "error": e.error,
            }
            for e in report.expectations
        ],
        "quarantined": [
            {"source_path": r.source_path, "doc_id": r.doc_id, "reasons": [*r.reasons]}
            for r in sorted(report.rejected, key=lambda r: r.source_path)
        ],
        "warnings": [
            {"source_path": path, "reason": why} for path, why in report.warnings
        ],
    }


def write_quarantine_report(report: ValidationReport, out_dir: Path) -> Path:
    """Write ``quarantine.json`` and ``quarantine.md`` into ``out_dir``.

    Returns:
        The JSON path; the Markdown file sits beside it with a ``.md`` suffix.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = quarantine_payload(report)
    json_path = out_dir / f"{REPORT_NAME}.json"
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False)
    json_path.write_text(text + "\n", encoding="utf-8")
    json_path.with_suffix(".md").write_text(render_markdown(payload), encoding="utf-8")
    log.info("quarantine report written to %s", json_path)
    return json_path


def render_markdown(payload: dict[str, Any]) -> str:
    """A human-readable summary: verdict, failed checks, then every file's reasons."""
    verdict = "passed" if payload["passed"] else "FAILED"
    lines = [
        "# Quarantine report",
        "",
        f"Validation {verdict}: {payload['n_quarantined']} of {payload['n_files']} "
        f"files quarantined ({payload['quarantine_share']:.1%}; limit "
        f"{payload['max_quarantine_share']:.1%}).",
        "",
        "| check | expectation | column | result | failing rows |",
        "|---|---|---|---|---|",
    ]
    for e in payload["expectations"]:
        result = "error" if e["error"] else ("ok" if e["success"] else "failed")
        lines.append(
            f"| {e['name']} | {e['expectation']} | {e['column'] or ''} | {result} "
            f"| {e['unexpected_count']} |"
        )
    lines += ["", "## Quarantined files", ""]
    if not payload["quarantined"]:
        lines.append("None.")
    for item in payload["quarantined"]:
        doc = f" (doc_id `{item['doc_id']}`)" if item["doc_id"] else ""
        lines.append(f"- `{item['source_path']}`{doc}")
        lines += [f"  - {_escape(reason)}" for reason in item["reasons"]]
    if payload.get("warnings"):
        lines += ["", "## Kept with warnings", ""]
        lines += [
            f"- `{w['source_path']}`: {_escape(w['reason'])}"
            for w in payload["warnings"]
        ]
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("\n", " ").replace("|", "\\|")


def enforce_quarantine_share(report: ValidationReport, cfg: ValidationConfig) -> None:
    """Stop the run when more than ``cfg.max_quarantine_share`` was quarantined,
    or when documents share an id.

    Raises:
        GateFailed: with the share, the counts and the limit; also when a check
            could not be evaluated, since then nothing was really validated.
        InputError: two or more files claim one doc_id (each path named): none of
            them is indexed, and removing the id from the live index would lose
            the document, so the refresh stops instead.
    """
    if report.errors:
        names = ", ".join(f"{e.name} ({e.error})" for e in report.errors)
        raise GateFailed(f"validation gate: checks could not be evaluated: {names}")
    if report.quarantine_share > cfg.max_quarantine_share:
        raise GateFailed(
            f"validation gate: {len(report.rejected)} of {report.n_files} files "
            f"quarantined ({report.quarantine_share:.1%}), above "
            f"validation.max_quarantine_share ({cfg.max_quarantine_share:.1%}); "
            "see the quarantine report for the reasons"
        )
    if report.duplicate_ids:
        claims = "; ".join(
            f"{doc_id!r} by {' and '.join(paths)}"
            for doc_id, paths in sorted(report.duplicate_ids.items())
        )
        raise InputError(
            f"duplicate doc_id: {claims}. Give each document its own id (front "
            "matter or sidecar 'id:'); nothing was indexed, the live index is "
            "unchanged"
        )
