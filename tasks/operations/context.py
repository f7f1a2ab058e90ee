"""What a trigger decision looks at, read from ragtune's own state.

Kept apart from :mod:`triggers` so the decisions stay pure: this module reads
the live index, the latest decision record and the audit log.
"""

from __future__ import annotations

import logging
from datetime import datetime

from ragtune.audit import AuditLog
from ragtune.errors import InputError
from ragtune.settings import Settings
from ragtune.tasks.operations.triggers import TriggerContext

log = logging.getLogger(__name__)

FINE_TUNED = ("fine-tune", "both")


def _doc_classes(settings: Settings) -> dict[str, str]:
    from ragtune.tasks.index.corpus import indexed_categories
    from ragtune.tasks.index.publish import open_live

    try:
        live = open_live(settings.uri(settings.index.uri), settings.index.table)
    except (OSError, ValueError) as exc:  # no index yet: classes come from payloads
        log.info("no live index to read classes from: %s", exc)
        return {}
    return indexed_categories(live)


def fine_tuned_gaps(settings: Settings) -> tuple[tuple[str, ...], str | None]:
    """Gaps the latest decision record sends to fine-tuning, and its id."""
    from ragtune.tasks.decision.record import read_latest

    ops = settings.operations
    folder = settings.path(
        ops.decisions_dir or settings.project.state_dir / "decisions"
    )
    try:
        record = read_latest(folder)
    except InputError as exc:
        log.info("no decision record: %s", exc)
        return (), None
    gaps = tuple(
        d["gap"]
        for d in record.get("decisions", [])
        if d.get("recommendation") in FINE_TUNED
    )
    return gaps, record.get("record_id")


def _retrain_history(audit: AuditLog, now: datetime) -> tuple[datetime | None, int]:
    """When the last retrain finished, and how many started this month."""
    last, started = None, 0
    for record in audit.records():
        ts = datetime.fromisoformat(record["ts"])
        if record["action"] == "retrain.candidate":
            last = ts if last is None or ts > last else last
        if record["action"] == "retrain.started" and (ts.year, ts.month) == (
            now.year,
            now.month,
        ):
            started += 1
    return last, started


def build_context(settings: Settings, now: datetime) -> TriggerContext:
    """The context for :func:`ragtune.tasks.operations.triggers.decide`."""
    ops = settings.operations
    gaps, record_id = fine_tuned_gaps(settings)
    audit = AuditLog(settings.path(settings.project.audit_log))
    last, started = _retrain_history(audit, now)
    return TriggerContext(
        classes=tuple(settings.freshness.classes),
        doc_classes=_doc_classes(settings),
        fine_tuned_gaps=gaps,
        decision_record=record_id,
        last_retrain_at=last,
        spent_usd=started * ops.retrain_cost_usd,
        retrain_cost_usd=ops.retrain_cost_usd,
        gpu_budget_usd=ops.gpu_budget_usd,
        deadline_days=ops.retrain_deadline_days,
    )
