"""Great Expectations checks on the document manifest, and the quarantine they feed.

Every document that fails a check is quarantined with one sentence per failed
check; the rest go on to classification and indexing. Nothing is deleted:
quarantined files stay where they are and are listed in the quarantine report.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ragtune.tasks.ingest.manifest import MANIFEST_FIELDS, manifest_record
from ragtune.tasks.ingest.models import Document, Rejection
from ragtune.tasks.validation.config import ValidationConfig
from ragtune.tasks.validation.gx_runner import (
    CheckOutcome,
    build_data_docs,
    open_context,
    run_suite,
)
from ragtune.tasks.validation.models import ValidationReport
from ragtune.tasks.validation.suites import DOCUMENTS, debris_found, debris_share

log = logging.getLogger(__name__)

DATE_COLUMNS = ("effective_date", "last_reviewed")
UNIQUE_CHECK = "doc_id-unique"


def manifest_frame(documents: Sequence[Document]) -> pd.DataFrame:
    """One row per Document: manifest fields, the text, and dates as datetimes.

    The ``*_at`` columns exist because GX compares datetimes, not ISO strings;
    the string columns stay so the format check sees what the manifest says.
    """
    columns = [*MANIFEST_FIELDS, "text"]
    records = [{**manifest_record(d), "text": d.text} for d in documents]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in DATE_COLUMNS:
        parsed = pd.to_datetime(frame[column], format="%Y-%m-%d", errors="coerce")
        frame[f"{column}_at"] = parsed.astype("datetime64[us]")
    frame["debris_share"] = [debris_share(str(t or "")) for t in frame["text"]]
    return frame


def resolve_gx_root(cfg: ValidationConfig, project_root: Path) -> Path:
    """``validation.gx_root`` against the project (params.yaml) folder."""
    root = Path(cfg.gx_root)
    return root if root.is_absolute() else Path(project_root) / root


def validate_documents(
    documents: Iterable[Document],
    rejected: Iterable[Rejection],
    cfg: ValidationConfig,
    allowed_categories: Iterable[str],
    today: date,
    project_root: Path,
) -> ValidationReport:
    """Run the document suite and split documents into valid and quarantined.

    Args:
        documents: loaded documents (``LoadResult.documents``).
        rejected: files already rejected while loading; they count towards the
            quarantine share and are carried into the report.
        cfg: thresholds and the GX context location.
        allowed_categories: the freshness classes a document may declare.
        today: the day dates are judged against (a parameter, so reruns and
            tests are reproducible).
        project_root: folder that a relative ``cfg.gx_root`` resolves against.

    Returns:
        The report; ``passed`` says whether the quarantine share is acceptable.
    """
    docs = tuple(documents)
    loaded_rejections = tuple(rejected)
    today = today.date() if isinstance(today, datetime) else today
    context = open_context(resolve_gx_root(cfg, project_root))
    params = _parameters(cfg, allowed_categories, today)
    outcomes = run_suite(context, DOCUMENTS, manifest_frame(docs), params)
    debris = {d.source_path: debris_found(d.text) for d in docs}  # for the reasons
    reasons = failure_reasons(
        outcomes, params | _reason_context(cfg, today) | {"debris": debris}
    )
    kept = tuple(d for d in docs if d.source_path not in reasons)
    quarantined = tuple(
        Rejection(d.source_path, tuple(reasons[d.source_path]), d.doc_id)
        for d in docs
        if d.source_path in reasons
    )
    docs_path = build_data_docs(context) if cfg.build_data_docs else None
    everything = sorted(loaded_rejections + quarantined, key=lambda r: r.source_path)
    report = _report(kept, tuple(everything), outcomes, cfg, docs_path)
    duplicated = next(
        (duplicate_ids(o.rows) for o in outcomes if o.check.name == UNIQUE_CHECK), {}
    )
    warnings = (*_warnings(kept), *_same_content(kept))
    passed = report.passed and not duplicated
    return replace(report, warnings=warnings, duplicate_ids=duplicated, passed=passed)


def _warnings(kept: Iterable[Document]) -> tuple[tuple[str, str], ...]:
    """Kept documents with some debris, below the share that quarantines."""
    found = []
    for doc in kept:
        if what := debris_found(doc.text):
            share = debris_share(doc.text)
            found.append(
                (doc.source_path, f"encoding debris kept: {what} ({share:.3%})")
            )
            log.warning("%s: %s", doc.source_path, found[-1][1])
    return tuple(found)


def _parameters(
    cfg: ValidationConfig, allowed_categories: Iterable[str], today: date
) -> dict[str, Any]:
    horizon = today + timedelta(days=cfg.effective_date_max_days_ahead)
    return {
        "allowed_categories": sorted(set(allowed_categories)),
        "min_chars": cfg.min_chars,
        "max_chars": cfg.max_chars,
        "max_debris_share": cfg.max_debris_share,
        "latest_review": datetime.combine(today, time()),
        "latest_effective_date": datetime.combine(horizon, time()),
    }


def _reason_context(cfg: ValidationConfig, today: date) -> dict[str, Any]:
    return {"today": today.isoformat(), "days_ahead": cfg.effective_date_max_days_ahead}


def failure_reasons(
    outcomes: Iterable[CheckOutcome], ctx: dict[str, Any]
) -> dict[str, list[str]]:
    """Source path -> one reason per failed check, in suite order.

    Duplicate ids are special: no copy is kept (which one is the real document
    is not ours to guess) and each is told every path that claims the id;
    ``duplicate_ids`` lets the refresh stop before the index loses the document.
    """
    reasons: dict[str, list[str]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.check.name == UNIQUE_CHECK:
            for path, reason in _duplicate_reasons(outcome.rows).items():
                reasons[path].append(reason)
            continue
        for row in outcome.rows:
            reasons[str(row.get("source_path"))].append(outcome.check.reason(row, ctx))
    return dict(reasons)


def _duplicate_reasons(rows: Iterable[dict[str, Any]]) -> dict[str, str]:
    reasons: dict[str, str] = {}
    for doc_id, paths in duplicate_ids(rows).items():
        for path in paths:
            reasons[path] = (
                f"duplicate doc_id {doc_id!r}: claimed by {', '.join(paths)}; give "
                "each document its own id"
            )
    return reasons


def duplicate_ids(rows: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """doc_id -> the sorted source paths of the documents that share it."""
    paths_by_id: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        paths_by_id[str(row.get("doc_id"))].append(str(row.get("source_path")))
    return {d: sorted(p) for d, p in paths_by_id.items() if len(p) > 1}


def _same_content(kept: Iterable[Document]) -> list[tuple[str, str]]:
    """Warnings for documents whose bytes another kept document has too: indexed
    twice under two ids, which answers would cite as two sources."""
    first: dict[str, Document] = {}
    found = []
    for doc in sorted(kept, key=lambda d: d.source_path):
        other = first.setdefault(doc.content_hash, doc)
        if other is not doc:
            found.append(
                (
                    doc.source_path,
                    f"same content as {other.source_path} (doc_id {other.doc_id!r}); "
                    "indexed twice under two ids",
                )
            )
    return found


def _report(
    kept: tuple[Document, ...],
    rejected: tuple[Rejection, ...],
    outcomes: Sequence[CheckOutcome],
    cfg: ValidationConfig,
    docs_path: str | None,
) -> ValidationReport:
    n_files = len(kept) + len(rejected)
    share = len(rejected) / n_files if n_files else 0.0
    summaries = tuple(o.summary for o in outcomes)
    errored = any(s.error for s in summaries)
    passed = share <= cfg.max_quarantine_share and not errored
    log.info(
        "validated %d files: %d kept, %d quarantined (%.1f%%, limit %.1f%%)",
        n_files, len(kept), len(rejected), 100 * share, 100 * cfg.max_quarantine_share,
    )  # fmt: skip
    return ValidationReport(
        documents=kept,
        rejected=rejected,
        expectations=summaries,
        n_files=n_files,
        quarantine_share=share,
        max_quarantine_share=cfg.max_quarantine_share,
        passed=passed,
        data_docs_path=docs_path,
    )
